"""evaluate_predictions: the metrics.json content, operating points and subgroup definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from osteoscan.errors import ConfigError
from osteoscan.evaluation import evaluate_predictions, predictions_from_arrays
from osteoscan.evaluation.statistics import delong_ci


def _cohort(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    lesions = np.where(y == 1, rng.integers(1, 10, n), 0)
    # more lesions -> higher score: burden subgroups must show it
    s = np.clip(rng.normal(0.3 + 0.05 * lesions, 0.15), 0, 1)
    pid = np.array([f"p{i // 2}" for i in range(n)])
    manifest = pd.DataFrame(
        {
            "lesion_count": lesions,
            "site": rng.choice(["A", "B"], n),
            "primary": rng.choice(["lung", "prostate"], n),
        }
    )
    return predictions_from_arrays(y, s, patient_id=pid), manifest


def test_result_schema_and_values() -> None:
    pred, manifest = _cohort()
    r = evaluate_predictions(pred, manifest=manifest, n_boot=300, seed=1, threshold=0.5)
    for key in (
        "auc",
        "sensitivity",
        "specificity",
        "accuracy",
        "balanced_accuracy",
        "precision",
        "npv",
        "f1",
        "brier",
        "ece",
    ):
        entry = r[key]
        assert {"value", "ci_low", "ci_high", "method"} <= set(entry)
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"], key
    assert r["n"] == 240 and r["n_patients"] == 120 and r["threshold"] == 0.5
    assert r["auc"]["method"] == "delong"
    assert r["auc"]["value"] == pytest.approx(roc_auc_score(pred.y, pred.score))
    assert (r["auc"]["ci_low"], r["auc"]["ci_high"]) == pytest.approx(
        delong_ci(pred.y, pred.score)[1:]
    )
    assert r["auc"]["bootstrap_ci_low"] < r["auc"]["value"] < r["auc"]["bootstrap_ci_high"]
    assert sum(map(sum, r["confusion_matrix"])) == 240
    assert sum(b["count"] for b in r["calibration"]["bins"]) == 240


def test_operating_points() -> None:
    pred, _ = _cohort()
    r = evaluate_predictions(
        pred, n_boot=0, threshold=0.42, target_sensitivity=0.9, target_specificity=0.95
    )
    ops = {op["name"]: op for op in r["operating_points"]}
    assert set(ops) == {"given", "youden", "sensitivity>=0.9", "specificity>=0.95"}
    assert ops["given"]["threshold"] == 0.42 and not ops["given"]["fit_on_evaluated_data"]
    assert ops["sensitivity>=0.9"]["metrics"]["sensitivity"]["value"] >= 0.9
    assert ops["specificity>=0.95"]["metrics"]["specificity"]["value"] >= 0.95
    assert ops["youden"]["fit_on_evaluated_data"]


def test_burden_groups_hold_all_negatives() -> None:
    pred, manifest = _cohort()
    r = evaluate_predictions(pred, manifest=manifest, n_boot=0)
    oligo_poly = r["subgroups"]["burden_oligo_poly"]["groups"]
    n_neg = int((pred.y == 0).sum())
    lc = manifest["lesion_count"].to_numpy()
    oligo = oligo_poly["oligo (1-3)"]
    assert oligo["n"] == n_neg + int(((lc >= 1) & (lc <= 3)).sum())
    assert oligo["n_positive"] == int(((lc >= 1) & (lc <= 3)).sum())
    spec = {g["metrics"]["specificity"]["value"] for g in oligo_poly.values()}
    assert len(spec) == 1  # same negatives in every burden group
    mask = (pred.y == 0) | (lc > 3)
    assert oligo_poly["poly (>3)"]["metrics"]["auc"]["value"] == pytest.approx(
        roc_auc_score(pred.y[mask], pred.score[mask])
    )
    assert oligo_poly["poly (>3)"]["metrics"]["auc"]["value"] > oligo["metrics"]["auc"]["value"]
    assert list(r["subgroups"]["burden_3_6"]["groups"]) == ["<=3", "4-6", ">6"]
    sites = r["subgroups"]["site"]["groups"]
    assert sites["A"]["n"] + sites["B"]["n"] == 240  # partitions keep positives and negatives
    assert "primary" in r["subgroups"]


def test_by_unknown_column_is_a_config_error() -> None:
    pred, manifest = _cohort()
    with pytest.raises(ConfigError, match="scanner"):
        evaluate_predictions(pred, manifest=manifest, n_boot=0, by=("scanner",))
    with pytest.raises(ConfigError):
        evaluate_predictions(pred, n_boot=0, threshold=1.5)


def test_multiclass_with_binary_collapse() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 150)
    prob = rng.dirichlet(np.ones(3), 150)
    prob[np.arange(150), y] += 0.3
    prob /= prob.sum(1, keepdims=True)
    pred = predictions_from_arrays(y, prob, class_names=("no_metastasis", "adeno", "non_adeno"))
    r = evaluate_predictions(pred, n_boot=100)
    assert r["threshold"] is None and r["operating_points"] == []
    assert r["auc"]["value"] == pytest.approx(roc_auc_score(y, prob, multi_class="ovr"))
    assert set(r["per_class"]) == {"no_metastasis", "adeno", "non_adeno"}
    assert r["binary_collapse"]["auc"]["value"] == pytest.approx(
        roc_auc_score(y != 0, 1 - prob[:, 0])
    )


def test_evaluation_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, osteoscan.evaluation, osteoscan.evaluation.aggregate, "
        "osteoscan.evaluation.compare, osteoscan.evaluation.report; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_model_decisions_replace_the_threshold() -> None:
    pred, manifest = _cohort()
    calls = pred.score >= 0.33  # e.g. the model card's threshold, applied by training
    r = evaluate_predictions(pred, manifest=manifest, n_boot=50, decisions=calls)
    pos = pred.y == 1
    assert r["threshold"] is None and r["threshold_source"] == "model"
    assert r["sensitivity"]["value"] == pytest.approx(calls[pos].mean())
    assert r["specificity"]["value"] == pytest.approx((~calls[~pos]).mean())
    first = r["operating_points"][0]
    assert first["criterion"] == "model" and first["threshold"] is None
    assert first["metrics"]["sensitivity"]["value"] == pytest.approx(calls[pos].mean())
    same = evaluate_predictions(pred, manifest=manifest, n_boot=50, threshold=0.33)
    oligo = "oligo (1-3)"
    got = r["subgroups"]["burden_oligo_poly"]["groups"][oligo]["metrics"]["sensitivity"]
    want = same["subgroups"]["burden_oligo_poly"]["groups"][oligo]["metrics"]["sensitivity"]
    assert got == want  # per-study calls follow the rows into subgroups
