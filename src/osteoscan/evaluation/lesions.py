"""Lesion-level metrics: FROC, lesion confusion matrix, Dice/IoU, BSI agreement.

Plain numpy/scipy functions (no torch), usable on prediction files written by any tool.

**Hit rule** (docs/lesions.md): a predicted hotspot *hits* a true lesion when their masks
overlap by at least one pixel (IoU > 0). A hotspot overlapping several lesions is assigned to
the one it overlaps most. Each lesion counts once: its score is the highest score among the
hotspots that hit it; further hits on the same lesion are neither true nor false positives.
A hotspot that overlaps no lesion is a false positive. Masks of both views may be stacked on a
leading axis ``(2, rows, cols)``: a lesion id shared by the two views is one lesion, found when
either view finds it, and false positives of both views count for the scan.

Example:
    >>> import numpy as np
    >>> truth = np.zeros((8, 8), int); truth[1:3, 1:3] = 1
    >>> pred = np.zeros((8, 8), int); pred[2:4, 2:4] = 1; pred[6, 6] = 2
    >>> m = match_lesions(pred, np.array([0.9, 0.4]), truth)
    >>> m.lesion_scores.tolist(), m.fp_scores.tolist()
    ([0.9], [0.4])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

FROC_RATES: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""False positives per scan at which FROC sensitivity is reported (CPM averages them)."""


@dataclass(frozen=True)
class LesionMatch:
    """Result of matching the hotspots of one scan to its true lesions.

    Attributes:
        lesion_ids: ids of the true lesions (sorted).
        lesion_scores: per true lesion, the highest score of a hotspot hitting it, or -inf.
        pred_to_lesion: per predicted hotspot (ids 1..N in order), the lesion id it hits, or 0.
        fp_scores: scores of hotspots that hit no lesion.
    """

    lesion_ids: np.ndarray
    lesion_scores: np.ndarray
    pred_to_lesion: np.ndarray
    fp_scores: np.ndarray

    @property
    def detected(self) -> np.ndarray:
        """Bool per true lesion: hit by at least one hotspot."""
        return np.isfinite(self.lesion_scores)


def _overlap_table(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts of (pred id, truth id) pairs where both are non-zero."""
    both = (pred > 0) & (truth > 0)
    pairs = np.stack([pred[both].ravel(), truth[both].ravel()], axis=1)
    if len(pairs) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    return uniq[:, 0], uniq[:, 1], counts


def match_lesions(
    pred_labels: np.ndarray, scores: Sequence[float] | np.ndarray, truth_labels: np.ndarray
) -> LesionMatch:
    """Match predicted hotspots of one scan to true lesions (hit = any overlap).

    Args:
        pred_labels: int array, 0 = background, hotspot ``i`` has id ``i + 1`` (ids unique
            across views when views are stacked).
        scores: score of each hotspot (length = number of hotspots).
        truth_labels: int array of the same shape, 0 = background, lesion ids > 0.

    Returns:
        The :class:`LesionMatch`.

    Raises:
        ValueError: when shapes differ or a hotspot id has no score.
    """
    pred_labels, truth_labels = np.asarray(pred_labels), np.asarray(truth_labels)
    scores = np.asarray(scores, dtype=float).ravel()
    if pred_labels.shape != truth_labels.shape:
        raise ValueError(f"prediction shape {pred_labels.shape} != truth {truth_labels.shape}")
    if pred_labels.max(initial=0) > len(scores):
        raise ValueError(f"hotspot id {pred_labels.max()} has no score ({len(scores)} scores)")
    lesion_ids = np.unique(truth_labels[truth_labels > 0])
    p_ids, t_ids, counts = _overlap_table(pred_labels, truth_labels)
    pred_to_lesion = np.zeros(len(scores), dtype=int)
    best = np.zeros(len(scores), dtype=int)
    for p, t, c in zip(p_ids, t_ids, counts, strict=True):
        if c > best[p - 1]:
            best[p - 1], pred_to_lesion[p - 1] = c, t
    lesion_scores = np.full(len(lesion_ids), -np.inf)
    index = {int(t): k for k, t in enumerate(lesion_ids)}
    for i, t in enumerate(pred_to_lesion):
        if t:
            lesion_scores[index[int(t)]] = max(lesion_scores[index[int(t)]], scores[i])
    return LesionMatch(lesion_ids, lesion_scores, pred_to_lesion, scores[pred_to_lesion == 0])


def _weighted_at(scores: np.ndarray, weights: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Total weight of the scores at or above each threshold."""
    order = np.argsort(scores, kind="mergesort")
    s, cum = scores[order], np.concatenate([[0.0], np.cumsum(weights[order])])
    return cum[-1] - cum[np.searchsorted(s, thresholds, side="left")]


def froc_curve(matches: Sequence[LesionMatch], weights: Sequence[float] | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Free-response ROC over scans.

    Args:
        matches: one :class:`LesionMatch` per scan.
        weights: one non-negative weight per scan (a patient-bootstrap replicate's counts,
            :mod:`osteoscan.evaluation.statistics`); None: every scan once.

    Returns:
        ``(fps_per_scan, sensitivity, thresholds)``, one point per distinct score, thresholds
        descending (a point counts hotspots with score >= threshold), starting at (0, 0, inf).

    Raises:
        ValueError: when there are no scans or no true lesions.
    """
    if not matches:
        raise ValueError("FROC needs at least one scan")
    w = np.ones(len(matches)) if weights is None else np.asarray(weights, float)
    tp = np.concatenate([m.lesion_scores[m.detected] for m in matches] + [np.zeros(0)])
    fp = np.concatenate([m.fp_scores for m in matches] + [np.zeros(0)])
    tp_w = np.repeat(w, [int(m.detected.sum()) for m in matches])
    fp_w = np.repeat(w, [len(m.fp_scores) for m in matches])
    n_lesions = float(np.dot(w, [len(m.lesion_ids) for m in matches]))
    if n_lesions == 0:
        raise ValueError("FROC needs at least one true lesion")
    thresholds = np.unique(np.concatenate([tp, fp]))[::-1]
    fps = np.concatenate([[0.0], _weighted_at(fp, fp_w, thresholds) / w.sum()])
    sens = np.concatenate([[0.0], _weighted_at(tp, tp_w, thresholds) / n_lesions])
    return fps, sens, np.concatenate([[np.inf], thresholds])


def froc_score(
    matches: Sequence[LesionMatch], rates: Sequence[float] = FROC_RATES,
    weights: Sequence[float] | None = None,
) -> dict[str, float]:
    """Sensitivity at fixed false positives per scan, and their mean (the CPM).

    The sensitivity at rate ``f`` is the highest sensitivity reached with at most ``f``
    false positives per scan (a step function, no interpolation).

    Args:
        matches: one :class:`LesionMatch` per scan.
        rates: false positives per scan.
        weights: per-scan weights (:func:`froc_curve`).

    Returns:
        ``{"sens@0.125": ..., ..., "cpm": mean}``.

    Example:
        >>> import numpy as np
        >>> t = np.zeros((4, 4), int); t[0, 0] = 1
        >>> p = np.zeros((4, 4), int); p[0, 0] = 1
        >>> froc_score([match_lesions(p, [0.8], t)])["cpm"]
        1.0
    """
    fps, sens, _ = froc_curve(matches, weights)
    out = {f"sens@{r:g}": float(sens[fps <= r + 1e-12].max()) for r in rates}
    out["cpm"] = float(np.mean([out[f"sens@{r:g}"] for r in rates]))
    return out


def lesion_confusion_matrix(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = ("benign", "malignant")
) -> np.ndarray:
    """Lesion-level confusion matrix with a "none" row and column.

    Rows are the truth, columns the prediction, both ordered ``(*labels, "none")``: a missed
    lesion is (truth class, "none"); a false-positive hotspot is ("none", predicted class).

    Args:
        truth: per matched pair, the true class or "none".
        predicted: per matched pair, the predicted class or "none".
        labels: the lesion classes.

    Returns:
        int array ``(len(labels) + 1, len(labels) + 1)``.

    Raises:
        ValueError: on unequal lengths or an unknown class.
    """
    names = [*labels, "none"]
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} truth entries but {len(predicted)} predictions")
    index = {n: i for i, n in enumerate(names)}
    cm = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        if t not in index or p not in index:
            raise ValueError(f"unknown class in pair ({t!r}, {p!r}); expected one of {names}")
        cm[index[t], index[p]] += 1
    return cm


def dice_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice similarity of two binary masks (1.0 when both are empty)."""
    a, b = np.asarray(pred, bool), np.asarray(truth, bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * (a & b).sum() / total)


def iou_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two binary masks (1.0 when both are empty)."""
    a, b = np.asarray(pred, bool), np.asarray(truth, bool)
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def bsi_agreement(predicted: Sequence[float], truth: Sequence[float]) -> dict[str, float]:
    """Agreement of predicted and true Bone Scan Index values (percent).

    Args:
        predicted: BSI per study, from the lesion stage.
        truth: reference BSI per study.

    Returns:
        ``pearson_r`` (nan with fewer than 3 studies or constant input), ``pearson_p``,
        Bland-Altman ``bias`` (mean of predicted - truth), ``loa_lower`` / ``loa_upper``
        (bias -/+ 1.96 SD of the differences, ddof=1), ``mae`` and ``n``.

    Raises:
        ValueError: on unequal lengths or empty input.
    """
    p, t = np.asarray(predicted, float), np.asarray(truth, float)
    if p.shape != t.shape or p.size == 0:
        raise ValueError(f"need equal, non-empty BSI lists; got {p.size} and {t.size}")
    diff = p - t
    sd = float(np.std(diff, ddof=1)) if p.size > 1 else 0.0
    r, pval = np.nan, np.nan
    if p.size >= 3 and np.ptp(p) > 0 and np.ptp(t) > 0:
        r, pval = stats.pearsonr(p, t)
    bias = float(diff.mean())
    return {
        "pearson_r": float(r),
        "pearson_p": float(pval),
        "bias": bias,
        "loa_lower": bias - 1.96 * sd,
        "loa_upper": bias + 1.96 * sd,
        "mae": float(np.abs(diff).mean()),
        "n": int(p.size),
    }


def specificity_at_sensitivity(y: Sequence[int], score: Sequence[float],
                               sensitivity: float = 0.90) -> float:
    """Highest specificity among thresholds whose sensitivity reaches ``sensitivity``.

    Example:
        >>> specificity_at_sensitivity([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9], 0.9)
        0.5
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y), np.asarray(score, float))
    ok = tpr >= sensitivity - 1e-12
    return float(1.0 - fpr[ok].min()) if ok.any() else 0.0


def patient_level(y: Sequence[int], score: Sequence[float], *, n_boot: int = 1000,
                  seed: int = 0) -> dict[str, float | list[float]]:
    """Patient AUC with a DeLong 95 % CI, and specificity at sensitivity 0.90 with a
    percentile-bootstrap 95 % CI (studies resampled)."""
    from osteoscan.evaluation.statistics import delong_ci

    y, s = np.asarray(y, int), np.asarray(score, float)
    auc, lo, hi = delong_ci(y, s)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            boot.append(specificity_at_sensitivity(y[i], s[i]))
    spec = specificity_at_sensitivity(y, s)
    return {"auc": float(auc), "auc_ci": [float(lo), float(hi)], "n": int(len(y)),
            "spec_at_sens90": spec,
            "spec_at_sens90_ci": [float(np.percentile(boot, 2.5)),
                                  float(np.percentile(boot, 97.5))]}


def normal_burden(malignant_counts: Sequence[int], labels: Sequence[int]) -> dict[str, float]:
    """Malignant hotspots called on normal studies: median and % of normals with >= 2."""
    c = np.asarray(malignant_counts)[np.asarray(labels) == 0]
    if c.size == 0:
        return {"median": float("nan"), "pct_ge2": float("nan"), "n_normals": 0}
    return {"median": float(np.median(c)), "pct_ge2": float(100.0 * np.mean(c >= 2)),
            "n_normals": int(c.size)}
