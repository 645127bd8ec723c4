"""The hotspot detector's study-level inputs: the patient-set features and the extent model.

:data:`PATIENT_FEATURES` (:func:`patient_features`) summarise a study's distinct lesions for
the patient model (:meth:`osteoscan.lesions.patient.HotspotDetector.patient_probability`).

**The extent the hotspots miss.** The detector's BSI sums the expected skeletal share of
each hotspot it calls (:meth:`osteoscan.lesions.patient.HotspotDetector.masses`). Hotspots
are found against the patient's own normal bone, so where the disease is diffuse (every
vertebra and the pelvis involved, the pattern of a superscan) the "normal" bone is itself
involved, few candidates stand out, and the sum reads about half the true extent
(docs/independent-sites.md, "The studies that decide the home BSI"). Readers tell a
superscan by what is not bone: faint kidneys, faint soft tissue ("absent kidney sign"),
which the view-level columns ``kidney_rel`` and ``soft_rel`` measure
(:mod:`osteoscan.lesions.structure`).

The extent model is a small gradient-boosted regressor (:class:`osteoscan.lesions.trees.Forest`)
of the **residual** ``true BSI - hotspot BSI`` of a study decided metastatic, from
:data:`EXTENT_FEATURES`: the patient-set features, the hotspot BSI, every lesion's share
weighted by its probability, and the view-level columns of each view. It is fitted on
simulated studies the detector's trees never saw (so its inputs are the detector's honest
answers), and the study's BSI becomes ``max(0, hotspot BSI + residual)``; the called
hotspots' shares are rescaled to that total, so that the region table still sums to the BSI
and a study decided normal still has a BSI of 0. A residual model (not the total) keeps the
answer's exact dependence on the hotspots, so that a study and its count-halved copy move
together.
"""

from __future__ import annotations

import numpy as np

from osteoscan.lesions.context import FEATURES
from osteoscan.lesions.trees import Forest

PATIENT_FEATURES: tuple[str, ...] = (
    "top1", "top2", "top3", "mean_top5", "n_malignant", "log_sum_p", "n_spine", "n_pelvis",
    "n_ribs", "n_other",
)
"""Names of the patient-level feature vector (from the set of distinct lesions)."""

_SPINE = {"cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"}


def patient_features(probs: np.ndarray, regions: list[str], threshold: float) -> np.ndarray:
    """:data:`PATIENT_FEATURES` of one study from its distinct lesions."""
    p = np.sort(np.asarray(probs, float))[::-1]
    top = np.concatenate([p[:5], np.zeros(max(5 - len(p), 0))])
    mal = [r for q, r in zip(probs, regions, strict=True) if q >= threshold]
    n_sp = sum(r in _SPINE for r in mal)
    n_pe, n_ri = mal.count("pelvis"), mal.count("ribs")
    return np.array([top[0], top[1], top[2], top.mean(), len(mal), np.log1p(p.sum()),
                     n_sp, n_pe, n_ri, len(mal) - n_sp - n_pe - n_ri], dtype=float)


VIEW_COLUMNS: tuple[str, ...] = ("kidney_rel", "soft_rel")
"""View-level context columns the extent model reads, once per view (NaN when unknown)."""

SET_FEATURES: tuple[str, ...] = ("bsi_hotspots", "share_sum", "n_candidates")
"""Study-level columns beside the patient features: the hotspot BSI, the sum of every
distinct lesion's share weighted by its probability, and the number of candidates."""

EXTENT_FEATURES: tuple[str, ...] = (
    *PATIENT_FEATURES, *SET_FEATURES,
    *(f"{c}_{v}" for c in VIEW_COLUMNS for v in ("anterior", "posterior")))
"""The extent model's inputs (:func:`extent_features`)."""


def view_value(X: np.ndarray, view: np.ndarray, name: str, v: int) -> float:
    """The view-level column ``name`` of view ``v`` (0 anterior, 1 posterior): every
    candidate of a view carries the same value; NaN without a candidate there."""
    here = X[view == v, FEATURES.index(name)]
    return float(here[0]) if len(here) else float("nan")


def extent_features(patient: np.ndarray, X: np.ndarray, view: np.ndarray, bsi_hotspots: float,
                    probs: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """One study's extent inputs: ``patient`` (its patient-set features), then
    :data:`EXTENT_FEATURES` from its candidate matrix ``X`` and ``view``, its hotspot
    BSI, and every candidate's (capped) probability and share of the BSI."""
    share_sum = float(np.dot(probs, shares)) if len(probs) else 0.0
    views = [view_value(X, view, c, v) for c in VIEW_COLUMNS for v in (0, 1)]
    return np.array([*patient, bsi_hotspots, share_sum, float(len(X)), *views], dtype=float)


def extent_bsi(model: Forest, features: np.ndarray, bsi_hotspots: float) -> float:
    """The study's BSI (percent): the hotspot BSI plus the predicted residual, at least 0."""
    return max(0.0, bsi_hotspots + float(model.predict(features[None, :])[0]))


def extended(model: Forest, features: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """The candidates' shares of the BSI ``mass`` rescaled to the study's extent
    (:func:`extent_bsi`); unchanged when no hotspot carries any (nothing to rescale)."""
    hot = float(mass.sum())
    if hot <= 0:
        return mass
    return mass * (extent_bsi(model, features, hot) / hot)


def extent_rows(det, records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The extent model's training rows from ``records`` (studies the detector ``det``'s
    trees never saw): the inputs and residual (true BSI minus the hotspot BSI) of each study
    ``det``, without an extent model, decides metastatic."""
    from dataclasses import replace

    from osteoscan.lesions.arrays import record_arrays

    det = replace(det, extent=None, picture=None)
    rows, target = [], []
    for rec in records:
        arr = record_arrays(rec)
        st = det.stages(arr)
        d = det.decide(arr, st["probability"], st["codes"], st["stack"])
        if not d["positive"]:
            continue
        rows.append(extent_features(det.patient_vector(arr, st["probability"], st["codes"]),
                                    arr.X, arr.view, d["bsi"], d["capped"], d["share"]))
        target.append(float(rec["bsi"]) - d["bsi"])
    return np.array(rows).reshape(len(rows), -1), np.array(target)


def with_extent(det, records: list[dict], seed: int = 0):
    """``det`` (a :class:`~osteoscan.lesions.patient.HotspotDetector`) with an extent model
    fitted on ``records`` (:func:`extent_rows`, :func:`fit_extent`), and the number of
    studies it was fitted on.

    Raises:
        ValueError: no study of ``records`` is decided metastatic.
    """
    from dataclasses import replace

    X, y = extent_rows(det, records)
    if not len(X):
        raise ValueError(f"no study of {len(records)} decided metastatic to fit an extent model on")
    return replace(det, extent=fit_extent(X, y, seed=seed)), len(X)


def fit_extent(X: np.ndarray, residual: np.ndarray, seed: int = 0) -> Forest:
    """The extent model fitted on studies decided metastatic: inputs ``X`` (rows of
    :func:`extent_features`), target ``residual`` (true BSI minus the hotspot BSI).
    Shallow trees with a floor on leaf size: the studies it must learn (diffuse disease) are
    a few percent of the metastatic ones."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_depth=3,
                                          min_samples_leaf=8, l2_regularization=1.0,
                                          random_state=seed)
    return Forest.from_sklearn(model.fit(X, residual))
