"""Instances from the semantic output and the pickle-free origin model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from osteoscan.volumetric.instances import (
    OriginModel, components, feature_names, find_instances, patient_origin,
)


def _prob(shape=(12, 12, 12)):
    prob = np.zeros((3, *shape), np.float32)
    prob[0] = 1.0
    prob[:, 1:4, 1:4, 1:4] = np.array([0.1, 0.7, 0.2])[:, None, None, None]  # benign, 27 vox
    prob[:, 7:10, 7:10, 7:10] = np.array([0.2, 0.1, 0.7])[:, None, None, None]  # metastatic
    prob[:, 11, 0, 0] = np.array([0.1, 0.1, 0.8])  # one voxel: below the minimum size
    return prob


def test_components_drop_specks_and_number_from_one():
    labels = components(1.0 - _prob()[0], min_voxels=2)
    assert labels.max() == 2 and labels[11, 0, 0] == 0
    assert np.bincount(labels.ravel())[1:].tolist() == [27, 27]


def test_find_instances_classes_scores_and_features():
    image = np.random.default_rng(0).random((2, 12, 12, 12)).astype(np.float32)
    labels, table = find_instances(_prob(), None, image, (2.0, 2.0, 2.0), ("spect", "ct"))
    assert [t["cls"] for t in table] == ["benign", "metastatic"]
    assert table[1]["score"] == pytest.approx(0.7)
    assert table[0]["volume_ml"] == pytest.approx(27 * 8 / 1000)
    assert all(len(t["features"]) == len(feature_names(("spect", "ct"))) for t in table)
    assert table[1]["centre_vox"] == pytest.approx([8.0, 8.0, 8.0])


def test_origin_model_round_trips_through_plain_numbers():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    model = OriginModel(["a", "b", "c"], C=0.5).fit(X, y)
    again = OriginModel.from_dict(model.to_dict())
    Xs = (X - model.mean_) / model.scale_
    ref = LogisticRegression(C=0.5, max_iter=2000).fit(Xs, y).predict_proba(Xs)[:, 1]
    assert np.allclose(again.predict_proba(X), ref, atol=1e-6)
    assert patient_origin([{"cls": "metastatic", "p_lung": 0.2}, {"cls": "benign", "p_lung": 1},
                           {"cls": "metastatic", "p_lung": 0.6}]) == pytest.approx(0.4)
    assert np.isnan(patient_origin([]))


def test_patient_origin_follows_the_mask_and_falls_back_to_every_candidate():
    kept = {"cls": "metastatic", "p_lung": 0.8, "in_mask": True}
    left_out = {"cls": "metastatic", "p_lung": 0.0, "in_mask": False}
    benign = {"cls": "benign", "p_lung": 0.1, "in_mask": True}
    # the candidate left out of the mask does not pull the patient's origin down
    assert patient_origin([kept, left_out, benign]) == pytest.approx(0.8)
    assert patient_origin([kept, left_out, benign], over="all") == pytest.approx(0.4)
    # none kept in the mask: every metastatic candidate, not NaN
    assert patient_origin([left_out, {**left_out, "p_lung": 0.5}]) == pytest.approx(0.25)
    assert np.isnan(patient_origin([benign, {**benign, "in_mask": False}]))


def test_semantic_labels_agree_with_the_instances():
    from osteoscan.volumetric.instances import semantic_labels

    prob = np.zeros((3, 2, 1, 1), np.float32)
    prob[:, 0, 0, 0] = (0.4, 0.25, 0.35)  # lesion (0.6 > 0.5), metastatic; arg-max: background
    prob[:, 1, 0, 0] = (0.6, 0.3, 0.1)
    assert semantic_labels(prob)[:, 0, 0].tolist() == [2, 0]
    labels = components(1.0 - prob[0], min_voxels=1)
    assert ((labels > 0) == (semantic_labels(prob) > 0)).all()


def test_a_higher_threshold_keeps_only_the_surer_lesion():
    labels, table = find_instances(_prob(), None, None, (4.0, 4.0, 4.0), threshold=0.85)
    assert len(table) == 1 and table[0]["cls"] == "benign"  # 1 - P(bg) 0.9 vs 0.8


def test_lesion_model_drops_unlikely_instances_and_rescores_the_rest():
    from osteoscan.volumetric.instances import apply_lesion_model

    labels, table = find_instances(_prob(), None, None, (4.0, 4.0, 4.0))
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = OriginModel(["p_benign"]).fit(X, np.array([1, 1, 0, 0]))  # benign-looking = real
    for t in table:
        t["features"] = [t["p_benign"] * 3]  # benign instance 2.1, metastatic 0.3
    same, kept = apply_lesion_model(labels, table, model, 0.0)
    assert (same == labels).all() and len(kept) == 2
    met = kept[1]
    assert met["score"] == pytest.approx(met["p_lesion"] * 0.7 / 0.8)
    out, kept = apply_lesion_model(labels, table, model, 0.5)
    assert [t["cls"] for t in kept] == ["metastatic"] and kept[0]["id"] == 1
    assert (out[labels == 2] == 1).all() and not out[labels == 1].any()
    assert apply_lesion_model(labels, table, None, 0.9)[1] is table
