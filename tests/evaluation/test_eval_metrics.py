"""Vectorised metrics agree with scikit-learn (unit weights) and with duplicated studies
(integer weights)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from osteoscan.evaluation import metrics as M


@pytest.fixture()
def binary():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 150)
    score = np.round(np.clip(rng.normal(0.4 + 0.25 * y, 0.2), 0, 1), 2)  # rounding -> ties
    return y, score


def test_binary_point_metrics_match_sklearn(binary) -> None:
    y, s = binary
    m = M.point_metrics(y, s, threshold=0.45)
    called = (s >= 0.45).astype(int)
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, called))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, called))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, called))
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - called))
    assert m["precision"] == pytest.approx(skm.precision_score(y, called))
    assert m["npv"] == pytest.approx(skm.precision_score(1 - y, 1 - called))
    assert m["f1"] == pytest.approx(skm.f1_score(y, called))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, s))
    assert M.sensitivity_score(y, called) == pytest.approx(m["sensitivity"])
    assert M.specificity_score(y, called) == pytest.approx(m["specificity"])
    assert M.npv_score(y, called) == pytest.approx(m["npv"])


def test_integer_weights_equal_duplicated_studies(binary) -> None:
    y, s = binary
    w = np.random.default_rng(0).integers(0, 4, size=(5, len(y))).astype(float)
    mats = M.binary_metric_matrix(y, s, 0.5, w)
    for b in range(5):
        rep = np.repeat(np.arange(len(y)), w[b].astype(int))
        assert mats["auc"][b] == pytest.approx(skm.roc_auc_score(y[rep], s[rep]), abs=1e-12)
        assert mats["f1"][b] == pytest.approx(skm.f1_score(y[rep], (s[rep] >= 0.5).astype(int)))
        assert mats["brier"][b] == pytest.approx(skm.brier_score_loss(y[rep], s[rep]))


def test_auc_undefined_without_both_classes() -> None:
    y = np.array([0, 0, 1, 1])
    w = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    auc = M.weighted_auc(y, np.array([0.1, 0.2, 0.3, 0.4]), w)
    assert np.isnan(auc[0]) and auc[1] == 1.0


def test_ece_by_hand() -> None:
    # bin [0.1,0.2): two studies p=0.15, observed 1/2 -> gap |0.5-0.15| weighted 2/4
    # bin [0.9,1.0]: two studies p=0.95, observed 1 -> gap 0.05 weighted 2/4
    y = np.array([0, 1, 1, 1])
    p = np.array([0.15, 0.15, 0.95, 0.95])
    assert M.expected_calibration_error(y, p) == pytest.approx(0.5 * 0.35 + 0.5 * 0.05)


def test_multiclass_matches_sklearn() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 120)
    prob = rng.dirichlet(np.ones(3), 120)
    prob[np.arange(120), y] += 0.4
    prob /= prob.sum(1, keepdims=True)
    m = M.point_metrics(y, prob)
    pred = prob.argmax(1)
    onehot = np.eye(3)[y]
    assert m["auc_macro"] == pytest.approx(
        skm.roc_auc_score(y, prob, multi_class="ovr", average="macro")
    )
    assert m["auc_micro"] == pytest.approx(skm.roc_auc_score(onehot, prob, average="micro"))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["brier"] == pytest.approx(np.mean(np.sum((prob - onehot) ** 2, axis=1)))
    cm = M.confusion_counts(y, prob)
    assert (cm == skm.confusion_matrix(y, pred)).all()
