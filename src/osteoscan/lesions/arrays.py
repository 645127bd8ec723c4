"""A study's candidates as arrays, the form the hotspot-first detector reasons on
(:class:`StudyArrays`, :func:`study_arrays`: model-free, from counts to features), and the
small helpers over them (:func:`lesion_table`, :func:`bsi_exposure`). Kept apart from
:mod:`osteoscan.lesions.patient`, which re-exports them, to keep that module short."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np

from osteoscan.lesions.candidates import count_normalised, scan_candidates
from osteoscan.lesions.context import FEATURES, REACH_FEATURES, estimated_spacing, scan_context
from osteoscan.lesions.lesion_count import joined_ids
from osteoscan.lesions.patches import PATCH_FEATURE, scan_patches
from osteoscan.types import BoneScan, Hotspot

PAIR_MM = 20.0
"""Largest distance (mm) between the two views' peaks of one lesion."""


@dataclass
class StudyArrays:
    """The candidates of one study as arrays (the form the detector reasons on).

    Attributes:
        X: (n, len(FEATURES)) context features, anterior candidates first.
        view: (n,) 0 anterior, 1 posterior.
        group: (n,) distinct-lesion id (an anterior/posterior pair shares one).
        head_mm: the patient's head length in mm (BSI scale).
        patches: (n, 2, P, P) image patches (:mod:`osteoscan.lesions.patches`), when asked.
        cnn_p: (n,) the patch network's probabilities (:mod:`osteoscan.lesions.patchnet`),
            when known (out-of-fold ones on training records).
        joined: (n,) lesion id for counting (:func:`osteoscan.lesions.lesion_count.joined_ids`:
            candidates of one lesion share it); None on records (each group counts once).
        reach: (n, len(REACH_FEATURES)) :func:`osteoscan.lesions.context.reach_features`
            (None unless asked, and on records made before them); only BSI trees with card
            ``bsi_reach`` take them.
    """

    X: np.ndarray
    view: np.ndarray
    group: np.ndarray
    head_mm: float
    patches: np.ndarray | None = None
    cnn_p: np.ndarray | None = None
    joined: np.ndarray | None = None
    reach: np.ndarray | None = None


def study_arrays(scan: BoneScan, pair_mm: float = PAIR_MM,
                 count_band: tuple[float, float | None] | None = None, patches: bool = False,
                 force: dict[str, np.ndarray] | None = None, reach: bool = False,
                 count_lesions: bool = False, structure: bool | Collection[str] = True
                 ) -> tuple[StudyArrays, list[Hotspot]]:
    """Candidates and context of a scan (model-free), as arrays and as hotspots (same order).
    A scan without a pixel size (a screen export) gets :func:`estimated_spacing`; with
    ``count_band`` the counts are first brought into it (:func:`count_normalised`); with
    ``patches`` every candidate's image patches too (:func:`scan_patches`); ``force``: per
    view, boxes seeded at their hottest pixel besides the detected seeds (lesion scores only,
    :mod:`osteoscan.lesions.detector_cv`); ``reach``: the candidates' reach features too;
    ``count_lesions``: the lesion ids for counting too (``joined``: what ``analyze`` reports;
    records never keep them); ``structure``: the structure columns computed (True: all,
    False: none; the others are NaN: :func:`osteoscan.lesions.context.scan_context`)."""
    if not scan.spacing_mm:
        scan = replace(scan, spacing_mm=estimated_spacing(scan))
    gain = 1.0
    if count_band:
        scan, gain = count_normalised(scan, count_band, with_gain=True)
    hot, maps = scan_candidates(scan, force, gain=gain)
    ctx = scan_context(hot, maps, reach, structure)
    views = [v for v in ("anterior", "posterior") if v in hot]
    X = np.concatenate([ctx.features[v] for v in views]) if views else np.zeros((0, len(FEATURES)))
    view = np.concatenate([np.full(len(hot[v]), int(v == "posterior")) for v in views]
                          + [np.zeros(0, int)])
    n_ant = len(hot.get("anterior", []))
    group = np.arange(len(X))
    if len(views) == 2:  # mutually nearest within pair_mm: the posterior joins the anterior's group
        na, npo = ctx.nearest["anterior"], ctx.nearest["posterior"]
        dist = ctx.features["anterior"][:, FEATURES.index("other_dist_mm")]
        for i, j in enumerate(na):
            if j >= 0 and npo[j] == i and dist[i] <= pair_mm:
                group[n_ant + j] = i
    px = float(np.sqrt(np.prod(scan.spacing_mm))) if scan.spacing_mm else 2.4
    head_mm = ctx.frames[views[0]].head * px if views else 230.0
    hotspots = [h for v in views for h in hot[v]]
    patch = scan_patches(hot, maps, ctx.frames, views) if patches else None
    joined = joined_ids(hot, maps, views, group) if count_lesions else None
    ext = (np.concatenate([ctx.reach[v] for v in views] + [np.zeros((0, len(REACH_FEATURES)))])
           if reach else None)
    return StudyArrays(X, view, group, head_mm, patch, joined=joined, reach=ext), hotspots


def bsi_exposure(X: np.ndarray, head_mm: float) -> np.ndarray:
    """Each candidate's area in head lengths squared (at least 1 mm²): the exposure of BSI
    trees fitted on the share per unit area (card ``bsi_target: "per_area"``,
    :data:`osteoscan.lesions.detector_train.BSI_DESIGNS`)."""
    return np.maximum(X[:, FEATURES.index("area_mm2")], 1.0) / head_mm ** 2


def lesion_table(probs: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct lesion: the index of its most probable candidate and that probability."""
    best: dict[int, int] = {}
    for i, g in enumerate(group):
        if int(g) not in best or probs[i] > probs[best[int(g)]]:
            best[int(g)] = i
    idx = np.array(sorted(best.values()), dtype=int)
    return idx, probs[idx] if len(idx) else np.zeros(0)


def record_arrays(rec: dict) -> StudyArrays:
    """The :class:`StudyArrays` of a cached record (``detector_records.study_record``; with
    its patches and ``cnn_p`` when it has them)."""
    return StudyArrays(rec["X"], rec["view"], rec["group"], float(rec["head_mm"]),
                       rec.get("patches"), rec.get(PATCH_FEATURE), reach=rec.get("reach"))
