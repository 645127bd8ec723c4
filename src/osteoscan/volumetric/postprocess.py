"""Choosing the post-processing of a 3-D network on a selection cohort.

The lesion threshold (a voxel is lesion where ``1 - P(background)`` exceeds it), the
minimum instance size (model-grid voxels) and the smallest P(real lesion) an instance needs
from the card's lesion model (applied to the instances and the mask, or to the mask only:
``cut`` "all" or "mask") decide what the network's probabilities become; all are chosen on a selection profile, never on the test profile (docs/seg3d.md), and stored
in the model card's ``settings["postprocess"]``, which :class:`~osteoscan.volumetric.infer.
Segmenter3D` reads (``seg3d evaluate`` and ``seg3d predict`` then use them).

:func:`select_ct_path` chooses, the same way, the post-processing of a CT path fused into
a selected network (:mod:`osteoscan.volumetric.fusion`, docs/seg3d.md "Eighth run"), and
:func:`write_fused` stores it in the primary's card with the path's checkpoint beside it.

Example:
    >>> choice = select_postprocessing(segmenter, selection_cases)   # doctest: +SKIP
    >>> write_selected(segmenter, choice, "runs/seg3d-selected")      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import atomic_write_json, atomic_write_text
from osteoscan.evaluation.volumes import froc_block, scan_metrics
from osteoscan.training.checkpoint import save_checkpoint
from osteoscan.volumetric.fusion import CTPath
from osteoscan.volumetric.infer import CUTS
from osteoscan.volumetric.inputs import Case

SELECT_THRESHOLDS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
SELECT_MIN_VOXELS: tuple[int, ...] = (2, 4, 8)
SELECT_MIN_P_LESION: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6)
KEYS = ("threshold", "min_voxels", "min_p_lesion")
CT_THRESHOLDS: tuple[float, ...] = (0.5, 0.7, 0.9)
CT_MIN_VOXELS: tuple[int, ...] = (4, 8, 16)
CT_MIN_P_LESION: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6)
CT_MAX_CONTRAST_HU: tuple[float | None, ...] = (None, 0.0, -50.0, -100.0)
CT_KEYS = ("threshold", "min_voxels", "min_p_lesion", "max_contrast_hu")
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
    trials = []
    for values in itertools.product(thresholds, min_voxels,
                                    min_p_lesion if segmenter.lesion_model else (0.0,),
                                    cuts):
        if values[3] == "mask" and not values[2] and "all" in cuts:
            continue  # no cut: "mask" is "all"
        trial = copy.copy(segmenter)
        trial.threshold, trial.min_voxels, trial.min_p_lesion, trial.cut = (
            float(values[0]), int(values[1]), float(values[2]), values[3])
        trials.append(trial)
    table = _score_settings(trials, network_outputs(segmenter, cases, on_case))
    # ties go to the smaller values and to cutting everywhere ("all", the earlier rule)
    best = max(table, key=lambda r: (r["criterion"], *(-r[k] for k in KEYS), r["cut"] == "all"))
    return {**{k: best[k] for k in (*KEYS, "cut")}, "criterion": CRITERION,
            "profiles": sorted({c.profile for c in cases}), "table": table}


def network_outputs(segmenter, cases: Sequence[Case],
                    on_case: Callable[[str], None] | None = None) -> Iterator[tuple]:
    """Per case, as it is reached: (case, input, probabilities, heatmap, the CT path's
    output or None), so that a sweep runs each network once."""
    for case in cases:
        image = segmenter.work_input(case)
        ct = segmenter.ct_path.outputs(case) if segmenter.ct_path is not None else None
        yield (case, image, *segmenter.probabilities(image), ct)
        if on_case:
            on_case(case.case_id)


def _score_settings(trials: Sequence, outputs: Iterable[tuple]) -> list[dict]:
    """Lesion DSC and sensitivity at 1.5 FP/scan of each post-processing setting
    (``trials``: segmenters that differ only in their post-processing). The cases are the
    outer loop: every setting is scored on a case before the next is reached, so a cohort
    larger than its case cache (``workflows.seg3d_cases``: studies at the sites' own CT
    sampling) is read once, not once per setting."""
    dice = [[] for _ in trials]
    matches = [[] for _ in trials]
    added = [0] * len(trials)
    for case, image, prob, heat, ct in outputs:
        for k, trial in enumerate(trials):
            r = trial.finish(case, image, prob, heat, ct=ct)
            added[k] += sum(t.get("source") == "ct_path" for t in r.lesions)
            rec = scan_metrics(r.semantic, case.semantic, r.instances,
                               [t["score"] for t in r.lesions], case.instances,
                               case.spacing_mm, hd95=False)
            dice[k].append(rec["dice_lesion"])
            matches[k].append(rec["match"])
    rows = []
    for k, trial in enumerate(trials):
        sens = float(froc_block(matches[k], n_boot=0).get("sens@1.5", 0.0))
        rows.append({"threshold": trial.threshold, "min_voxels": trial.min_voxels,
                     "min_p_lesion": trial.min_p_lesion, "cut": trial.cut,
                     "dice_lesion": float(np.mean(dice[k])), "sens@1.5": sens,
                     "criterion": float(np.mean(dice[k])) + sens,
                     "ct_path_lesions": added[k]})
    return rows


def write_selected(segmenter, choice: dict, out: str | Path) -> Path:
    """A copy of the checkpoint whose card carries the chosen post-processing (the source
    checkpoint is left as it is), with ``selection.csv`` (every pair tried)."""
    out = Path(out)
    card = copy.deepcopy(segmenter.card)
    card.settings["postprocess"] = {k: choice[k] for k in (*KEYS, "cut", "criterion", "profiles")}
    # the patient's origin follows the mask (decided on profile_7, docs/seg3d.md "Origin over
    # the mask"); the same as averaging every instance when the cut is "all"
    card.settings["postprocess"]["origin"] = "mask"
    if segmenter.ct_path is not None:  # a fused card keeps its CT path (and its folder)
        card.settings["postprocess"]["ct_path"] = segmenter.card.settings["postprocess"]["ct_path"]
        save_checkpoint(out / segmenter.ct_path.folder, segmenter.ct_path.net.model,
                        segmenter.ct_path.net.card)
    save_checkpoint(out, segmenter.model, card)
    atomic_write_text(out / "selection.csv", pd.DataFrame(choice["table"]).to_csv(index=False))
    return out


def select_ct_path(segmenter, ct_net, cases: Sequence[Case], *,
                   thresholds: Sequence[float] = CT_THRESHOLDS,
                   min_voxels: Sequence[int] = CT_MIN_VOXELS,
                   min_p_lesion: Sequence[float] = CT_MIN_P_LESION,
                   max_contrast_hu: Sequence[float | None] = CT_MAX_CONTRAST_HU,
                   on_case: Callable[[str], None] | None = None) -> dict:
    """Choose the post-processing of a CT path (``ct_net``, SPECT zeroed;
    :mod:`osteoscan.volumetric.fusion`) fused into ``segmenter``, whose own post-processing
    stays as its card has it, by :data:`CRITERION` on a selection cohort (each network runs
    once per case). Ties go to the stricter path (higher threshold, size, P(lesion), darker
    contrast). The primary alone is scored by the same code (``primary``).

    Returns:
        ``{"ct_path": the chosen path's card record, "criterion", "profiles", "best": its
        row, "primary": the primary alone, "table": [row per setting]}``.
    """
    fused = copy.copy(segmenter)
    fused.ct_path = CTPath.of(ct_net, threshold=min(thresholds), min_voxels=min(min_voxels))
    outputs = network_outputs(copy.copy(fused), cases, on_case)
    alone = copy.copy(segmenter)
    alone.ct_path = None
    trials, records = [], []
    for t, v, p, c in itertools.product(thresholds, min_voxels,
                                        min_p_lesion if ct_net.lesion_model else (0.0,),
                                        max_contrast_hu):
        trial = copy.copy(fused)
        trial.ct_path = CTPath.of(ct_net, threshold=t, min_voxels=v, min_p_lesion=p,
                                  max_contrast_hu=c)
        trials.append(trial)
        records.append({f"ct_{k}": w for k, w in trial.ct_path.to_dict().items()
                        if k not in ("model", "zeroed")})
    *rows, primary = _score_settings([*trials, alone], outputs)
    table = [{**row, **record} for row, record in zip(rows, records, strict=True)]
    best = max(table, key=lambda r: (r["criterion"], r["ct_threshold"], r["ct_min_voxels"],
                                     r["ct_min_p_lesion"], -_hu(r["ct_max_contrast_hu"])))
    chosen = CTPath.of(ct_net, **{k: best[f"ct_{k}"] for k in CT_KEYS})
    return {"ct_path": chosen.to_dict(), "criterion": CRITERION, "best": best,
            "profiles": sorted({c.profile for c in cases}),
            "primary": primary, "table": table}


def _hu(value: float | None) -> float:
    """A contrast cut for ordering: no cut counts as the loosest."""
    return float("inf") if value is None else float(value)


def write_fused(segmenter, ct_net, choice: dict, out: str | Path) -> Path:
    """A copy of the primary checkpoint whose card records the chosen CT path
    (``settings["postprocess"]["ct_path"]``), the CT path's checkpoint copied into
    ``out/ct_path``, and ``selection.csv`` (every setting tried); the sources are left as
    they are."""
    out = Path(out)
    card = copy.deepcopy(segmenter.card)
    post = card.settings.setdefault("postprocess", {})
    post["ct_path"] = {**choice["ct_path"], "criterion": choice["criterion"],
                       "profiles": choice["profiles"]}
    save_checkpoint(out, segmenter.model, card)
    save_checkpoint(out / choice["ct_path"]["model"], ct_net.model, ct_net.card)
    atomic_write_text(out / "selection.csv", pd.DataFrame(choice["table"]).to_csv(index=False))
    atomic_write_json(out / "selection.json", {k: v for k, v in choice.items() if k != "table"})
    return out
