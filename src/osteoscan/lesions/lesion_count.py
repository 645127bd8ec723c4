"""One lesion, one count: candidates of one lesion joined for counting.

The candidate stage seeds every maximum at least 9 mm apart and cuts each basin at 25 mm from
its seed (:mod:`osteoscan.lesions.candidates`), so that adjacent lesions keep one hotspot each.
A large or elongated metastasis then holds several seeds on a plateau of uptake, and was
counted as several lesions (22 % of the metastases hit on the selection sites;
docs/lesions.md, "Lesion counts: one metastasis, several lesions"). Two candidates of one
view are one lesion when their basins touch and the saddle between them stays high: the
largest excess over the local background along their common border (the best pass from one
peak to the other) is at least :data:`SADDLE_FRACTION` of the lower peak's excess. Between
two lesions the uptake falls towards the background (the gap between two vertebrae, a
joint space); on a plateau it does not. A/P pairs (``StudyArrays.group``) are one lesion too.

Only the count and the report's lesion numbers use this: every candidate keeps its own
probability, features and BSI share. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from osteoscan.types import Hotspot

SADDLE_FRACTION = 0.8
"""Fraction of the lower peak's excess over the background the saddle must keep for two
touching candidates to count as one lesion (docs/lesions.md, "Lesion counts")."""


def _saddles(labels: np.ndarray, excess: np.ndarray) -> dict[tuple[int, int], float]:
    """Per pair of touching labels (4-neighbours, ``i < j``): the largest ``min`` of the two
    border pixels' excess, i.e. the highest pass across their common border."""
    lo, hi, height = [], [], []
    for a, b, ea, eb in ((labels[:, :-1], labels[:, 1:], excess[:, :-1], excess[:, 1:]),
                         (labels[:-1], labels[1:], excess[:-1], excess[1:])):
        border = (a > 0) & (b > 0) & (a != b)
        lo.append(np.minimum(a[border], b[border]))
        hi.append(np.maximum(a[border], b[border]))
        height.append(np.minimum(ea[border], eb[border]))
    lo, hi, height = np.concatenate(lo), np.concatenate(hi), np.concatenate(height)
    if not len(lo):
        return {}
    n = int(labels.max()) + 1
    code = lo.astype(np.int64) * n + hi
    order = np.argsort(code, kind="stable")
    code, height = code[order], height[order]
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    best = np.maximum.reduceat(height, first)
    return {(int(c // n), int(c % n)): float(h) for c, h in zip(code[first], best)}


def saddle_ratios(hotspots: Sequence[Hotspot], z: np.ndarray, background: np.ndarray,
                  labels: np.ndarray | None = None) -> dict[tuple[int, int], float]:
    """Per pair of touching candidates of one view (indices into ``hotspots``, ``i < j``): the
    saddle's excess over the background as a fraction of the lower peak's excess.

    ``z``, ``background`` and ``labels`` (the basins; else drawn from each hotspot's ``mask``,
    about 10x slower) are the view's maps (``candidates.ViewMaps``); each hotspot's
    ``features`` hold ``peak_row``/``peak_col``, which lie in its own basin.
    """
    rc = np.array([(int(h.features["peak_row"]), int(h.features["peak_col"]))
                   for h in hotspots], int).reshape(-1, 2)
    if labels is None:
        labels = np.zeros(z.shape, np.int32)
        for i, h in enumerate(hotspots):
            labels[h.mask] = i + 1
    else:  # basin ids -> hotspot positions (a seed whose basin was empty has no hotspot)
        lut = np.zeros(int(labels.max()) + 1, np.int32)
        lut[labels[rc[:, 0], rc[:, 1]]] = np.arange(1, len(hotspots) + 1)
        labels = lut[labels]
    excess = z - background
    peak = excess[rc[:, 0], rc[:, 1]]
    return {(i - 1, j - 1): s / max(min(peak[i - 1], peak[j - 1]), 1e-9)
            for (i, j), s in _saddles(labels, excess).items()}


def components(group: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """A lesion id per candidate: connected components of the A/P groups (``group``: one id
    per distinct lesion) and the joined ``pairs`` ((k, 2) candidate indices)."""
    n = len(group)
    pairs = np.asarray(pairs, int).reshape(-1, 2)
    r = np.concatenate([np.arange(n), pairs[:, 0]])
    c = np.concatenate([np.asarray(group, int), pairs[:, 1]])
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def joined_ids(hot: Mapping[str, Sequence[Hotspot]], maps: Mapping, views: Sequence[str],
               group: np.ndarray, fraction: float = SADDLE_FRACTION) -> np.ndarray:
    """A lesion id per candidate (``views`` order, as ``StudyArrays``): candidates whose
    :func:`saddle_ratios` reach ``fraction`` on a view, or paired across the views
    (``group``), share one."""
    pairs, start = [], 0
    for v in views:
        pairs += [(i + start, j + start) for (i, j), r in
                  saddle_ratios(hot[v], maps[v].z, maps[v].background,
                                maps[v].labels).items() if r >= fraction]
        start += len(hot[v])
    return components(group, np.array(pairs, int))


def one_per_lesion(members: np.ndarray, joined: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Of the candidates ``members`` (indices), the most probable one of each lesion of
    ``joined``, in the order of ``members``."""
    members = np.asarray(members, int)
    order = members[np.argsort(-np.asarray(probs)[members], kind="stable")]
    keep = order[np.unique(np.asarray(joined)[order], return_index=True)[1]]
    return members[np.isin(members, keep)]
