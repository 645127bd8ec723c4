"""The detector's BSI at low counts (docs/lesions.md, "Low counts"): the BSI of the hotspots
called malignant, and BSI trees fitted on extra (low-count) records only."""

import numpy as np
import pytest

from osteoscan.lesions.detector_records import simulated_records
from osteoscan.lesions.detector_train import arrays, fit_variants
from tests.lesions.test_detector_patient import SMALL, _arrays, _hand_detector


def test_bsi_from_the_called_hotspots_only():
    det = _hand_detector(0.5, 0.0)  # metastatic; the region rule gives every lesion a mass
    probs, codes = np.array([0.9, 0.3, 0.2]), np.array([6, 6, 6])
    every = det.decide(_arrays(3), probs, codes)
    assert every["malignant"].tolist() == [0] and (every["mass"] > 0).all()
    det.card["bsi_hotspots"] = "malignant"
    called = det.decide(_arrays(3), probs, codes)
    assert called["mass"][1:].tolist() == [0.0, 0.0]
    assert called["bsi"] == pytest.approx(every["mass"][0]) and called["bsi"] < every["bsi"]
    assert called["probability"] == every["probability"]


def test_bsi_hotspots_keep_an_ap_pair_together():
    from osteoscan.lesions.patient import StudyArrays

    det = _hand_detector(0.5, 0.0)
    det.card["bsi_hotspots"] = "malignant"
    a = _arrays(3)
    a = StudyArrays(a.X, np.array([0, 1, 0]), np.array([0, 0, 1]), a.head_mm)
    out = det.decide(a, np.array([0.9, 0.8, 0.1]), np.array([6, 6, 6]))
    assert out["malignant"].tolist() == [0]
    # the region rule puts a lesion's mass on its most probable member; the pair keeps it
    assert out["mass"][2] == 0.0 and out["bsi"] > 0


def test_extra_records_move_only_the_bsi_trees(tmp_path):
    train = simulated_records(["site_a"], range(900, 904), tmp_path)
    select = simulated_records(["site_b"], range(950, 953), tmp_path)
    extra = simulated_records(["site_a"], range(960, 963), tmp_path, augment="lowcount",
                              count_band=(1.15, None))
    plain = fit_variants(train, select, hgb_params=SMALL, variants=("stack_bsi",))["stack_bsi"]
    more = fit_variants(train, select, hgb_params=SMALL, variants=("stack_bsi",),
                        bsi_extra=extra)["stack_bsi"]
    assert more.card["bsi_extra_studies"] == 3 and plain.card["bsi_extra_studies"] == 0
    moved = False
    for rec in select + extra:
        arr = arrays(rec)
        a, b = plain.stages(arr), more.stages(arr)
        np.testing.assert_allclose(a["probability"], b["probability"])
        ma = plain.masses(arr, a["probability"], a["codes"], a["stack"])
        mb = more.masses(arr, b["probability"], b["codes"], b["stack"])
        moved |= not np.allclose(ma, mb)
    assert moved
    assert more.card["decision_threshold"] == plain.card["decision_threshold"]


@pytest.mark.parametrize("density", [0.3, 0.6])
def test_seed_noise_after_the_count_band_is_the_smoothed_noise(density):
    """A flat phantom below the band: after count_normalised's smoothing the seeds' score of
    pure noise has nearly unit spread only when the test uses the smoothed counts' noise."""
    from dataclasses import replace

    from osteoscan.lesions.candidates import (
        count_density,
        count_normalised,
        seed_score,
        view_maps,
    )
    from osteoscan.simulate.study import simulate_study

    rng = np.random.default_rng(0)
    lam = np.full((400, 128), 0.01)
    lam[20:380, 24:104] = 0.4 * density * 5.76
    lam[20:380, 44:84] = density * 5.76  # "bone": counts per 2.4 mm pixel
    base = simulate_study(5, force_label="normal").scan
    scan = replace(base, anterior=rng.poisson(lam).astype(np.float32),
                   posterior=rng.poisson(lam).astype(np.float32), spacing_mm=(2.4, 2.4))
    band = (1.15, None)
    d = count_density(scan)
    assert d < band[0]
    out, gain = count_normalised(scan, band, with_gain=True)
    assert gain == pytest.approx(d / band[0], rel=0.15)
    fixed = seed_score(view_maps(out.anterior, (2.4, 2.4), gain))[60:340, 52:76].std()
    raw = seed_score(view_maps(out.anterior, (2.4, 2.4)))[60:340, 52:76].std()
    assert 0.6 < fixed < 1.2 and raw < 0.7 * fixed


def test_bundled_bsi_sits_on_its_malignant_hotspots():
    """The bundle's card takes the BSI from the called hotspots: a region without a
    malignant hotspot carries none of it, and the regions add up to the study's BSI."""
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.simulate.study import simulate_study

    det = bundled_detector_or_none()
    if det is None or det.card.get("bsi_hotspots") != "malignant":
        pytest.skip("no bundled detector with bsi_hotspots = malignant")
    res = det.analyze(simulate_study(400_000, site="site_b", force_label="metastasis").scan)
    assert res.bsi > 0 and res.malignant_count > 0
    assert sum(r.bsi for r in res.regions) == pytest.approx(res.bsi)
    assert all(r.bsi == 0.0 for r in res.regions if r.malignant == 0)
