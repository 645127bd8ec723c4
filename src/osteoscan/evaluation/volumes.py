"""3-D segmentation metrics: overlap, surface distance, voxel and lesion figures, origin AUC.

Per scan (:func:`scan_metrics`): Dice and IoU (``osteoscan.evaluation.lesions``) of the lesion
foreground (benign or metastatic) and of each class, HD95 in mm (MONAI's
``compute_hausdorff_distance`` with the voxel spacing; imported lazily, it needs torch), voxel
sensitivity and specificity of the lesion foreground, and the lesion matches of the
metastatic instances (:func:`osteoscan.evaluation.lesions.match_lesions`, hit = any overlap).
Over scans (:func:`summarise`): means with patient-bootstrap 95 % CIs (the one statistics
module), FROC sensitivity at fixed false positives per scan, including the issue's 1.5, and
the origin AUC (lung vs other, patients with metastases) with its DeLong 95 % CI.

Example:
    >>> t = np.zeros((4, 4, 4), np.uint8); t[1:3, 1:3, 1:3] = 2
    >>> m = scan_metrics(t, t, t.astype(np.int32) // 2, [0.9], t.astype(np.int32) // 2,
    ...                  (1.0, 1.0, 1.0), hd95=False)
    >>> m["dice_lesion"], m["sensitivity_voxel"]
    (1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteoscan.evaluation.lesions import (
    FROC_RATES, LesionMatch, dice_score, froc_curve, froc_score, iou_score, match_lesions,
)
from osteoscan.evaluation.statistics import bootstrap_block, delong_ci

SEG_RATES: tuple[float, ...] = tuple(sorted({*FROC_RATES, 1.5}))
"""False positives per scan at which lesion sensitivity is reported (1.5: the issue's target)."""

MEAN_KEYS = ("dice_lesion", "iou_lesion", "dice_metastatic", "dice_benign", "hd95_lesion_mm",
             "sensitivity_voxel", "specificity_voxel")


def hd95_mm(pred: np.ndarray, truth: np.ndarray, spacing_mm: Sequence[float]) -> float:
    """95th-percentile symmetric Hausdorff distance in mm (NaN when either mask is empty)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if not pred.any() or not truth.any():
        return float("nan")
    from monai.metrics import compute_hausdorff_distance

    value = compute_hausdorff_distance(pred[None, None], truth[None, None], percentile=95,
                                       include_background=True, spacing=list(spacing_mm))
    return float(np.asarray(value).ravel()[0])


def scan_metrics(pred_sem: np.ndarray, truth_sem: np.ndarray, pred_inst: np.ndarray,
                 inst_scores: Sequence[float], truth_inst: np.ndarray,
                 spacing_mm: Sequence[float], *, hd95: bool = True) -> dict:
    """Figures of one scan (all arrays on the same grid).

    Args:
        pred_sem, truth_sem: uint8 0 background / 1 benign / 2 metastatic.
        pred_inst: predicted instance ids 1..N; ``inst_scores[i - 1]`` is instance i's
            P(metastatic).
        truth_inst: true lesion ids; only those whose voxels are metastatic in ``truth_sem``
            count as lesions to find (a hit on a benign lesion is a false positive).
        spacing_mm: voxel size (HD95).
        hd95: compute HD95 (the slowest figure).

    Returns:
        A flat dict of figures plus ``match`` (the :class:`LesionMatch`).
    """
    p, t = pred_sem > 0, truth_sem > 0
    tp, fp = int((p & t).sum()), int((p & ~t).sum())
    fn, tn = int((~p & t).sum()), int((~p & ~t).sum())
    mets = np.where(truth_sem == 2, truth_inst, 0)
    return {
        "dice_lesion": dice_score(p, t), "iou_lesion": iou_score(p, t),
        "dice_metastatic": dice_score(pred_sem == 2, truth_sem == 2),
        "dice_benign": dice_score(pred_sem == 1, truth_sem == 1),
        "hd95_lesion_mm": hd95_mm(p, t, spacing_mm) if hd95 else float("nan"),
        "sensitivity_voxel": tp / (tp + fn) if tp + fn else float("nan"),
        "specificity_voxel": tn / (tn + fp) if tn + fp else float("nan"),
        "match": match_lesions(pred_inst, np.asarray(inst_scores, float), mets),
    }


def _mean_statistic(values: np.ndarray):
    ok = np.isfinite(values)
    v = np.where(ok, values, 0.0)

    def stat(w: np.ndarray) -> dict:
        w = w * ok
        with np.errstate(invalid="ignore", divide="ignore"):
            return {"mean": (w @ v) / w.sum(1)}

    return stat


def mean_ci(values: Sequence[float], patient_id: Sequence[str], *, n_boot: int = 2000,
            seed: int = 0) -> dict:
    """Mean over scans with a patient-bootstrap 95 % CI (NaN scans left out)."""
    v = np.asarray(values, float)
    return bootstrap_block(_mean_statistic(v), np.asarray(patient_id), n_boot=n_boot,
                           seed=seed)["mean"]


def origin_auc(primary: Sequence[str | None], p_lung: Sequence[float]) -> dict:
    """AUC of P(lung) for lung vs other primaries, with the DeLong 95 % CI.

    Patients without a lung/other primary are left out; a patient whose metastases were all
    missed (P(lung) NaN) scores 0.5 (no evidence either way).
    """
    keep = [i for i, p in enumerate(primary) if p in ("lung", "other")]
    y = np.array([primary[i] == "lung" for i in keep])
    s = np.array([p_lung[i] for i in keep], float)
    s = np.where(np.isfinite(s), s, 0.5)
    out = {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
           "method": "delong", "n": int(len(y)), "n_lung": int(y.sum())}
    if 0 < y.sum() < len(y):
        auc, lo, hi = delong_ci(y, s)
        out.update(value=float(auc), ci_low=lo, ci_high=hi)
    return out


def _froc_statistic(matches: Sequence[LesionMatch], rate: float):
    """Sensitivity at ``rate`` FP/scan of each bootstrap replicate (scans repeated by weight)."""

    def stat(w: np.ndarray) -> dict:
        values = []
        for row in w:
            sample = [m for m, k in zip(matches, row.astype(int), strict=True) for _ in range(k)]
            hit = any(len(m.lesion_ids) for m in sample)
            values.append(froc_score(sample, (rate,))[f"sens@{rate:g}"] if hit else np.nan)
        return {"sens": np.asarray(values, float)}

    return stat


def froc_block(matches: Sequence[LesionMatch], patient_id: Sequence[str] | None = None, *,
               n_boot: int = 2000, seed: int = 0) -> dict:
    """Sensitivity at :data:`SEG_RATES` false positives per scan, CPM, and the curve; with
    ``patient_id``, also the patient-bootstrap 95 % CI of the sensitivity at 1.5 FP/scan
    (``sens@1.5_ci``: the issue's operating point)."""
    if not any(len(m.lesion_ids) for m in matches):
        return {"n_lesions": 0}
    fps, sens, _ = froc_curve(matches)
    out = froc_score(matches, SEG_RATES)
    out["n_lesions"] = int(sum(len(m.lesion_ids) for m in matches))
    out["curve"] = {"fps_per_scan": fps.tolist(), "sensitivity": sens.tolist()}
    if patient_id is not None and n_boot:
        out["sens@1.5_ci"] = bootstrap_block(_froc_statistic(list(matches), 1.5),
                                             np.asarray(patient_id), n_boot=n_boot,
                                             seed=seed)["sens"]
    return out


def summarise(records: Sequence[dict], *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Summary over scans.

    Args:
        records: one dict per scan: the :func:`scan_metrics` figures plus ``patient_id``,
            ``primary`` and ``origin_p_lung``.

    Returns:
        ``{"n_scans", <figure>: {value, ci_low, ci_high, ...} for MEAN_KEYS, "froc": ...,
        "origin_auc": ...}``.
    """
    pid = [str(r["patient_id"]) for r in records]
    out: dict = {"n_scans": len(records), "n_patients": len(set(pid))}
    for key in MEAN_KEYS:
        out[key] = mean_ci([r[key] for r in records], pid, n_boot=n_boot, seed=seed)
    out["froc"] = froc_block([r["match"] for r in records], pid, n_boot=n_boot, seed=seed)
    out["origin_auc"] = origin_auc([r.get("primary") for r in records],
                                   [r.get("origin_p_lung", float("nan")) for r in records])
    return out
