"""The hotspot-first detector: fit on a few simulated studies, one coherent answer, reload."""

from dataclasses import replace

import numpy as np
import pytest

from osteoscan.lesions.candidates import count_density
from osteoscan.lesions.detector_records import simulated_records
from osteoscan.lesions.detector_train import fit_detector
from osteoscan.lesions.patient import (
    PATIENT_FEATURES,
    HotspotDetector,
    RegionLookup,
    lesion_table,
    patient_features,
    study_arrays,
)
from osteoscan.simulate.study import simulate_study

from .conftest import SMALL


def test_lesion_table_counts_a_pair_once():
    idx, p = lesion_table(np.array([0.2, 0.9, 0.7]), np.array([0, 1, 0]))
    assert idx.tolist() == [1, 2] and p.tolist() == [0.9, 0.7]


def test_patient_features_are_named_and_ordered():
    f = patient_features(np.array([0.9, 0.1, 0.6]), ["ribs", "skull", "lumbar_spine"], 0.5)
    assert len(f) == len(PATIENT_FEATURES)
    d = dict(zip(PATIENT_FEATURES, f))
    assert d["top1"] == 0.9 and d["top2"] == 0.6 and d["n_malignant"] == 2
    assert d["n_ribs"] == 1 and d["n_spine"] == 1


def test_region_lookup_fills_unseen_cells():
    look = RegionLookup.fit(np.zeros(2, int), np.array([0.5, 5.0]), np.array([0.0, 0.0]),
                            np.array([1, 10]))
    assert look(0, 0.4, 0.1) == 1 and look(0, 6.0, 0.5) == 10
    assert look(1, 0.4, 0.1) in (1, 10)


def _hand_detector(decision_threshold: float, intercept: float,
                   leaf: float = -2.0) -> HotspotDetector:
    """A detector whose patient model is a hand-set logistic on top1, and whose forest is one
    leaf (every candidate gets sigmoid(leaf))."""
    from osteoscan.lesions.trees import Forest
    from osteoscan.skeleton import REGIONS

    one = Forest(np.array([0], np.int32), np.zeros(1), np.ones(1, np.uint8), np.zeros(1, np.int32),
                 np.zeros(1, np.int32), np.ones(1, np.uint8), np.zeros(1),
                 np.zeros(1, np.int32), leaf)
    n = len(PATIENT_FEATURES)
    card = {"hotspot_threshold": 0.5, "decision_threshold": decision_threshold,
            "patient_coef": [4.0] + [0.0] * (n - 1), "patient_mean": [0.0] * n,
            "patient_scale": [1.0] * n, "patient_intercept": intercept, "platt": [1.0, 0.0],
            "bsi_weights": {r: 1.0 for r in REGIONS[1:]}}
    return HotspotDetector(one, RegionLookup(np.ones((2, 105, 60), np.uint8)), card)


def _arrays(n: int):
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.patient import StudyArrays

    X = np.zeros((n, len(FEATURES)))
    X[:, FEATURES.index("area_mm2")] = 100.0
    return StudyArrays(X, np.zeros(n, int), np.arange(n), 200.0)


def test_normal_decision_has_no_malignant_hotspot_and_no_bsi():
    det = _hand_detector(0.9, -3.0)  # p = sigmoid(4 * 0.95 - 3) = 0.69 < 0.9: normal
    out = det.decide(_arrays(3), np.array([0.95, 0.8, 0.1]), np.array([6, 6, 6]))
    assert not out["positive"] and len(out["malignant"]) == 0 and out["bsi"] == 0.0
    assert (out["capped"] <= out["probability"] + 1e-12).all()
    assert (out["capped"] < out["threshold"]).all()


def test_metastatic_decision_has_a_malignant_hotspot_and_a_bsi():
    det = _hand_detector(0.5, 0.0)  # p = sigmoid(4 * 0.3) = 0.77 >= 0.5: metastatic
    out = det.decide(_arrays(3), np.array([0.3, 0.2, 0.1]), np.array([6, 6, 6]))
    assert out["positive"] and out["malignant"].tolist() == [0] and out["bsi"] > 0
    assert out["capped"][0] >= out["threshold"]


def test_answer_is_coherent_and_reloads(fitted, tmp_path):
    det, _ = fitted
    scan = simulate_study(977, site="site_c", force_label="metastasis").scan
    res = det.analyze(scan)
    positive = res.probability >= det.card["decision_threshold"]
    mal = [h for h in res.hotspots if h.probability >= res.threshold]
    if positive:
        assert res.malignant_count >= 0 and res.bsi >= 0
    else:
        assert res.malignant_count == 0 and res.bsi == 0.0 and not mal
    assert 0.0 <= res.probability <= 1.0
    assert all(h.region != "background" for h in res.hotspots)
    det.save(tmp_path)
    back = HotspotDetector.load(tmp_path).analyze(scan)
    assert back.probability == pytest.approx(res.probability, abs=1e-12)
    assert back.bsi == pytest.approx(res.bsi, abs=1e-12)


def test_card_with_other_features_is_refused(fitted, tmp_path):
    import json

    from osteoscan.errors import ModelError

    fitted[0].save(tmp_path)
    card = json.loads((tmp_path / "hotspot_detector.json").read_text())
    card["features"] = [*card["features"][:-1], "not_a_feature"]
    (tmp_path / "hotspot_detector.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="features"):
        HotspotDetector.load(tmp_path)


@pytest.mark.parametrize("leaf", [-4.0, 3.0])
def test_predictor_answer_comes_from_the_detector(leaf):
    """Predictor with lesion_decides: probability, decision, hotspots and BSI agree."""
    from osteoscan.inference import Predictor

    det = _hand_detector(0.5, -1.0, leaf=leaf)
    scan = simulate_study(31, site="site_a", force_label="metastasis").scan
    pred = Predictor.default(lesion_analyzer=det, lesion_decides=True, gradcam=False).predict(scan)
    assert pred.probability == pytest.approx(pred.lesions.probability)
    assert pred.threshold == pytest.approx(0.5)
    assert pred.positive == (pred.probability >= 0.5)
    called = [h for h in pred.hotspots if h.probability >= pred.lesions.threshold]
    assert (len(called) > 0) == pred.positive == (pred.bsi > 0)
    assert "image_probability" in pred.model


def test_bsi_weights_are_fitted_to_the_truth():
    """A truth of 0.5 x sum(p x area / head^2) on the one region the lookup gives is
    recovered (the definition's weight, scaled), and the BSI then reproduces it."""
    from osteoscan.lesions.detector_train import _fit_bsi
    from osteoscan.skeleton import REGIONS

    det = _hand_detector(0.5, 0.0)
    det.card.pop("bsi_weights")
    rng = np.random.default_rng(0)
    records, probs = [], []
    for n in (1, 2, 3, 4):
        arr = _arrays(n)
        p = rng.uniform(0.1, 0.9, n)
        truth = 0.5 * float((p * 100.0).sum()) / 200.0 ** 2
        records.append({"X": arr.X, "view": arr.view, "group": arr.group,
                        "head_mm": np.float64(200.0), "bsi": np.float64(truth),
                        "region_area": np.ones(len(REGIONS))})
        probs.append(p)
    _fit_bsi(det, records, probs)
    assert det.card["bsi_weights"][REGIONS[1]] == pytest.approx(0.5)
    assert all(0.5 - 1e-9 <= f <= 2.0 + 1e-9 for f in det.card["bsi_factors"].values())
    arr = _arrays(2)
    mass = det.masses(arr, np.array([0.5, 1.0]), np.ones(2, int))
    assert mass.sum() == pytest.approx(0.5 * 1.5 * 100.0 / 200.0 ** 2)


def test_records_can_be_made_as_analyze_makes_them(tmp_path):
    """``count_band``: the record's candidates are those of the shipped path (the card's band),
    cached apart from the records without it."""
    scan = simulate_study(7, site="site_c", force_label="metastasis").scan
    band = (2.0 * count_density(scan), None)  # this study is below it: smoothed
    banded = simulated_records(["site_c"], [7], tmp_path, prevalence=1.0, count_band=band)[0]
    plain = simulated_records(["site_c"], [7], tmp_path, prevalence=1.0)[0]
    assert len(list(tmp_path.glob("*.npz"))) == len(list(tmp_path.iterdir())) == 2  # no temp
    np.testing.assert_array_equal(banded["X"], study_arrays(scan, count_band=band)[0].X)
    assert banded["X"].shape != plain["X"].shape or not np.allclose(banded["X"], plain["X"])
    again = simulated_records(["site_c"], [7], tmp_path, prevalence=1.0, count_band=band)[0]
    np.testing.assert_array_equal(again["X"], banded["X"])  # read back from its own file


def test_bsi_shares_add_up_to_the_truth_on_each_view():
    """Each malignant lesion's whole BSI is split among the candidates that touch it, on each
    view; a benign lesion gives nothing."""
    from types import SimpleNamespace

    from osteoscan.lesions.detector_records import bsi_shares
    from osteoscan.simulate.groundtruth import bone_scan_index

    regions = np.zeros((20, 20), np.uint8)
    regions[2:18, 2:18] = 6
    masks = {v: np.zeros((20, 20), np.int32) for v in ("anterior", "posterior")}
    for m in masks.values():
        m[4:8, 4:8], m[12:15, 12:15] = 1, 2  # lesion 1 malignant, lesion 2 benign
    hot = []
    for view, rows in (("anterior", slice(4, 6)), ("anterior", slice(6, 8)),
                       ("posterior", slice(3, 9)), ("posterior", slice(11, 16))):
        mask = np.zeros((20, 20), bool)
        mask[rows, 3:9] = True if view == "anterior" or rows.start < 10 else False
        if rows.start >= 10:
            mask[rows, 11:16] = True
        hot.append(SimpleNamespace(view=view, mask=mask))
    share = bsi_shares(hot, masks, {1}, regions)
    truth = bone_scan_index(masks, [1], regions)
    assert share[:2].sum() == pytest.approx(truth) and share[2] == pytest.approx(truth)
    assert share[0] == pytest.approx(share[1]) and share[3] == 0.0


def test_trees_take_the_context_columns_the_card_names(fitted, tmp_path):
    """A detector fitted on a subset of FEATURES names it in its card, feeds its trees only
    those columns (so a card made before a column was added keeps working), and reloads to
    the same answer; the full matrix still carries every column."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.detector_train import arrays

    _, select = fitted
    train = simulated_records(["site_a"], range(900, 904), tmp_path / "cache")
    names = tuple(f for f in FEATURES if f not in ("peak_z", "mean_z", "band_rel"))
    det = fit_detector(train, select, hgb_params=SMALL, context_features=names)
    arr = arrays(select[0])
    assert arr.X.shape[1] == len(FEATURES)
    assert det.tree_inputs(arr).shape[1] == len(names)
    col = FEATURES.index("peak_z")
    moved = arrays({**select[0], "X": np.where(np.arange(len(FEATURES)) == col, 99.0,
                                               select[0]["X"])})
    assert np.array_equal(det.score(moved)[0], det.score(arr)[0])  # peak_z is not read
    det.save(tmp_path / "det")
    back = HotspotDetector.load(tmp_path / "det")
    assert back.context_features == names
    assert np.array_equal(back.score(arr)[0], det.score(arr)[0])
    with pytest.raises(ValueError):
        fit_detector(train, select, hgb_params=SMALL, context_features=("no_such_column",))


def test_bsi_trees_may_take_columns_the_malignancy_stages_leave_out(fitted, tmp_path):
    """A card's bsi_features feed the BSI trees (and only them): peak_z moves the BSI of a
    detector whose BSI trees read it, never its probabilities; the card survives a reload."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.detector_train import arrays

    _, select = fitted
    train = simulated_records(["site_a"], range(900, 904), tmp_path / "cache")
    names = tuple(f for f in FEATURES if f not in ("peak_z", "mean_z", "band_rel"))
    det = fit_detector(train, select, hgb_params=SMALL, context_features=names,
                       bsi_context_features=FEATURES)
    arr = next(arrays(r) for r in select if len(r["X"]))
    assert det.bsi_inputs(arr).shape[1] == len(FEATURES)
    assert det.tree_inputs(arr).shape[1] == len(names)
    st = det.stages(arr)
    moved = replace(arr, X=arr.X * np.where(np.arange(len(FEATURES)) == FEATURES.index(
        "peak_z"), 3.0, 1.0))
    st2 = det.stages(moved)
    assert np.array_equal(st["probability"], st2["probability"])
    det.save(tmp_path / "det")
    back = HotspotDetector.load(tmp_path / "det")
    assert back.card["bsi_features"] == list(FEATURES)
    assert np.allclose(back.masses(arr, st["probability"], st["codes"], st["stack"]),
                       det.masses(arr, st["probability"], st["codes"], st["stack"]))
    with pytest.raises(ValueError, match="not context features"):
        fit_detector(train, select, hgb_params=SMALL, bsi_context_features=("nope",))


def test_a_cached_record_made_before_the_columns_changed_is_made_again(tmp_path):
    """Records cached by a version with fewer context columns are not read as they are
    (their columns would no longer line up with FEATURES): they are made again."""
    from osteoscan.lesions.context import FEATURES

    fresh = simulated_records(["site_a"], [905], tmp_path)[0]
    path = next(tmp_path.glob("*.npz"))
    np.savez(path, **{**fresh, "X": fresh["X"][:, :-3]})  # an older version's record
    again = simulated_records(["site_a"], [905], tmp_path)[0]
    assert again["X"].shape[1] == len(FEATURES)
    assert np.array_equal(again["X"], fresh["X"])
    assert dict(np.load(path))["X"].shape[1] == len(FEATURES)  # the cache is made whole


def test_structure_columns_are_computed_only_for_a_detector_that_reads_them(fitted, tmp_path):
    """The structure columns cost time in every analyze: a detector gets the ones its cards
    name computed and the others as NaN (and the same answer)."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.structure import STRUCTURE_FEATURES

    det, select = fitted
    assert det.structure_read == STRUCTURE_FEATURES  # fitted on every column
    names = tuple(f for f in FEATURES if f not in STRUCTURE_FEATURES)
    lean = fit_detector(simulated_records(["site_a"], range(900, 904), tmp_path), select,
                        hgb_params=SMALL, context_features=names)
    assert lean.structure_read == ()
    scan = simulate_study(977, site="site_c", force_label="metastasis").scan
    cols = [FEATURES.index(f) for f in STRUCTURE_FEATURES]
    assert np.isnan(lean.arrays(scan)[0].X[:, cols]).all()
    assert np.isfinite(det.arrays(scan)[0].X[:, cols]).all()
    whole = replace(lean, card={**lean.card, "bsi_features": list(FEATURES)})
    assert whole.structure_read == STRUCTURE_FEATURES
    soft = replace(lean, card={**lean.card, "features": [*names, "soft_rel", "kidney_rel"]})
    X = soft.arrays(scan)[0].X
    assert np.isfinite(X[:, [FEATURES.index("soft_rel"), FEATURES.index("kidney_rel")]]).all()
    assert np.isnan(X[:, [FEATURES.index(k) for k in ("col_rel", "contra_rel", "axial_rel")]]).all()
    np.testing.assert_array_equal(X[:, FEATURES.index("kidney_rel")],
                                  det.arrays(scan)[0].X[:, FEATURES.index("kidney_rel")])
    # the answer does not depend on columns it does not read
    full, bare = det.arrays(scan)[0], lean.arrays(scan)[0]
    assert np.array_equal(lean.stages(full)["probability"], lean.stages(bare)["probability"])


def test_a_fit_on_columns_the_records_never_computed_is_refused(fitted, tmp_path):
    """Records made by a detector that reads no structure column hold NaN there: a fit that
    asks for those columns says so instead of failing inside the trees."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.structure import STRUCTURE_FEATURES

    _, select = fitted
    train = simulated_records(["site_a"], range(900, 904), tmp_path)
    cols = [FEATURES.index(f) for f in STRUCTURE_FEATURES]
    bare = [{**r, "X": np.where(np.isin(np.arange(len(FEATURES)), cols), np.nan, r["X"])}
            for r in train]
    with pytest.raises(ValueError, match="col_rel"):
        fit_detector(bare, select, hgb_params=SMALL)
    names = tuple(f for f in FEATURES if f not in STRUCTURE_FEATURES)
    assert fit_detector(bare, select, hgb_params=SMALL, context_features=names).card[
        "features"] == list(names)
