"""Choosing the post-processing of a 3-D network on a selection cohort.

The lesion threshold (a voxel is lesion where ``1 - P(background)`` exceeds it), the
minimum instance size (model-grid voxels) and the smallest P(real lesion) an instance needs
from the card's lesion model (applied to the instances and the mask, or to the mask only:
``cut`` "all" or "mask") decide what the network's probabilities become; all are chosen on a selection profile, never on the test profile (docs/seg3d.md), and stored
in the model card's ``settings["postprocess"]``, which :class:`~osteoscan.volumetric.infer.
Segmenter3D` reads (``seg3d evaluate`` and ``seg3d predict`` then use them).

Example:
    >>> choice = select_postprocessing(segmenter, selection_cases)   # doctest: +SKIP
    >>> write_selected(segmenter, choice, "runs/seg3d-selected")      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import atomic_write_text
from osteoscan.evaluation.volumes import froc_block, scan_metrics
from osteoscan.training.checkpoint import save_checkpoint
from osteoscan.volumetric.infer import CUTS
from osteoscan.volumetric.inputs import Case, work_image

SELECT_THRESHOLDS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SELECT_MIN_VOXELS: tuple[int, ...] = (2, 4, 8)
SELECT_MIN_P_LESION: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6)
KEYS = ("threshold", "min_voxels", "min_p_lesion")
CRITERION = "lesion DSC + lesion sensitivity at 1.5 FP/scan"


def select_postprocessing(segmenter, cases: Sequence[Case], *,
                          thresholds: Sequence[float] = SELECT_THRESHOLDS,
                          min_voxels: Sequence[int] = SELECT_MIN_VOXELS,
                          min_p_lesion: Sequence[float] = SELECT_MIN_P_LESION,
                          cuts: Sequence[str] = CUTS,
                          on_case: Callable[[str], None] | None = None) -> dict:
    """Choose the lesion threshold, the minimum instance size and the minimum P(real lesion)
    of the lesion model (when the card has one; else that value stays 0), and whether that
    cut removes instances and mask ("all") or the mask only ("mask"; among ``cuts``), on a
    selection cohort.

    The network runs once per case (:meth:`Segmenter3D.finish` redoes only the instances);
    each setting is scored by lesion DSC and lesion sensitivity at 1.5 FP/scan, and the one
    with the largest sum wins (both are issue targets, weighed equally; ties go to the
    smaller values).

    Returns:
        ``{"threshold", "min_voxels", "min_p_lesion", "criterion", "profiles",
        "table": [row per setting]}``.
    """
    outputs = []
    for case in cases:
        image = work_image(case, segmenter.channels, segmenter.spacing, segmenter.hu_window)
        outputs.append((case, image, *segmenter.probabilities(image)))
        if on_case:
            on_case(case.case_id)
    table = []
    for values in itertools.product(thresholds, min_voxels,
                                    min_p_lesion if segmenter.lesion_model else (0.0,),
                                    cuts):
        if values[3] == "mask" and not values[2] and "all" in cuts:
            continue  # no cut: "mask" is "all"
        trial = copy.copy(segmenter)
        trial.threshold, trial.min_voxels, trial.min_p_lesion, trial.cut = (
            float(values[0]), int(values[1]), float(values[2]), values[3])
        table.append(_score_setting(trial, outputs))
    # ties go to the smaller values and to cutting everywhere ("all", the earlier rule)
    best = max(table, key=lambda r: (r["criterion"], *(-r[k] for k in KEYS), r["cut"] == "all"))
    return {**{k: best[k] for k in (*KEYS, "cut")}, "criterion": CRITERION,
            "profiles": sorted({c.profile for c in cases}), "table": table}


def _score_setting(segmenter, outputs) -> dict:
    """Lesion DSC and sensitivity at 1.5 FP/scan of one post-processing setting."""
    dice, matches = [], []
    for case, image, prob, heat in outputs:
        r = segmenter.finish(case, image, prob, heat)
        rec = scan_metrics(r.semantic, case.semantic, r.instances,
                           [t["score"] for t in r.lesions], case.instances, case.spacing_mm,
                           hd95=False)
        dice.append(rec["dice_lesion"])
        matches.append(rec["match"])
    sens = float(froc_block(matches, n_boot=0).get("sens@1.5", 0.0))
    return {"threshold": segmenter.threshold, "min_voxels": segmenter.min_voxels,
            "min_p_lesion": segmenter.min_p_lesion, "cut": segmenter.cut,
            "dice_lesion": float(np.mean(dice)), "sens@1.5": sens,
            "criterion": float(np.mean(dice)) + sens}


def write_selected(segmenter, choice: dict, out: str | Path) -> Path:
    """A copy of the checkpoint whose card carries the chosen post-processing (the source
    checkpoint is left as it is), with ``selection.csv`` (every pair tried)."""
    out = Path(out)
    card = copy.deepcopy(segmenter.card)
    card.settings["postprocess"] = {k: choice[k] for k in (*KEYS, "cut", "criterion", "profiles")}
    # the patient's origin follows the mask (decided on profile_7, docs/seg3d.md "Origin over
    # the mask"); the same as averaging every instance when the cut is "all"
    card.settings["postprocess"]["origin"] = "mask"
    save_checkpoint(out, segmenter.model, card)
    atomic_write_text(out / "selection.csv", pd.DataFrame(choice["table"]).to_csv(index=False))
    return out
