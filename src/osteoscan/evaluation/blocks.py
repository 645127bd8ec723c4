"""Metric blocks: each figure as {value, ci_low, ci_high, method} with its 95% CI.

Shared by :mod:`osteoscan.evaluation.core` (whole cohort) and
:mod:`osteoscan.evaluation.subgroups` (each group), below both.
"""

from __future__ import annotations

import numpy as np

from osteoscan.evaluation import metrics as M
from osteoscan.evaluation.io import Predictions
from osteoscan.evaluation.statistics import (
    BOOT_METHOD,
    DELONG_METHOD,
    bootstrap_block,
    delong_ci,
)


def _stat_fn(pred: Predictions, threshold: float):
    if pred.is_binary:
        return lambda w: M.binary_metric_matrix(pred.y == 1, pred.score, threshold, w)
    return lambda w: M.multiclass_metric_matrix(pred.y, pred.prob, w)


def metric_block(
    pred: Predictions, threshold: float, *, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, dict]:
    """Each figure as {value, ci_low, ci_high, method} (binary AUC: DeLong CI)."""
    out = metric_block_from(_stat_fn(pred, threshold), pred, n_boot=n_boot, seed=seed, level=level)
    if pred.is_binary and 0 < (pred.y == 1).sum() < pred.n:
        auc, low, high = delong_ci(pred.y == 1, pred.score, level)
        boot = out["auc"]
        out["auc"] = {
            "value": auc,
            "ci_low": low,
            "ci_high": high,
            "method": DELONG_METHOD,
            "bootstrap_ci_low": boot["ci_low"],
            "bootstrap_ci_high": boot["ci_high"],
        }
    return out


def metric_block_from(
    fn, pred: Predictions, *, n_boot: int, seed: int, level: float = 0.95
) -> dict:
    """{name: {value, ci_low, ci_high, method}} for any weight-matrix statistic ``fn``: the
    statistics module's :func:`~osteoscan.evaluation.statistics.bootstrap_block` (the one
    patient bootstrap), without its counts (metrics.json states n once)."""
    blocks = bootstrap_block(fn, pred.patient_id, n_boot=n_boot, seed=seed, level=level)
    keep = ("value", "ci_low", "ci_high", "method")
    return {name: {k: b[k] for k in keep} for name, b in blocks.items()}
