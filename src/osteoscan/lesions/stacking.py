"""The patient's context of each hotspot: a second look at a candidate, knowing the others.

The first-stage trees judge a candidate from its own context vector
(:mod:`osteoscan.lesions.context`). In a patient with many metastases that look is modest:
the neighbours of a lesion are lesions too, so its contrast against "the same region" and its
left-right asymmetry shrink. The second stage sees, beside the context vector, how the
first stage judged the rest of the patient (:data:`STACK_FEATURES`, named and shown with
each hotspot):

* ``p1``: this candidate's first-stage probability;
* ``p1_rank``: its rank among the study's candidates (0: the most probable);
* ``p1_over_max``: ``p1`` over the study's largest first-stage probability;
* ``study_max_p1``, ``study_top5_p1`` (mean of the 5 largest over distinct lesions),
  ``study_n_p50`` (distinct lesions with ``p1 >= 0.5``), ``study_sum_p1`` (over distinct
  lesions): how metastatic the patient looks;
* ``partner_p1``: the first-stage probability of its anterior/posterior partner (0 if none);
* ``near_max_p1``, ``near_n_p50``: the largest ``p1`` and the number with ``p1 >= 0.5`` among
  the other candidates of its view within :data:`NEAR_BODY` body units (about 10 cm; a
  detector's card ``near_body`` may set another radius);
* ``region_n_p50``, ``region_max_p1``: the same over the other distinct lesions of its
  skeletal region.

Fitted on out-of-fold first-stage probabilities (:mod:`osteoscan.lesions.detector_train`),
so the second stage learns how far to trust the first stage on studies it did not see.
"""

from __future__ import annotations

import numpy as np

STACK_FEATURES: tuple[str, ...] = (
    "p1", "p1_rank", "p1_over_max", "study_max_p1", "study_top5_p1", "study_n_p50",
    "study_sum_p1", "partner_p1", "near_max_p1", "near_n_p50", "region_n_p50", "region_max_p1",
)
"""Names of the second stage's extra features, in order."""

LOCAL_STACK: tuple[str, ...] = (
    "p1", "partner_p1", "near_max_p1", "near_n_p50", "region_n_p50", "region_max_p1",
)
"""The second stage's inputs without the study-wide ones (``p1_rank``, ``p1_over_max`` and the
``study_*`` features): its context is the candidate's own lesion, its neighbourhood and its
region, so a candidate far from every lesion is not raised because the patient is
metastatic elsewhere (docs/lesions.md, "The second stage's context"). A detector's card names
the columns its second stage takes (``stack_features``, a subset of :data:`STACK_FEATURES`)."""

NEAR_BODY = 0.45
"""Radius of a candidate's neighbourhood in body units (head lengths; about 10 cm)."""


def _best_per_group(p: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Largest ``p`` of each distinct lesion (a pair counts once), one value per group."""
    best = np.zeros(int(group.max()) + 1)
    np.maximum.at(best, group, p)
    return best[np.unique(group)]


def _partner(p: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``p`` of the other member of each candidate's group (0 when alone)."""
    out = np.zeros(len(p))
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        if len(members) == 2:
            out[members[0]], out[members[1]] = p[members[1]], p[members[0]]
    return out


def _near(p: np.ndarray, view: np.ndarray, y: np.ndarray, x: np.ndarray, radius: float):
    """Largest ``p`` and count of ``p >= 0.5`` among the other same-view candidates within
    ``radius`` body units."""
    d2 = (y[:, None] - y[None]) ** 2 + (x[:, None] - x[None]) ** 2
    near = (d2 <= radius ** 2) & (view[:, None] == view[None])
    np.fill_diagonal(near, False)
    pm = np.where(near, p[None], 0.0)
    return pm.max(1), (near & (p[None] >= 0.5)).sum(1)


def _region(p: np.ndarray, group: np.ndarray, codes: np.ndarray):
    """Per candidate: distinct lesions of its region (itself excluded) with ``p >= 0.5``,
    and their largest ``p`` (a lesion's ``p`` is its best member within the region)."""
    n, m = np.zeros(len(p)), np.zeros(len(p))
    for c in np.unique(codes):
        here = np.flatnonzero(codes == c)
        best = np.zeros(int(group.max()) + 1)
        np.maximum.at(best, group[here], p[here])
        ids = np.unique(group[here])
        vals = best[ids]
        own = best[group[here]]
        n[here] = (vals >= 0.5).sum() - (own >= 0.5)
        # the largest p of the other lesions: the top value unless it is one's own lesion's
        order = np.argsort(-vals, kind="stable")
        top_id = ids[order[0]]
        second = vals[order[1]] if len(ids) > 1 else 0.0
        m[here] = np.where(group[here] == top_id, second, vals[order[0]])
    return n, m


def stack_features(p1: np.ndarray, view: np.ndarray, group: np.ndarray, codes: np.ndarray,
                   y_body: np.ndarray, x_body: np.ndarray,
                   near_body: float = NEAR_BODY) -> np.ndarray:
    """:data:`STACK_FEATURES` of every candidate of one study, shape (n, 12).

    Args:
        p1: first-stage probabilities; view: 0 anterior, 1 posterior; group: distinct-lesion
            ids; codes: region codes; y_body, x_body: body coordinates; near_body: the
            neighbourhood's radius in body units (a detector's card ``near_body``).
    """
    p1 = np.asarray(p1, float)
    if not len(p1):
        return np.zeros((0, len(STACK_FEATURES)))
    lesion = np.sort(_best_per_group(p1, group))[::-1]
    top5 = np.concatenate([lesion[:5], np.zeros(max(5 - len(lesion), 0))]).mean()
    rank = np.empty(len(p1))
    rank[np.argsort(-p1, kind="stable")] = np.arange(len(p1))
    near_max, near_n = _near(p1, view, np.asarray(y_body, float), np.asarray(x_body, float),
                            near_body)
    reg_n, reg_max = _region(p1, group, codes)
    study = np.array([lesion[0], top5, float((lesion >= 0.5).sum()), lesion.sum()])
    cols = [p1, rank, p1 / max(lesion[0], 1e-6), *np.broadcast_to(study[:, None], (4, len(p1))),
            _partner(p1, group), near_max, near_n, reg_n, reg_max]
    return np.stack(cols, axis=1).astype(float)
