"""Subgroup tables: metastatic burden, primary tumour, site and any manifest column (no torch).

Two kinds of subgroup:

- *Partitions* of a manifest column (``site``, ``primary``, any ``--by`` column): each group
  holds the studies with that value, positives and negatives alike; studies with no value
  are left out of that table.
- *Burden groups* from ``lesion_count``: negatives have no lesions, so they cannot be split
  by burden. Each burden group holds the positives whose lesion count falls in the group
  **plus every negative study**; its AUC is therefore "this burden vs all negatives", its
  sensitivity is the sensitivity within the group, and its specificity is the same in every
  group. Positives without a lesion count are left out. Groups: oligometastatic (1-3) vs
  polymetastatic (> 3), and <= 3 / 4-6 / > 6 (the lesion-level paper's bins). For a
  multi-class problem with a "normal" class, burden groups use the any-abnormal score
  1 - p(normal).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from osteoscan.evaluation.blocks import metric_block
from osteoscan.evaluation.io import Predictions, binary_collapse
from osteoscan.evaluation.statistics import patient_codes

logger = logging.getLogger(__name__)

BUILTIN_PARTITIONS = ("primary", "site")
BURDEN_SCHEMES = {
    "burden_oligo_poly": (("oligo (1-3)", 1, 3), ("poly (>3)", 4, np.inf)),
    "burden_3_6": (("<=3", 1, 3), ("4-6", 4, 6), (">6", 7, np.inf)),
}
MAX_GROUPS = 50


def _group_result(
    pred: Predictions, mask: np.ndarray, threshold: float, n_boot: int, seed: int
) -> dict:
    sub = pred.subset(mask)
    if np.ndim(threshold):  # per-study thresholds (the model's own calls) follow the rows
        threshold = np.asarray(threshold)[mask]
    if sub.n == 0:
        return {"n": 0, "n_patients": 0, "n_positive": 0, "metrics": {}}
    negative = 0 if sub.is_binary else sub.negative_index
    positive = (
        sub.y == 1 if sub.is_binary else (sub.y != negative if negative is not None else sub.y >= 0)
    )
    row = {
        "n": sub.n,
        "n_patients": patient_codes(sub.patient_id)[1],
        "n_positive": int(positive.sum()),
    }
    row["metrics"] = metric_block(sub, threshold, n_boot=n_boot, seed=seed)
    return row


def partition_table(
    pred: Predictions, values: pd.Series, threshold: float, *, n_boot: int, seed: int
) -> dict | None:
    """Figures per value of a column (None when the column has too many values)."""
    values = pd.Series(values).reset_index(drop=True)
    present = values.dropna().astype(str)
    levels = sorted(present.unique())
    if len(levels) > MAX_GROUPS:
        logger.warning(
            "column %s has %d values; not a subgroup column, skipped", values.name, len(levels)
        )
        return None
    text = values.astype(str).where(values.notna(), None)
    groups = {
        lv: _group_result(pred, (text == lv).to_numpy(), threshold, n_boot, seed) for lv in levels
    }
    return {
        "kind": "partition",
        "definition": f"studies grouped by {values.name}",
        "groups": groups,
    }


def _burden_prediction(pred: Predictions) -> Predictions | None:
    return pred if pred.is_binary else binary_collapse(pred)


def burden_table(
    pred: Predictions,
    lesion_count: pd.Series,
    threshold: float,
    scheme: str,
    *,
    n_boot: int,
    seed: int,
) -> dict | None:
    """Burden groups: positives in the lesion-count range plus all negatives."""
    base = _burden_prediction(pred)
    if base is None:
        return None
    count = pd.to_numeric(
        pd.Series(lesion_count).reset_index(drop=True), errors="coerce"
    ).to_numpy()
    negative = base.y == 0
    groups = {}
    for name, low, high in BURDEN_SCHEMES[scheme]:
        mask = negative | ((base.y == 1) & (count >= low) & (count <= high))
        groups[name] = _group_result(base, mask, threshold, n_boot, seed)
        groups[name]["lesion_range"] = [low, None if np.isinf(high) else high]
    return {
        "kind": "burden",
        "definition": "positives with lesion_count in range + all negatives",
        "groups": groups,
    }


def subgroup_tables(
    pred: Predictions,
    manifest: pd.DataFrame | None,
    threshold: float,
    *,
    by: tuple[str, ...] = (),
    n_boot: int = 0,
    seed: int = 0,
) -> dict:
    """All subgroup tables available from a manifest aligned to ``pred``.

    Args:
        pred: predictions.
        manifest: one row per prediction (same order), or None (then only ``by`` columns
            found in the predictions file's extra columns are used).
        threshold: operating threshold for the binary figures.
        by: extra columns to partition by.
        n_boot: bootstrap replicates per group.
        seed: bootstrap seed.
    """
    frame = manifest if manifest is not None else pred.extra
    frame = frame.reset_index(drop=True)
    tables: dict = {}
    if "lesion_count" in frame.columns:
        for scheme in BURDEN_SCHEMES:
            table = burden_table(
                pred, frame["lesion_count"], threshold, scheme, n_boot=n_boot, seed=seed
            )
            if table is not None:
                tables[scheme] = table
    for column in dict.fromkeys([*BUILTIN_PARTITIONS, *by]):
        if column not in frame.columns:
            if column in by:
                from osteoscan.errors import ConfigError

                raise ConfigError(f"--by {column}: no such column in the manifest or predictions")
            continue
        table = partition_table(
            pred, frame[column].rename(column), threshold, n_boot=n_boot, seed=seed
        )
        if table is not None:
            tables[column] = table
    return tables
