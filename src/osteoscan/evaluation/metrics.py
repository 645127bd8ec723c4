"""Classification metrics as plain functions over arrays, vectorised over bootstrap weights.

Every figure is computed from a *weight matrix* ``W`` of shape ``(B, n)``: row ``b`` says how
many times each study is counted in replicate ``b``. The point estimate is the same code with
``W = ones((1, n))``, so the bootstrap and the reported value can never disagree on a
definition. scikit-learn computes one replicate at a time; weighting all replicates at once
with matrix products and one sort is what makes 2,000 replicates of 10,000 studies take
seconds (see ``benchmarks/bench_evaluation.py``), which is why these are written by hand.
The tests check every function against scikit-learn with unit weights.

Names say direction: ``*_score`` higher is better, ``*_error``/``*_loss`` lower is better.
"""

from __future__ import annotations

import warnings

import numpy as np

N_CALIBRATION_BINS = 10

BINARY_METRICS = (
    "auc",
    "accuracy",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
    "precision",
    "npv",
    "f1",
    "brier",
    "ece",
)
MULTICLASS_METRICS = ("auc", "auc_macro", "auc_micro", *BINARY_METRICS[1:])


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den == 0 (an undefined figure, not a zero)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def weighted_auc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Area under the ROC curve for every row of a weight matrix (ties count one half).

    Args:
        y: (n,) bool or 0/1, True for positives.
        score: (n,) scores, higher means more likely positive.
        w: (B, n) non-negative study weights (bootstrap counts).

    Returns:
        (B,) AUC; NaN where a replicate has no positive or no negative.

    Example:
        >>> weighted_auc(np.array([0, 0, 1, 1]), np.array([.1, .4, .35, .8]), np.ones((1, 4)))
        array([0.75])
    """
    y = np.asarray(y, dtype=bool)
    if y.size == 0:
        return np.full(np.atleast_2d(w).shape[0], np.nan)
    order = np.argsort(score, kind="mergesort")
    s_sorted = np.asarray(score, dtype=float)[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    ws = np.atleast_2d(w)[:, order]
    ys = y[order]
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    neg = np.add.reduceat(ws * ~ys, starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = np.sum(pos * (neg_below + 0.5 * neg), axis=1)
    return _div(num, pos.sum(axis=1) * neg.sum(axis=1))


def weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson's r of ``(a, b)`` for every row of a weight matrix.

    Args:
        a, b: (n,) values.
        w: (B, n) non-negative study weights (bootstrap counts).

    Returns:
        (B,) r; NaN where a replicate has no spread.

    Example:
        >>> weighted_pearson(np.array([1., 2, 3]), np.array([2., 4, 7]), np.ones((1, 3))).round(3)
        array([0.993])
    """
    w = np.atleast_2d(np.asarray(w, float))
    a, b = np.asarray(a, float), np.asarray(b, float)
    s = w.sum(1, keepdims=True)
    da = a - (w * a).sum(1, keepdims=True) / s
    db = b - (w * b).sum(1, keepdims=True) / s
    return _div((w * da * db).sum(1), np.sqrt((w * da ** 2).sum(1) * (w * db ** 2).sum(1)))


def counts_to_metrics(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict:
    """Threshold metrics from (weighted) confusion counts; arrays broadcast."""
    sens = _div(tp, tp + fn)
    spec = _div(tn, tn + fp)
    ppv = _div(tp, tp + fp)
    return {
        "accuracy": _div(tp + tn, tp + tn + fp + fn),
        "balanced_accuracy": (sens + spec) / 2.0,
        "sensitivity": sens,
        "specificity": spec,
        "precision": ppv,
        "npv": _div(tn, tn + fn),
        "f1": _div(2 * tp, 2 * tp + fp + fn),
    }


def weighted_ece(
    correct: np.ndarray, confidence: np.ndarray, w: np.ndarray, n_bins: int = N_CALIBRATION_BINS
) -> np.ndarray:
    """Expected calibration error per weight row: sum_b (n_b / n) |observed_b - mean conf_b|.

    Args:
        correct: (n,) observed outcome in 0..1 (binary: the label; multi-class: argmax right).
        confidence: (n,) predicted probability of that outcome.
        w: (B, n) weights.
        n_bins: equal-width bins on [0, 1].
    """
    onehot = _bin_onehot(confidence, n_bins)
    w = np.atleast_2d(w)
    n_b = w @ onehot
    obs = w @ (onehot * np.asarray(correct, dtype=float)[:, None])
    conf = w @ (onehot * np.asarray(confidence, dtype=float)[:, None])
    gap = np.abs(obs - conf)  # = n_b * |mean observed - mean confidence|
    return _div(gap.sum(axis=1), n_b.sum(axis=1))


def _bin_onehot(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    bins = np.clip((np.asarray(confidence) * n_bins).astype(int), 0, n_bins - 1)
    onehot = np.zeros((len(bins), n_bins))
    onehot[np.arange(len(bins)), bins] = 1.0
    return onehot


def binary_metric_matrix(
    y: np.ndarray, score: np.ndarray, threshold: float | np.ndarray, w: np.ndarray
) -> dict[str, np.ndarray]:
    """All binary figures (:data:`BINARY_METRICS`) for every weight row.

    A study is called positive when ``score >= threshold``; ``threshold`` may be a per-study
    array (-inf/+inf encode calls made elsewhere, e.g. by the model at its own threshold).
    Every figure but the AUC is a ratio of weighted sums, so they all come from one product
    ``w @ X`` with a design matrix X of per-study indicator columns (one pass over ``w``).
    """
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=float)
    w = np.atleast_2d(np.asarray(w, dtype=float))
    called = score >= threshold
    onehot = _bin_onehot(score, N_CALIBRATION_BINS)
    design = np.column_stack(
        [
            y & called,
            ~y & called,
            y & ~called,
            ~y & ~called,
            (score - y) ** 2,
            np.ones(len(y)),
            onehot * y[:, None],
            onehot * score[:, None],
        ]
    )
    sums = w @ design
    tp, fp, fn, tn, sq, total = (sums[:, i] for i in range(6))
    out = counts_to_metrics(tp, fp, fn, tn)
    out["auc"] = weighted_auc(y, score, w)
    out["brier"] = _div(sq, total)
    k = N_CALIBRATION_BINS
    out["ece"] = _div(np.abs(sums[:, 6 : 6 + k] - sums[:, 6 + k :]).sum(axis=1), total)
    return {name: out[name] for name in BINARY_METRICS}


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmean that returns NaN for all-NaN slices without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _macro(cm: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Macro-averaged one-vs-rest figures from confusion matrices (B, k, k) [true, pred]."""
    tp = np.einsum("bii->bi", cm)
    support = cm.sum(axis=2)
    called = cm.sum(axis=1)
    total = cm.sum(axis=(1, 2))[:, None]
    per = counts_to_metrics(tp, called - tp, support - tp, total - support - called + tp)
    out = {
        name: _nanmean(per[name], axis=1)
        for name in ("sensitivity", "specificity", "precision", "npv", "f1")
    }
    out["accuracy"] = _div(tp.sum(axis=1), total[:, 0])
    out["balanced_accuracy"] = out["sensitivity"]
    return out


def multiclass_metric_matrix(
    y: np.ndarray, prob: np.ndarray, w: np.ndarray
) -> dict[str, np.ndarray]:
    """All multi-class figures (:data:`MULTICLASS_METRICS`) for every weight row.

    The predicted class is the argmax. Sensitivity, specificity, precision, NPV and F1 are
    macro averages of the one-vs-rest figures (balanced accuracy = macro sensitivity); ``auc``
    is the one-vs-rest macro AUC, ``auc_micro`` pools every (study, class) pair; ``brier`` is
    the multi-class Brier score sum_k (p_k - [y = k])^2 (0..2); ``ece`` bins the top-class
    confidence against whether the top class is right.
    """
    y = np.asarray(y, dtype=int)
    prob = np.asarray(prob, dtype=float)
    w = np.atleast_2d(np.asarray(w, dtype=float))
    n, k = prob.shape
    pred = prob.argmax(axis=1)
    cell = np.zeros((n, k * k))
    cell[np.arange(n), y * k + pred] = 1.0
    out = _macro((w @ cell).reshape(-1, k, k), k)
    onehot = np.eye(k)[y]
    per_class = [weighted_auc(onehot[:, j], prob[:, j], w) for j in range(k)]
    out["auc_macro"] = _nanmean(np.stack(per_class, axis=1), axis=1)
    out["auc"] = out["auc_macro"]
    out["auc_micro"] = weighted_auc(onehot.ravel(), prob.ravel(), np.repeat(w, k, axis=1))
    out["brier"] = _div(w @ ((prob - onehot) ** 2).sum(axis=1), w.sum(axis=1))
    out["ece"] = weighted_ece(pred == y, prob.max(axis=1), w)
    return {name: out[name] for name in MULTICLASS_METRICS}


def point_metrics(
    y: np.ndarray, prob: np.ndarray, threshold: float | np.ndarray = 0.5
) -> dict[str, float]:
    """Figures on the data as given (no resampling).

    Args:
        y: (n,) class index (binary: 1 = positive).
        prob: (n,) positive-class probability, or (n, K) class probabilities.
        threshold: operating threshold (binary only); a per-study array is allowed.

    Example:
        >>> m = point_metrics(np.array([0, 0, 1, 1]), np.array([.1, .6, .7, .9]))
        >>> round(m["sensitivity"], 2), round(m["specificity"], 2), round(m["auc"], 2)
        (1.0, 0.5, 1.0)
    """
    prob = np.asarray(prob, dtype=float)
    ones = np.ones((1, len(y)))
    if prob.ndim == 2 and prob.shape[1] == 2:
        prob = prob[:, 1]
    if prob.ndim == 1:
        mat = binary_metric_matrix(y, prob, threshold, ones)
    else:
        mat = multiclass_metric_matrix(y, prob, ones)
    return {k: float(v[0]) for k, v in mat.items()}


def sensitivity_score(y: np.ndarray, called: np.ndarray) -> float:
    """True-positive rate of binary calls (recall of class 1)."""
    y, called = np.asarray(y, bool), np.asarray(called, bool)
    return float(_div(np.sum(y & called), np.sum(y)))


def specificity_score(y: np.ndarray, called: np.ndarray) -> float:
    """True-negative rate of binary calls."""
    y, called = np.asarray(y, bool), np.asarray(called, bool)
    return float(_div(np.sum(~y & ~called), np.sum(~y)))


def npv_score(y: np.ndarray, called: np.ndarray) -> float:
    """Negative predictive value of binary calls."""
    y, called = np.asarray(y, bool), np.asarray(called, bool)
    return float(_div(np.sum(~y & ~called), np.sum(~called)))


def expected_calibration_error(
    y: np.ndarray, prob: np.ndarray, n_bins: int = N_CALIBRATION_BINS
) -> float:
    """ECE of binary probabilities with ``n_bins`` equal-width bins (lower is better)."""
    return float(weighted_ece(y, prob, np.ones((1, len(y))), n_bins)[0])


def confusion_counts(y: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(K, K) confusion matrix [true, predicted] (binary: threshold on the positive class)."""
    prob = np.asarray(prob, dtype=float)
    if prob.ndim == 1 or prob.shape[1] == 2:
        score = prob if prob.ndim == 1 else prob[:, 1]
        pred, k = (score >= threshold).astype(int), 2
    else:
        pred, k = prob.argmax(axis=1), prob.shape[1]
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (np.asarray(y, dtype=int), pred), 1)
    return cm
