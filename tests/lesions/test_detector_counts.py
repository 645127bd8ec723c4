"""Count-level normalisation of the detector's input (candidates.count_normalised)."""

from dataclasses import replace

import numpy as np
import pytest

from osteoscan.lesions.candidates import count_density, count_normalised, scan_candidates
from osteoscan.lesions.patient import bundled_detector_or_none
from osteoscan.simulate.variants import Variant, render_variants
from osteoscan.types import StudySource

LOW, HIGH, COARSE = Variant(0.3e6, 2.4), Variant(1.5e6, 2.4), Variant(1.5e6, 4.8)
BAND = (1.15, 2.25)


@pytest.fixture(scope="module")
def scans():
    vs = render_variants(31, [LOW, HIGH, COARSE], site="profile_9001", force_label="metastasis")
    return {v: st.scan for v, st in vs.items()}


def test_density_follows_counts_not_pixels(scans):
    d = {v: count_density(s) for v, s in scans.items()}
    assert d[HIGH] / d[LOW] == pytest.approx(5.0, rel=0.15)
    assert d[COARSE] == pytest.approx(d[HIGH], rel=0.15)


def test_high_counts_are_thinned_into_the_band(scans):
    high = scans[HIGH]
    assert count_density(high) > BAND[1]
    out = count_normalised(high, BAND)
    assert count_density(out) == pytest.approx(BAND[1], rel=0.1)
    assert out.anterior.sum() < 0.8 * high.anterior.sum()
    assert np.array_equal(out.anterior, np.round(out.anterior))  # still counts
    again = count_normalised(high, BAND)  # one study, one answer
    np.testing.assert_array_equal(out.anterior, again.anterior)
    np.testing.assert_array_equal(out.posterior, again.posterior)


def test_low_counts_are_smoothed_not_rescaled(scans):
    low = scans[LOW]
    assert count_density(low) < BAND[0]
    out = count_normalised(low, BAND)
    assert out.anterior.sum() == pytest.approx(low.anterior.sum(), rel=0.01)
    def noise(img):  # neighbour differences: Poisson noise, hardly any anatomy
        return float(np.diff(img[200:700], axis=1).std())

    assert noise(out.anterior) < 0.8 * noise(low.anterior)


def test_in_band_and_pictures_are_left_alone(scans):
    d = count_density(scans[HIGH])
    assert count_normalised(scans[HIGH], (0.5 * d, 2 * d)) is scans[HIGH]
    assert count_normalised(scans[HIGH], (0.5 * d, None)) is scans[HIGH]
    pic = replace(scans[HIGH], source=StudySource(files=(), format="image"))
    assert count_normalised(pic, BAND) is pic


def test_bundled_detector_applies_its_band(scans):
    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("no bundled hotspot detector installed")
    band = det.card.get("count_band")
    assert band is not None and band[0] > 0
    plain = replace(det, card={k: v for k, v in det.card.items() if k != "count_band"})
    low = scans[LOW]
    assert count_normalised(low, band) is not low
    # below the band: smoothed, and the seeds tested against the smoothed counts' noise
    out, gain = count_normalised(low, band, with_gain=True)
    assert 0 < gain < 1
    arr, _ = det.arrays(low)
    fixed, _ = scan_candidates(out, gain=gain)
    raw, _ = scan_candidates(out)
    n = {k: sum(len(v) for v in h.values()) for k, h in (("fixed", fixed), ("raw", raw))}
    assert len(arr.X) == n["fixed"] >= n["raw"]
    if band[1] is None:  # no top: a high-count study is analysed as it is
        assert det.analyze(scans[HIGH]).probability == pytest.approx(
            plain.analyze(scans[HIGH]).probability, abs=1e-12)
