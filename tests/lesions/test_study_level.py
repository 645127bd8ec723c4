"""The study-level extent model: its inputs, its rescaling of the hotspot BSI, the detector's
coherence with it (decision untouched, normal studies at 0, regions summing to the BSI), and
its card round trip."""

from dataclasses import replace

import numpy as np
import pytest

from osteoscan.lesions.context import FEATURES
from osteoscan.lesions.study_level import (
    EXTENT_FEATURES,
    PATIENT_FEATURES,
    extended,
    extent_bsi,
    extent_features,
    extent_rows,
    fit_extent,
    view_value,
)
from osteoscan.lesions.patient import HotspotDetector

from .test_detector_patient import _arrays, _hand_detector


def _constant(value: float):
    """An extent model that predicts ``value`` for every study (a one-leaf regressor)."""
    from osteoscan.lesions.trees import Forest

    return Forest(np.array([0], np.int32), np.zeros(1), np.ones(1, np.uint8),
                  np.zeros(1, np.int32), np.zeros(1, np.int32), np.ones(1, np.uint8),
                  np.zeros(1), np.zeros(1, np.int32), value, "identity")


def test_features_are_named_and_read_each_views_columns():
    X = np.zeros((3, len(FEATURES)))
    X[:, FEATURES.index("kidney_rel")] = [0.4, 0.4, 0.9]
    view = np.array([0, 0, 1])
    f = extent_features(np.arange(len(PATIENT_FEATURES), dtype=float), X, view, 1.5,
                        np.array([0.5, 1.0, 0.2]), np.array([0.2, 0.4, 1.0]))
    d = dict(zip(EXTENT_FEATURES, f, strict=True))
    assert EXTENT_FEATURES[:len(PATIENT_FEATURES)] == PATIENT_FEATURES
    assert d["bsi_hotspots"] == 1.5 and d["n_candidates"] == 3
    assert d["share_sum"] == pytest.approx(0.5 * 0.2 + 0.4 + 0.2)
    assert d["kidney_rel_anterior"] == 0.4 and d["kidney_rel_posterior"] == 0.9
    assert np.isnan(view_value(X[:2], view[:2], "kidney_rel", 1))  # no posterior candidate


def test_extended_rescales_the_shares_to_the_studys_extent():
    mass = np.array([1.0, 0.0, 3.0])
    out = extended(_constant(4.0), np.zeros(len(EXTENT_FEATURES)), mass)
    assert out.sum() == pytest.approx(8.0) and out.tolist() == pytest.approx([2.0, 0.0, 6.0])
    assert extended(_constant(4.0), np.zeros(3), np.zeros(2)).tolist() == [0.0, 0.0]
    assert extent_bsi(_constant(-9.0), np.zeros(3), 2.0) == 0.0  # never below nothing


def test_a_normal_decision_keeps_no_bsi_and_a_metastatic_one_takes_the_extent():
    normal = replace(_hand_detector(0.9, -3.0), extent=_constant(5.0))
    out = normal.decide(_arrays(3), np.array([0.95, 0.8, 0.1]), np.array([6, 6, 6]))
    assert not out["positive"] and out["bsi"] == 0.0
    plain = _hand_detector(0.5, 0.0)
    base = plain.decide(_arrays(3), np.array([0.3, 0.2, 0.1]), np.array([6, 6, 6]))
    out = replace(plain, extent=_constant(5.0)).decide(
        _arrays(3), np.array([0.3, 0.2, 0.1]), np.array([6, 6, 6]))
    assert out["probability"] == base["probability"] and out["positive"]
    assert out["malignant"].tolist() == base["malignant"].tolist()
    assert out["bsi"] == pytest.approx(base["bsi"] + 5.0)
    assert out["mass"].sum() == pytest.approx(out["bsi"])  # the region table sums to it


def test_the_fit_learns_the_residual_of_the_faint_kidney_studies():
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, len(EXTENT_FEATURES)))
    kidney = EXTENT_FEATURES.index("kidney_rel_posterior")
    faint = X[:, kidney] < -1.0
    y = np.where(faint, 5.0, 0.0) + rng.normal(0, 0.1, n)
    model = fit_extent(X, y)
    pred = model.predict(X)
    assert pred[faint].mean() > 4.0 and abs(pred[~faint].mean()) < 0.5


def test_rows_come_from_studies_decided_metastatic_and_the_model_reloads(fitted, tmp_path):
    import json

    from osteoscan.errors import ModelError

    det, select = fitted
    X, y = extent_rows(det, select)
    assert X.shape[1] == len(EXTENT_FEATURES) and len(X) == len(y)
    assert len(X) <= len(select)
    with_extent = replace(det, extent=_constant(1.0))
    with_extent.save(tmp_path)
    card = json.loads((tmp_path / "hotspot_detector.json").read_text())
    assert card["extent_features"] == list(EXTENT_FEATURES) and "extent" in card["forests"]
    back = HotspotDetector.load(tmp_path)
    assert back.extent is not None and back.extent.baseline == 1.0
    card["extent_features"] = card["extent_features"][:-1]
    (tmp_path / "hotspot_detector.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="extent"):
        HotspotDetector.load(tmp_path)
