"""BSI trees on the share per unit area, and on the malignant candidates only
(``detector_train.BSI_DESIGNS``; docs/lesions.md, "Low counts, second look")."""

import numpy as np
import pytest

from osteoscan.lesions.context import FEATURES
from osteoscan.lesions.detector_train import BSI_DESIGNS, _fit_bsi_model
from osteoscan.lesions.patient import (
    HotspotDetector,
    RegionLookup,
    StudyArrays,
    bsi_exposure,
)
from osteoscan.lesions.trees import Forest

AREA = FEATURES.index("area_mm2")
PARAMS = {"loss": "poisson", "max_iter": 60, "learning_rate": 0.2, "max_leaf_nodes": 8,
          "min_samples_leaf": 5, "early_stopping": False}


def _record(area: np.ndarray, share: np.ndarray, y: np.ndarray, head_mm: float = 200.0) -> dict:
    """A record with only what the BSI trees read (X, X2, y, bsi_share, head_mm)."""
    X = np.zeros((len(area), len(FEATURES)))
    X[:, AREA] = area
    return {"X": X, "X2": X.copy(), "y": y, "bsi_share": share, "head_mm": np.float64(head_mm)}


def _constant_forest(value: float) -> Forest:
    """A regressor of one leaf (identity link): every candidate gets ``value``."""
    one = lambda dt, v=0: np.full(1, v, dt)  # noqa: E731
    return Forest(one(np.int32), one(np.float64), one(np.uint8, 1), one(np.int32),
                  one(np.int32), one(np.uint8, 1), one(np.float64), one(np.int32), value,
                  link="identity")


def _detector(card: dict) -> HotspotDetector:
    det = HotspotDetector(_constant_forest(0.0), RegionLookup(np.ones((2, 105, 60), np.uint8)),
                          card, bsi_model=_constant_forest(2.0))
    det.card.setdefault("stack_features", [])
    return det


def test_exposure_is_the_area_in_head_lengths_squared_with_a_floor():
    X = np.zeros((3, len(FEATURES)))
    X[:, AREA] = [400.0, 0.0, 100.0]
    assert np.allclose(bsi_exposure(X, 200.0), [0.01, 1.0 / 40000, 0.0025])


def test_per_area_masses_are_the_prediction_times_the_area():
    X = np.zeros((2, len(FEATURES)))
    X[:, AREA] = [400.0, 1600.0]
    arr = StudyArrays(X, np.zeros(2, int), np.arange(2), 200.0)
    stack = np.zeros((2, 0))
    share = _detector({}).masses(arr, np.ones(2), np.zeros(2, int), stack)
    area = _detector({"bsi_target": "per_area"}).masses(arr, np.ones(2), np.zeros(2, int), stack)
    assert np.allclose(share, [2.0, 2.0])  # one view: not halved
    assert np.allclose(area, 2.0 * np.array([0.01, 0.04]))


def _proportional(rng, n: int = 400) -> list[dict]:
    """Studies whose malignant candidates' share is 0.0005 per mm² (areas 50-800 mm²)."""
    area = rng.uniform(50, 800, n)
    return [_record(area, 5e-4 * area, np.ones(n, int))]


@pytest.mark.parametrize("design", ["stack_bsi_area", "stack_bsi"])
def test_per_area_trees_do_not_level_off_beyond_the_training_areas(design):
    rng = np.random.default_rng(0)
    recs = _proportional(rng)
    model = Forest.from_sklearn(_fit_bsi_model(recs, [np.ones(len(recs[0]["y"]))], 0, PARAMS,
                                               design))
    big = _record(np.array([700.0, 2400.0]), np.zeros(2), np.ones(2, int))
    X = np.hstack([big["X2"], np.ones((2, 1))])
    pred = model.predict(X)
    if BSI_DESIGNS[design][0] == "per_area":
        pred = pred * bsi_exposure(big["X"], 200.0)
        assert pred[1] / pred[0] == pytest.approx(2400 / 700, rel=0.05)
    else:  # the share read off the area by trees stays at the largest area seen
        assert pred[1] / pred[0] < 1.3


def test_malignant_rows_give_the_share_of_a_malignant_hotspot():
    rng = np.random.default_rng(1)
    n = 600
    area = rng.uniform(100, 400, n)
    y = (rng.random(n) < 0.3).astype(int)  # the same features, a third malignant
    recs = [_record(area, np.where(y > 0, 5e-4 * area, 0.0), y)]
    X = np.hstack([recs[0]["X2"], np.ones((n, 1))])
    e = bsi_exposure(recs[0]["X"], 200.0)
    got = {d: Forest.from_sklearn(_fit_bsi_model(recs, [np.ones(n)], 0, PARAMS, d)).predict(X) * e
           for d in ("stack_bsi_area", "stack_bsi_malarea")}
    ratio = {d: float(np.mean(g / (5e-4 * area))) for d, g in got.items()}
    assert ratio["stack_bsi_malarea"] == pytest.approx(1.0, abs=0.05)
    assert ratio["stack_bsi_area"] < 0.6  # every candidate: the expected share, about 0.3


def test_a_fitted_per_area_detector_keeps_its_target_through_save_and_load(tmp_path):
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import arrays, fit_variants

    small = {"max_iter": 10, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 10,
             "early_stopping": False}
    train = simulated_records(["site_a"], range(900, 904), tmp_path / "c")
    select = simulated_records(["site_b"], range(950, 953), tmp_path / "c")
    dets = fit_variants(train, select, hgb_params=small,
                        variants=("stack_bsi", "stack_bsi_area", "stack_bsi_malarea"))
    assert "bsi_target" not in dets["stack_bsi"].card
    assert dets["stack_bsi_malarea"].card["bsi_rows"] == "malignant"
    det = dets["stack_bsi_area"]
    det.save(tmp_path / "d")
    back = HotspotDetector.load(tmp_path / "d")
    assert back.card["bsi_target"] == "per_area"
    arr = arrays(select[0])
    st = back.stages(arr)
    mass = back.masses(arr, st["probability"], st["codes"], st["stack"])
    per = back.bsi_model.predict(np.hstack([arr.X, st["stack"], st["probability"][:, None]]))
    nv = len(np.unique(arr.view))
    assert np.allclose(mass, np.maximum(per, 0) * bsi_exposure(arr.X, arr.head_mm) / nv)


def test_round4_rule_needs_the_guard_and_the_low_count_gain():
    from benchmarks.select_lowcount import rule4

    def arm(bsi_r: float, auc: float = 0.98) -> dict:
        fig = {"auc": auc, "cpm": 0.8, "sens_at_1fp": 0.8, "bsi_r": bsi_r, "bsi_bias": 0.0,
               "normals_2plus": 0.0}
        return {"native": fig, "low": fig, "delta_half": {"share_over_bar": 0.05}}

    arms = {"bundle": arm(0.95), "stack_bsi_area": arm(0.96),
            "stack_bsi_malarea": arm(0.97, auc=0.97)}
    low = {"bundle": arm(0.95), "stack_bsi_area": arm(0.958), "stack_bsi_malarea": arm(0.97)}
    out = rule4(arms, low)
    assert out["verdict"]["stack_bsi_malarea"] == {"guard": False, "gain": True, "passes": False}
    assert out["chosen"] == "stack_bsi_area"
    low["stack_bsi_area"] = arm(0.953)  # +0.003 on the low-count sites: not enough
    assert rule4(arms, low)["chosen"] == "bundle"
