"""One patient re-rendered at other count levels, pixel sizes and file formats."""

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.simulate.variants import Variant, render_variants, screen_export, \
    write_variant_dicom

LOW, HIGH, COARSE = Variant(0.3e6, 2.4), Variant(1.5e6, 2.4), Variant(1.5e6, 4.8)


@pytest.fixture(scope="module")
def variants():
    return render_variants(21, [LOW, HIGH, COARSE], site="profile_9001",
                           force_label="metastasis")


def test_same_patient_and_findings_in_every_variant(variants):
    low, high, coarse = variants[LOW], variants[HIGH], variants[COARSE]
    assert low.lesions == high.lesions == coarse.lesions and low.lesions
    assert low.bsi == high.bsi == coarse.bsi > 0
    assert low.label.label == coarse.label.label == "metastasis"


def test_counts_and_grid_are_the_variants(variants):
    for v, st in variants.items():
        assert st.scan.acquisition.total_counts[0] == pytest.approx(v.counts, rel=0.01)
        assert float(st.scan.anterior.sum()) == pytest.approx(v.counts, rel=0.01)
        assert st.scan.spacing_mm == (v.spacing_mm, v.spacing_mm)
    assert variants[HIGH].scan.shape == (1024, 256)
    assert variants[COARSE].scan.shape == (512, 128)
    assert variants[COARSE].lesion_masks["anterior"].shape == (512, 128)


def test_coarse_pixels_bin_the_same_image(variants):
    """A 4.8 mm pixel sums four 2.4 mm pixels of the same expected image: the 2x2 block sums
    of the fine rendering match the coarse one up to Poisson noise."""
    fine = variants[HIGH].scan.anterior
    coarse = variants[COARSE].scan.anterior
    binned = fine.reshape(512, 2, 128, 2).sum((1, 3))
    body = binned > 20
    rel = (coarse[body] - binned[body]) / np.sqrt(binned[body])
    assert abs(float(rel.mean())) < 0.1 and 1.0 < float(rel.std()) < 1.8  # sqrt(2) expected
    assert np.corrcoef(coarse[body], binned[body])[0, 1] > 0.98


def test_low_counts_scale_the_same_expected_image(variants):
    low, high = variants[LOW].scan.anterior, variants[HIGH].scan.anterior
    box = (slice(100, 400), slice(64, 192))  # chosen without looking at the noise
    ratio = float(low[box].sum() / high[box].sum())
    assert ratio == pytest.approx(0.2, rel=0.03)


def test_malignant_lesions_survive_binning(variants):
    mal = {les.id for les in variants[HIGH].lesions if les.malignant}
    for view in ("anterior", "posterior"):
        fine = set(np.unique(variants[HIGH].lesion_masks[view])) & mal
        assert fine <= set(np.unique(variants[COARSE].lesion_masks[view]))


def test_a_pixel_not_a_multiple_of_the_base_is_refused():
    with pytest.raises(ConfigError, match="whole multiple"):
        render_variants(1, [Variant(1e6, 3.0)])
    with pytest.raises(ConfigError, match="positive"):
        render_variants(1, [Variant(0.0, 2.4)])


def test_screen_export_reads_back_as_both_views(variants, tmp_path):
    from osteoscan import load_study

    st = variants[HIGH]
    data = screen_export(st)
    pic = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
        __import__("io").BytesIO(data)))
    assert pic.dtype == np.uint8 and pic.ndim == 2
    assert pic[0, 0] == 255 and pic.min() == 0  # white background, saturated black uptake
    (tmp_path / "x.png").write_bytes(data)
    scan = load_study(tmp_path / "x.png")
    assert [v.view for v in scan.views] == ["anterior", "posterior"]
    assert any("inverted" in n for n in scan.source.notes)
    assert scan.spacing_mm is None
    # the posterior comes back mirrored into anterior orientation: its body lines up
    cols = np.flatnonzero(scan.posterior.sum(0) > 0)
    assert cols.size > 50


def test_screen_export_jpeg_and_bad_format(variants):
    assert screen_export(variants[LOW], fmt="jpeg")[:3] == b"\xff\xd8\xff"
    with pytest.raises(ConfigError, match="png or jpeg"):
        screen_export(variants[LOW], fmt="gif")


def test_variant_dicom_keeps_matrix_spacing_and_counts(variants, tmp_path):
    from osteoscan import load_study

    st = variants[COARSE]
    scan = load_study(write_variant_dicom(st, tmp_path / "d", seed=21))
    assert scan.shape == (512, 128) and scan.spacing_mm == (4.8, 4.8)
    np.testing.assert_array_equal(scan.anterior, st.scan.anterior)
    np.testing.assert_array_equal(scan.posterior, st.scan.posterior)


def test_a_repeat_draw_is_the_same_acquisition_with_new_noise(variants):
    """``draw=1`` repeats an acquisition (test-retest): the same expected image, an independent
    Poisson draw; the first draw does not change when a repeat is asked for too."""
    again = render_variants(21, [HIGH, Variant(1.5e6, 2.4, draw=1)], site="profile_9001",
                            force_label="metastasis")
    first, repeat = again[HIGH].scan.anterior, again[Variant(1.5e6, 2.4, draw=1)].scan.anterior
    assert np.array_equal(first, variants[HIGH].scan.anterior)
    assert Variant(1.5e6, 2.4, draw=1).name == "1.5M_2.4mm_r1" and HIGH.name == "1.5M_2.4mm"
    assert float(repeat.sum()) == pytest.approx(1.5e6, rel=0.01)
    body = (first + repeat) > 40
    diff = (first[body] - repeat[body]) / np.sqrt(first[body] + repeat[body])
    assert not np.array_equal(first, repeat)
    assert abs(float(diff.mean())) < 0.05 and 0.9 < float(diff.std()) < 1.1  # independent


def test_a_negative_draw_is_refused():
    with pytest.raises(ConfigError, match="draw"):
        render_variants(1, [Variant(1e6, 2.4, draw=-1)])
