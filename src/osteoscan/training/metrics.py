"""Metrics the training loop needs: AUC, an operating threshold, a patient bootstrap CI.

The full statistics (DeLong, calibration, subgroups) live in ``osteoscan.evaluation``;
training needs only what early stopping and the model card use, so it keeps this small
self-contained set (no torch here).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from osteoscan.errors import ConfigError


def auc_score(y: np.ndarray, prob: np.ndarray, positive: int | None = None) -> float:
    """ROC AUC: binary on ``prob[:, positive]``, else macro one-vs-rest; NaN when undefined.

    Args:
        y: class index per study (-1 rows are ignored).
        prob: (n, classes) probabilities.
        positive: index of the positive class for a binary task, None for multi-class.
    """
    y, prob = np.asarray(y), np.asarray(prob, dtype=float)
    keep = y >= 0
    y, prob = y[keep], prob[keep]
    if len(np.unique(y)) < 2:
        return math.nan
    if positive is not None:
        return float(roc_auc_score(y == positive, prob[:, positive]))
    present = np.unique(y)
    aucs = [roc_auc_score(y == k, prob[:, k]) for k in present]
    return float(np.mean(aucs))


def choose_threshold(y_pos: np.ndarray, score: np.ndarray, rule: str) -> float:
    """Operating threshold on P(positive) chosen on validation data.

    Args:
        y_pos: 1 for positive studies, 0 for negative.
        score: P(positive).
        rule: "youden" (maximise sensitivity + specificity - 1), "sensitivity:S" (the highest
            threshold whose sensitivity is >= S) or a number in 0..1 (fixed).

    Returns:
        The threshold; 0.5 when the validation set lacks one of the classes.
    """
    try:
        return _check_unit(float(rule), rule)
    except ValueError:
        pass
    y_pos, score = np.asarray(y_pos, dtype=int), np.asarray(score, dtype=float)
    if len(np.unique(y_pos)) < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y_pos, score)
    thr = np.clip(thr, 0.0, 1.0)  # sklearn's first threshold is +inf
    if rule == "youden":
        return float(thr[int(np.argmax(tpr - fpr))])
    if rule.startswith("sensitivity:"):
        target = _check_unit(float(rule.split(":", 1)[1]), rule)
        return float(thr[int(np.argmax(tpr >= target))])
    raise ConfigError(f"optim.threshold: {rule!r} is not youden, sensitivity:S or a number")


def _check_unit(value: float, rule: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"optim.threshold: {rule!r} is outside 0..1")
    return value


def patient_bootstrap_auc(
    y: np.ndarray, prob: np.ndarray, patients: np.ndarray, *, positive: int | None,
    n_boot: int = 1000, seed: int = 0, level: float = 0.95,
) -> dict[str, float]:
    """AUC with a percentile CI from resampling patients (all of a patient's studies together).

    Returns:
        ``{"auc", "ci_low", "ci_high", "n", "n_patients"}``; NaN bounds when undefined.
    """
    y, prob, patients = np.asarray(y), np.asarray(prob), np.asarray(patients).astype(str)
    auc = auc_score(y, prob, positive)
    codes, uniq = pd_codes(patients)
    rows_of = [np.flatnonzero(codes == k) for k in range(len(uniq))]
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(rows_of), len(rows_of))
        rows = np.concatenate([rows_of[k] for k in pick])
        value = auc_score(y[rows], prob[rows], positive)
        if not math.isnan(value):
            reps.append(value)
    alpha = (1 - level) / 2
    low, high = (np.quantile(reps, [alpha, 1 - alpha]) if reps else (math.nan, math.nan))
    return {"auc": auc, "ci_low": float(low), "ci_high": float(high), "n": int(len(y)),
            "n_patients": int(len(uniq))}


def pd_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of string values and the unique values."""
    uniq, codes = np.unique(values, return_inverse=True)
    return codes, uniq
