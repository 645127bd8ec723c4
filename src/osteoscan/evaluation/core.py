"""``evaluate_predictions``: every figure with its 95% CI, operating points and subgroups.

The returned dictionary is what ``metrics.json`` holds (schema: docs/results-layout.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.errors import ConfigError
from osteoscan.evaluation import metrics as M
from osteoscan.evaluation.blocks import DELONG_METHOD, metric_block, metric_block_from
from osteoscan.evaluation.io import (
    Predictions,
    binary_collapse,
    read_card_threshold,
    read_manifest_columns,
    read_predictions,
)
from osteoscan.evaluation.statistics import DEFAULT_BOOTSTRAP, delong_ci, patient_codes
from osteoscan.evaluation.subgroups import subgroup_tables
from osteoscan.evaluation.thresholds import OperatingPoint

logger = logging.getLogger(__name__)


def _threshold_stats(y: np.ndarray, s: np.ndarray, thresholds: list):
    """Weight-matrix statistic of the threshold figures at several thresholds (one product).

    A threshold may be a per-study array (e.g. -inf/+inf encoding a model's own calls).
    """
    cols = []
    for thr in thresholds:
        c = s >= thr
        cols += [y & c, ~y & c, y & ~c, ~y & ~c]
    design = np.column_stack(cols).astype(float)

    def fn(w: np.ndarray) -> dict:
        sums = w @ design
        out = {}
        for i in range(len(thresholds)):
            figures = M.counts_to_metrics(*(sums[:, 4 * i + j] for j in range(4)))
            out.update({f"{i}:{k}": v for k, v in figures.items()})
        return out

    return fn


def operating_points(
    pred: Predictions,
    threshold: float,
    source: str,
    *,
    n_boot: int,
    seed: int,
    target_sensitivity: float | None,
    target_specificity: float | None,
) -> list[dict]:
    """The main threshold, Youden and the target sensitivity/specificity points (binary).

    ``threshold`` may be a per-study array (the model's own calls); its point then reports
    ``threshold: null``.
    """
    ops = []
    if len(np.unique(pred.y)) < 2:  # no ROC curve to choose a threshold on
        target_sensitivity = target_specificity = None
    else:
        ops.append(("youden", OperatingPoint(criterion="youden"), True))
    if target_sensitivity is not None:
        ops.append(
            (
                f"sensitivity>={target_sensitivity:g}",
                OperatingPoint(criterion="sensitivity", target=target_sensitivity),
                True,
            )
        )
    if target_specificity is not None:
        ops.append(
            (
                f"specificity>={target_specificity:g}",
                OperatingPoint(criterion="specificity", target=target_specificity),
                True,
            )
        )
    for _, op, _ in ops:
        op.fit(pred.y == 1, pred.score)
    per_study = np.ndim(threshold) > 0
    heads = [
        (source, "model" if per_study else "fixed", None, None if per_study else threshold, False)
    ]
    heads += [(name, op.criterion, op.target, op.threshold_, fitted) for name, op, fitted in ops]
    thresholds = [threshold, *(op.threshold_ for _, op, _ in ops)]
    block = metric_block_from(
        _threshold_stats(pred.y == 1, pred.score, thresholds), pred, n_boot=n_boot, seed=seed
    )
    return [
        {
            "name": name,
            "criterion": criterion,
            "target": target,
            "threshold": thr,
            "fit_on_evaluated_data": fitted,
            "metrics": {k.split(":", 1)[1]: v for k, v in block.items() if k.startswith(f"{i}:")},
        }
        for i, (name, criterion, target, thr, fitted) in enumerate(heads)
    ]


def calibration(pred: Predictions, n_bins: int = M.N_CALIBRATION_BINS) -> dict:
    """Reliability diagram bins (binary: positive class; multi-class: top-class confidence)."""
    if pred.is_binary:
        outcome, conf = (pred.y == 1).astype(int), pred.score
    else:
        outcome, conf = (pred.prob.argmax(1) == pred.y).astype(int), pred.prob.max(1)
    bins = np.clip((conf * n_bins).astype(int), 0, n_bins - 1)
    rows = [
        {
            "bin_low": b / n_bins,
            "bin_high": (b + 1) / n_bins,
            "count": int((bins == b).sum()),
            "mean_predicted": float(conf[bins == b].mean()),
            "observed": float(outcome[bins == b].mean()),
        }
        for b in range(n_bins)
        if (bins == b).any()
    ]
    return {
        "n_bins": n_bins,
        "target": "positive class" if pred.is_binary else "top class",
        "bins": rows,
    }


def per_class(pred: Predictions) -> dict:
    """One-vs-rest figures per class (multi-class), AUC with DeLong CI."""
    out = {}
    called = pred.prob.argmax(1)
    for k, name in enumerate(pred.class_names):
        y = pred.y == k
        c = called == k
        row = {
            key: float(v)
            for key, v in M.counts_to_metrics(
                np.sum(y & c), np.sum(~y & c), np.sum(y & ~c), np.sum(~y & ~c)
            ).items()
        }
        row["n"] = int(y.sum())
        if 0 < y.sum() < pred.n:
            auc, low, high = delong_ci(y, pred.prob[:, k])
            row["auc"] = {"value": auc, "ci_low": low, "ci_high": high, "method": DELONG_METHOD}
        out[name] = row
    return out


def _resolve_threshold(threshold: float | None, card: str | Path | None) -> tuple[float, str]:
    if threshold is not None and card is not None:
        raise ConfigError("give either a threshold or a model card, not both")
    if card is not None:
        value = read_card_threshold(card)
        return (0.5, "default") if value is None else (value, "card")
    if threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {threshold}")
        return float(threshold), "given"
    return 0.5, "default"


def _header(pred: Predictions, thr, source: str, n_boot: int, seed: int) -> dict:
    return {
        "source": pred.source,
        "n": pred.n,
        "n_patients": patient_codes(pred.patient_id)[1],
        "class_names": list(pred.class_names),
        "class_counts": {c: int((pred.y == k).sum()) for k, c in enumerate(pred.class_names)},
        "threshold": thr if pred.is_binary and np.ndim(thr) == 0 else None,
        "threshold_source": source,
        "bootstrap": {
            "replicates": n_boot,
            "seed": seed,
            "unit": "patient",
            "interval": "percentile",
            "level": 0.95,
        },
    }


def evaluate_predictions(
    predictions: Predictions | str | Path,
    *,
    manifest: pd.DataFrame | str | Path | None = None,
    card: str | Path | None = None,
    threshold: float | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    target_sensitivity: float | None = 0.9,
    target_specificity: float | None = None,
    by: tuple[str, ...] = (),
    decisions: np.ndarray | None = None,
) -> dict:
    """Evaluate a predictions file (or object): figures, 95% CIs, operating points, subgroups.

    Args:
        predictions: a predictions CSV path or :class:`Predictions`.
        manifest: manifest CSV (or a frame aligned to the predictions) for subgroups.
        card: model card JSON whose ``threshold`` is the main operating threshold.
        threshold: the main threshold when no card is given (default 0.5).
        n_boot: patient-bootstrap replicates (0 = no bootstrap CIs).
        seed: bootstrap seed.
        target_sensitivity: add the operating point reaching this sensitivity (binary).
        target_specificity: add the operating point reaching this specificity (binary).
        by: manifest columns to break results down by (besides the built-in groups).
        decisions: binary only: the model's own positive calls per study (e.g.
            :func:`~osteoscan.evaluation.io.model_decisions`); when given, the threshold
            figures use them instead of a threshold (``threshold_source: "model"``).

    Returns:
        The ``metrics.json`` dictionary (docs/results-layout.md).

    Example:
        >>> from osteoscan.evaluation.io import predictions_from_arrays
        >>> p = predictions_from_arrays(np.array([0, 0, 1, 1]), np.array([.1, .6, .7, .9]))
        >>> evaluate_predictions(p, n_boot=0)["sensitivity"]["value"]
        1.0
    """
    pred = predictions if isinstance(predictions, Predictions) else read_predictions(predictions)
    thr, source = _resolve_threshold(threshold, card)
    if decisions is not None and pred.is_binary:
        thr, source = np.where(np.asarray(decisions, bool), -np.inf, np.inf), "model"
    result = _header(pred, thr, source, n_boot, seed)
    result.update(metric_block(pred, thr, n_boot=n_boot, seed=seed))
    result["confusion_matrix"] = M.confusion_counts(pred.y, pred.prob, thr).tolist()
    result["calibration"] = calibration(pred)
    if pred.is_binary:
        result["operating_points"] = operating_points(
            pred,
            thr,
            source,
            n_boot=n_boot,
            seed=seed,
            target_sensitivity=target_sensitivity,
            target_specificity=target_specificity,
        )
    else:
        result["operating_points"] = []
        result["per_class"] = per_class(pred)
        collapsed = binary_collapse(pred)
        if collapsed is not None:
            result["binary_collapse"] = metric_block(collapsed, 0.5, n_boot=n_boot, seed=seed)
    frame = None
    if manifest is not None:
        frame = (
            manifest
            if isinstance(manifest, pd.DataFrame)
            else read_manifest_columns(manifest, pred)
        )
    result["subgroups"] = subgroup_tables(pred, frame, thr, by=by, n_boot=n_boot, seed=seed)
    return result
