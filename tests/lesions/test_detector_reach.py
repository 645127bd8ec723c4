"""The reach features (how far a candidate's excess uptake extends beyond its mask) and the
BSI design that takes them (``context.reach_features``, ``detector_train.BSI_DESIGNS``
``stack_bsi_reach``; docs/lesions.md, "BSI extent (session 8)")."""

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.errors import ModelError
from osteoscan.lesions.candidates import view_candidates
from osteoscan.lesions.context import REACH_FEATURES, body_frame, reach_features

BIG, SMALL = (180.0, 38.0), (420.0, 6.0)
"""(row in mm, radius in mm) of the phantom's large and compact lesion."""


def _phantom(px: float, density: float, rng) -> np.ndarray:
    """Poisson counts of a flat bone column (80 mm wide) in a body, with a large and a compact
    disc of contrast 1.2 over the bone, blurred by 3 mm; ``density``: counts per mm² of bone."""
    rr, cc = np.mgrid[0:int(600 / px), 0:int(200 / px)] * px
    img = np.full(rr.shape, 0.15)
    img[(np.abs(cc - 100) < 80) & (rr > 20) & (rr < 580)] = 0.3
    bone = (np.abs(cc - 100) < 40) & (rr > 60) & (rr < 560)
    img[bone] = 1.0
    discs = sum(1.2 * (np.hypot(rr - r0, cc - 100) <= rad) for r0, rad in (BIG, SMALL))
    img = img + ndimage.gaussian_filter(discs * bone, 3 / px)
    return rng.poisson(img * density * px * px).astype(np.float32)


def _reach_by_lesion(px: float, density: float, seed: int = 0) -> dict:
    """Per lesion, the (reach area in mm², reach ratio, own area) of its candidates."""
    hots, maps = view_candidates(_phantom(px, density, np.random.default_rng(seed)),
                                 "anterior", (px, px))
    frame = body_frame(maps.body)
    feats = reach_features(hots, maps, frame)
    out = {"big": [], "small": []}
    for h, (area, ratio) in zip(hots, feats, strict=True):
        row = h.features["peak_row"] * px
        for name, (r0, rad) in (("big", BIG), ("small", SMALL)):
            if abs(row - r0) <= rad and abs(h.features["peak_col"] * px - 100) <= rad:
                out[name].append((area * (frame.head * px) ** 2, ratio, h.area_mm2))
    return {k: np.array(v) for k, v in out.items()}


def test_a_lesion_larger_than_its_candidate_reaches_further_than_a_compact_one():
    got = _reach_by_lesion(2.4, 8.0)
    big, small = got["big"], got["small"]
    assert len(big) and len(small) == 1
    assert big[:, 0].min() > 4 * small[0, 0]        # the region, not the candidate's mask
    assert big[:, 1].min() > 2 * small[0, 1]        # and far beyond the candidate's own mask
    assert big[:, 0].min() > big[:, 2].max()


@pytest.mark.parametrize(("px", "density"), [(4.8, 8.0), (2.4, 1.5), (4.8, 1.5)])
def test_reach_area_holds_across_pixel_size_and_count_level(px, density):
    ref = _reach_by_lesion(2.4, 8.0)
    got = _reach_by_lesion(px, density, seed=1)
    assert np.median(got["big"][:, 0]) == pytest.approx(np.median(ref["big"][:, 0]), rel=0.25)
    assert got["small"][0, 0] == pytest.approx(ref["small"][0, 0], rel=0.4)
    assert np.median(got["big"][:, 0]) > 4 * got["small"][0, 0]


def test_no_candidates_give_an_empty_matrix_and_study_arrays_carry_reach_when_asked():
    from osteoscan.lesions.patient import study_arrays
    from osteoscan.simulate.study import simulate_study

    _, maps = view_candidates(_phantom(2.4, 8.0, np.random.default_rng(2)), "anterior",
                              (2.4, 2.4))
    assert reach_features([], maps, body_frame(maps.body)).shape == (0, len(REACH_FEATURES))
    scan = simulate_study(5, site="site_a").scan
    assert study_arrays(scan)[0].reach is None  # a fifth of the time: only when asked
    arr, hots = study_arrays(scan, reach=True)
    assert arr.reach.shape == (len(hots), len(REACH_FEATURES))
    assert np.all(arr.reach >= 0) and np.any(arr.reach[:, 1] > 1)


SMALL_HGB = {"max_iter": 10, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 10,
             "early_stopping": False}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """``stack_bsi`` and ``stack_bsi_reach`` fitted on one set of stages (small trees)."""
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_variants

    cache = tmp_path_factory.mktemp("reach") / "c"
    train = simulated_records(["site_a"], range(900, 904), cache)
    select = simulated_records(["site_b"], range(950, 953), cache)
    return fit_variants(train, select, hgb_params=SMALL_HGB,
                        variants=("stack_bsi", "stack_bsi_reach")), select


def test_the_reach_design_keeps_the_stages_and_names_its_inputs(fitted, tmp_path):
    from osteoscan.lesions.detector_train import arrays
    from osteoscan.lesions.patient import HotspotDetector

    dets, select = fitted
    plain, reach = dets["stack_bsi"], dets["stack_bsi_reach"]
    assert "bsi_reach" not in plain.card
    assert reach.card["bsi_reach"] == list(REACH_FEATURES)
    reach.save(tmp_path / "d")
    back = HotspotDetector.load(tmp_path / "d")
    arr = arrays(select[0])
    st, st0 = back.stages(arr), plain.stages(arr)
    assert np.allclose(st["probability"], st0["probability"])  # only the BSI trees differ
    mass = back.masses(arr, st["probability"], st["codes"], st["stack"])
    per = back.bsi_model.predict(np.hstack([arr.X, st["stack"], arr.reach,
                                            st["probability"][:, None]]))
    assert np.allclose(mass, np.maximum(per, 0) / len(np.unique(arr.view)))
    from osteoscan.simulate.study import simulate_study

    label = "metastasis" if np.random.default_rng(950).random() < 0.5 else "normal"
    res = back.analyze(simulate_study(950, site="site_b", force_label=label).scan)
    assert res.bsi == pytest.approx(back.decide(arr, st["probability"], st["codes"],
                                                st["stack"])["bsi"])  # analyze finds the reach


def test_a_card_without_bsi_reach_ignores_reach_and_one_with_it_needs_it(fitted):
    from dataclasses import replace

    from osteoscan.lesions.detector_train import arrays

    dets, select = fitted
    arr = arrays(select[0])
    plain, reach = dets["stack_bsi"], dets["stack_bsi_reach"]
    st = plain.stages(arr)
    args = (st["probability"], st["codes"], st["stack"])
    assert np.allclose(plain.masses(arr, *args), plain.masses(replace(arr, reach=None), *args))
    with pytest.raises(ValueError, match="reach"):
        reach.masses(replace(arr, reach=None), *args)


def test_a_card_naming_other_reach_features_is_refused(fitted, tmp_path):
    import json

    from osteoscan.lesions.patient import HotspotDetector

    dets, _ = fitted
    dets["stack_bsi_reach"].save(tmp_path / "d")
    path = tmp_path / "d" / "hotspot_detector.json"
    card = json.loads(path.read_text())
    path.write_text(json.dumps({**card, "bsi_reach": ["reach_area"]}))
    with pytest.raises(ModelError, match="features differ"):
        HotspotDetector.load(tmp_path / "d")


def test_rule5_needs_the_guard_and_the_low_count_gain_over_the_refitted_baseline():
    from benchmarks.select_extent import rule5

    def arm(bsi_r: float, auc: float = 0.98, over: float = 0.04) -> dict:
        fig = {"auc": auc, "cpm": 0.8, "sens_at_1fp": 0.8, "bsi_r": bsi_r, "bsi_bias": 0.0,
               "normals_2plus": 0.0}
        return {"native": fig, "low": fig, "delta_half": {"share_over_bar": over}}

    arms = {"refit_stack_bsi": arm(0.95), "stack_bsi_reach": arm(0.95)}
    low = {"refit_stack_bsi": arm(0.95), "stack_bsi_reach": arm(0.956)}
    assert rule5(arms, low)["chosen"] == "stack_bsi_reach"
    low["stack_bsi_reach"] = arm(0.953)  # +0.003: no gain
    assert rule5(arms, low)["verdict"] == {"guard": True, "gain": False, "passes": False}
    low["stack_bsi_reach"] = arm(0.96)
    arms["stack_bsi_reach"] = arm(0.95, over=0.06)  # count-halved share +0.02: guard fails
    assert rule5(arms, low)["chosen"] == "refit_stack_bsi"
