"""Metrics the training loop needs: AUC, an operating threshold, a patient bootstrap CI.

The statistics live in ``osteoscan.evaluation``: the card's AUC and its CI come from
:func:`osteoscan.evaluation.statistics.auc_ci` (the same patient bootstrap and result shape
as ``osteoscan evaluate``); this module adds only the threshold rule (no torch here).
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
) -> dict:
    """AUC with a percentile CI from resampling patients (all of a patient's studies together).

    Returns:
        ``{"value", "ci_low", "ci_high", "method", "n", "n_patients"}`` (the shape of every
        figure of ``osteoscan.evaluation``); NaN bounds when undefined.
    """
    from osteoscan.evaluation.statistics import auc_ci

    y, prob = np.asarray(y), np.asarray(prob, dtype=float)
    score = prob[:, positive] if positive is not None else prob
    target = np.where(y < 0, -1, y == positive) if positive is not None else y
    return auc_ci(target, score, patients, n_boot=n_boot, seed=seed, level=level)
