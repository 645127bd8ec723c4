"""Paired comparisons of models scored on the same studies (no torch).

For each other model B against the reference A: the DeLong test of the two correlated AUCs
(binary score, or the any-abnormal score 1 - p(normal) of a multi-class model), with the
normal-approximation CI of the AUC difference, and McNemar's test of the per-study
correctness at each model's own threshold (multi-class: argmax). With several B models,
Holm-adjusted p-values are added (``*_p_holm``), one family per test.
"""

from __future__ import annotations

import logging

import numpy as np

from osteoscan.errors import InputError
from osteoscan.evaluation.io import Predictions
from osteoscan.evaluation.statistics import delong_roc_test, holm_adjust, mcnemar_test

logger = logging.getLogger(__name__)


def align(a: Predictions, b: Predictions) -> tuple[Predictions, Predictions]:
    """Restrict two prediction sets to their common studies, in A's order.

    Raises:
        InputError: no common study, different classes, or a study labelled differently.
    """
    if a.class_names != b.class_names:
        raise InputError(
            b.source or None,
            f"classes {list(b.class_names)} differ from "
            f"{list(a.class_names)} in {a.source or 'the reference'}",
        )
    common = np.isin(a.study_id, b.study_id)
    if not common.any():
        raise InputError(b.source or None, "no study in common with the reference predictions")
    if common.sum() < max(a.n, b.n):
        logger.warning("comparing on %d common studies (%d and %d given)", common.sum(), a.n, b.n)
    a2 = a.subset(common)
    index = {s: i for i, s in enumerate(b.study_id)}
    b2 = b.take(np.array([index[s] for s in a2.study_id]))
    bad = a2.y != b2.y
    if bad.any():
        raise InputError(
            b.source or None,
            f"study {a2.study_id[bad][0]} has label "
            f"{b.class_names[b2.y[bad][0]]}, the reference says {a.class_names[a2.y[bad][0]]}",
        )
    return a2, b2


def _score(p: Predictions) -> tuple[np.ndarray, np.ndarray] | None:
    """(binary truth, score) used for DeLong, or None when the problem has no binary view."""
    if p.is_binary:
        return p.y == 1, p.score
    k = p.negative_index
    if k is not None:
        return p.y != k, 1.0 - p.prob[:, k]
    return None


def _correct(p: Predictions, threshold: float) -> np.ndarray:
    if p.is_binary:
        return (p.score >= threshold) == (p.y == 1)
    return p.prob.argmax(axis=1) == p.y


def compare_pair(
    a: Predictions,
    b: Predictions,
    *,
    name_a: str = "A",
    name_b: str = "B",
    threshold_a: float = 0.5,
    threshold_b: float = 0.5,
) -> dict:
    """DeLong and McNemar tests of model B against model A on their common studies."""
    a, b = align(a, b)
    row: dict = {"model_a": name_a, "model_b": name_b, "n": a.n}
    sa, sb = _score(a), _score(b)
    if sa is not None and 0 < sa[0].sum() < a.n:
        row.update(delong_roc_test(sa[0], sa[1], sb[1]))
    ca, cb = _correct(a, threshold_a), _correct(b, threshold_b)
    mc = mcnemar_test(ca, cb)
    row.update(
        {
            "accuracy_a": float(ca.mean()),
            "accuracy_b": float(cb.mean()),
            "threshold_a": threshold_a if a.is_binary else None,
            "threshold_b": threshold_b if b.is_binary else None,
            "mcnemar_b": mc["b"],
            "mcnemar_c": mc["c"],
            "mcnemar_statistic": mc["statistic"],
            "mcnemar_p": mc["p"],
            "mcnemar_method": mc["method"],
        }
    )
    return row


def compare_predictions(
    reference: Predictions,
    others: dict[str, Predictions],
    *,
    name: str = "A",
    thresholds: dict[str, float] | None = None,
) -> dict:
    """Compare a reference model with one or more others (``comparison.json`` content).

    Args:
        reference: model A's predictions.
        others: name -> predictions of each model B.
        name: A's name.
        thresholds: name -> operating threshold (default 0.5 for every binary model).

    Returns:
        {"reference", "comparisons": [...], "holm": bool}; with a single comparison its
        fields (``auc_a``, ``auc_b``, ``delong_z``, ``delong_p``, ``mcnemar_p``, ...) are
        also copied to the top level.
    """
    thresholds = thresholds or {}
    rows = [
        compare_pair(
            reference,
            pred,
            name_a=name,
            name_b=other,
            threshold_a=thresholds.get(name, 0.5),
            threshold_b=thresholds.get(other, 0.5),
        )
        for other, pred in others.items()
    ]
    holm = len(rows) > 1
    if holm:
        for key in ("delong_p", "mcnemar_p"):
            have = [i for i, r in enumerate(rows) if r.get(key) is not None]
            for i, p in zip(have, holm_adjust([rows[i][key] for i in have]), strict=True):
                rows[i][f"{key}_holm"] = float(p)
    out: dict = {"reference": name, "holm": holm, "comparisons": rows}
    if len(rows) == 1:
        out.update({k: v for k, v in rows[0].items()})
    return out
