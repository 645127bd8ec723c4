"""Fitting the hotspot-first detector on simulated cohorts (torch-free, seeded).

Three disjoint cohorts, by site profile: **train** (region lookup, hotspot trees, the patient
model on out-of-fold hotspot probabilities, the BSI scale), **select** (Platt calibration of
the patient probability and the decision threshold at sensitivity 0.90; nothing else is
chosen there) and **test** (``benchmarks/bench_detector.py`` only). Each study is reduced
once to a record (:mod:`osteoscan.lesions.detector_records`), cached as ``.npz`` (no pickle),
so re-runs are cheap.

One command rebuilds the bundled detector: ``python scripts/build_detector.py`` (docs/lesions.md).
"""

from __future__ import annotations

import logging

import numpy as np

from osteoscan.lesions.arrays import record_arrays as arrays  # noqa: F401  (re-exported)
from osteoscan.lesions.context import FEATURES, REACH_FEATURES, reach_columns
from osteoscan.lesions.patient import (
    PATCH_FEATURE,
    PATIENT_FEATURES,
    HotspotDetector,
    RegionLookup,
    lesion_table,
    patient_features,
)
from osteoscan.lesions.trees import Forest
from osteoscan.skeleton import MASS_FRACTION, REGIONS

log = logging.getLogger(__name__)

HGB_PARAMS = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 31,
              "min_samples_leaf": 40, "l2_regularization": 1.0, "early_stopping": False}
"""Hyper-parameters of the hotspot trees (fixed a priori; nothing tuned on the test site)."""


def _tree_X(rec: dict, cols: list[int] | None = None) -> np.ndarray:
    """The first stage's training inputs of a record: the context columns ``cols`` (None:
    all), then its (out-of-fold) ``cnn_p`` when it has one
    (:func:`osteoscan.lesions.patchnet.with_cnn_p`)."""
    X = rec["X"] if cols is None else rec["X"][:, cols]
    if PATCH_FEATURE not in rec:
        return X
    return np.column_stack([X, rec[PATCH_FEATURE]])


def _inputs(rec: dict, key: str, cols: list[int] | None = None) -> np.ndarray:
    """A stage's inputs of a record: the first stage's (``key="X"``, :func:`_tree_X`) or the
    array stored under ``key`` (``"X2"``: the second stage's, :func:`_with_stack`)."""
    return _tree_X(rec, cols) if key == "X" else rec[key]


NEG_KEEP = 0.25
"""Share of the candidates without a malignant lesion (about 98 % of all) that the trees are
fitted on, each weighted 1 / NEG_KEEP: the fit takes a quarter of the time, and the
weights keep the probabilities calibrated in expectation."""


def _subsample(y: np.ndarray, seed: int, keep: float = NEG_KEEP) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit on (every positive, a random ``keep`` of the zeros) and their weights."""
    rng = np.random.default_rng([seed, len(y)])
    rows = np.flatnonzero((y > 0) | (rng.random(len(y)) < keep))
    return rows, np.where(y[rows] > 0, 1.0, 1.0 / keep)


def _fit_trees(records: list[dict], seed: int, params: dict | None = None, key: str = "X",
               cols: list[int] | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = np.concatenate([_inputs(r, key, cols) for r in records])
    y = np.concatenate([r["y"] for r in records])
    rows, w = _subsample(y, seed)
    return HistGradientBoostingClassifier(random_state=seed, **(params or HGB_PARAMS)).fit(
        X[rows], y[rows], sample_weight=w)


def _oof_probs(records: list[dict], seed: int, params: dict | None = None,
               folds: int = 3, key: str = "X", cols: list[int] | None = None
               ) -> list[np.ndarray]:
    """Out-of-fold hotspot probabilities (studies split into folds, the same split for
    every stage) for the next stage and the patient model; ``cols``: the first stage's
    context columns (:func:`_tree_X`)."""
    order = np.random.default_rng(seed).permutation(len(records))
    out: list[np.ndarray] = [np.zeros(0)] * len(records)
    for k in range(folds):
        held = set(order[k::folds].tolist())
        model = _fit_trees([r for i, r in enumerate(records) if i not in held], seed, params, key,
                           cols)
        for i in held:
            X = _inputs(records[i], key, cols)
            out[i] = model.predict_proba(X)[:, 1] if len(X) else np.zeros(0)
    return out


def _with_stack(det: HotspotDetector, records: list[dict], p1: list[np.ndarray]) -> list[dict]:
    """Records with ``X2`` = the context vector and the stack features from ``p1`` (the
    columns ``det``'s second stage takes, :attr:`HotspotDetector.stack_columns`), and with a
    card's ``bsi_features`` ``X2_bsi``, the same for the BSI trees
    (:meth:`HotspotDetector.bsi_inputs`)."""
    out, cols = [], det.stack_columns
    for rec, p in zip(records, p1, strict=True):
        arr = arrays(rec)
        S = det.stack(arr, p, det.codes(arr))[:, cols]
        bsi = ({"X2_bsi": np.hstack([det.bsi_inputs(arr), S])}
               if "bsi_features" in det.card else {})
        out.append({**rec, "X2": np.hstack([det.tree_inputs(arr), S]), **bsi})
    return out


BSI_PARAMS = {"loss": "poisson", "max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 31,
              "min_samples_leaf": 40, "l2_regularization": 1.0, "early_stopping": False}
"""Hyper-parameters of the per-candidate BSI share model (fixed a priori)."""


BSI_DESIGNS = {"stack_bsi": ("share", "all", False), "stack_bsi_area": ("per_area", "all", False),
               "stack_bsi_malarea": ("per_area", "malignant", False),
               "stack_bsi_reach": ("share", "all", True)}
"""The designs with BSI trees: (target, rows, reach) of each (:func:`_fit_bsi_model`;
docs/lesions.md, "Low counts, second look" and "BSI extent (session 8)"): ``stack_bsi`` the
candidate's share on every candidate (a quarter
of the non-malignant ones, weighted); ``stack_bsi_area`` its share per unit of its own area
(area / head length squared, the Poisson exposure: the prediction times the area does not
level off for large lesions as a share read off the area by piecewise-constant trees does);
``stack_bsi_malarea`` the same fitted on the malignant candidates only, the expected share of
a hotspot GIVEN that it is malignant (the called hotspots are taken as malignant, so it is not
shrunk by a probability below 1, as it is at low counts); ``stack_bsi_reach`` as ``stack_bsi``
with the candidate's :data:`osteoscan.lesions.context.REACH_FEATURES` as two more inputs (card
``bsi_reach``; the records must carry ``reach``)."""


def _fit_bsi_model(records: list[dict], probs: list[np.ndarray], seed: int,
                   params: dict | None = None, design: str = "stack_bsi"):
    """Trees (Poisson loss) from the context vector, stack features and the out-of-fold
    probability to each candidate's true BSI share (``bsi_share``,
    :func:`osteoscan.lesions.detector_records.bsi_shares`), as :data:`BSI_DESIGNS` says."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from osteoscan.lesions.patient import bsi_exposure

    target, which, reach = BSI_DESIGNS[design]
    X = np.concatenate([np.hstack([r.get("X2_bsi", r["X2"]),
                                   *([reach_columns(r.get("reach"))] if reach else []),
                                   p[:, None]]) for r, p in zip(records, probs, strict=True)])
    y = np.concatenate([r["bsi_share"] for r in records])
    if which == "malignant":
        rows = np.flatnonzero(np.concatenate([r["y"] for r in records]) > 0)
        w = np.ones(len(rows))
    else:
        rows, w = _subsample(y, seed)
    if target == "per_area":  # Poisson with exposure: rate = share / area, weight x area
        e = np.concatenate([bsi_exposure(r["X"], float(r["head_mm"])) for r in records])[rows]
        y, w = y[rows] / e, w * e
    else:
        y = y[rows]
    return HistGradientBoostingRegressor(random_state=seed, **(params or BSI_PARAMS)).fit(
        X[rows], y, sample_weight=w)


def _patient_matrix(det: HotspotDetector, records, probs) -> np.ndarray:
    rows = []
    for rec, p in zip(records, probs, strict=True):
        arr = arrays(rec)
        codes = det.codes(arr)
        idx, lp = lesion_table(p, arr.group)
        rows.append(patient_features(lp, [REGIONS[int(c)] for c in codes[idx]],
                                     det.card["hotspot_threshold"]))
    return np.array(rows).reshape(-1, len(PATIENT_FEATURES))


def fit_patient(det: HotspotDetector, records, probs, seed: int) -> None:
    from sklearn.linear_model import LogisticRegression

    F = _patient_matrix(det, records, probs)
    mean, scale = F.mean(0), np.maximum(F.std(0), 1e-6)
    lr = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
    lr.fit((F - mean) / scale, [int(r["label"]) for r in records])
    det.card.update(patient_mean=mean.tolist(), patient_scale=scale.tolist(),
                    patient_coef=lr.coef_[0].tolist(), patient_intercept=float(lr.intercept_[0]))


BSI_FACTOR_BOUNDS = (0.5, 2.0)
"""How far a region's fitted BSI weight may move from the BSI definition's own weight."""


def _fit_bsi(det: HotspotDetector, records, probs) -> None:
    """BSI region weights (out-of-fold probabilities on the training studies).

    The BSI definition's weight of a region is MASS_FRACTION[region] / its bone area (the
    median over the training studies, in head lengths squared). One least-squares scale
    brings it to the candidates' areas; then each region's weight may move by a factor
    within :data:`BSI_FACTOR_BOUNDS` (``scipy.optimize.lsq_linear``) to fit the simulator's
    BSI. Unbounded non-negative least squares gave the ribs, sternum and sacrum a weight of 0
    and a lower BSI r on the selection site (0.84 against 0.90, docs/lesions.md)."""
    from scipy.optimize import lsq_linear

    area_col = FEATURES.index("area_mm2")
    F = np.zeros((len(records), len(REGIONS)))
    for k, (rec, p) in enumerate(zip(records, probs, strict=True)):
        arr = arrays(rec)
        codes = det.codes(arr)
        idx, lp = lesion_table(p, arr.group)
        for i, q in zip(idx, lp, strict=True):
            a = arr.X[arr.group == arr.group[i], area_col].max()
            F[k, int(codes[i])] += q * a / arr.head_mm ** 2
    truth = np.array([float(r["bsi"]) for r in records])
    area = np.median(np.array([r["region_area"] for r in records]), axis=0)
    prior = np.array([MASS_FRACTION[n] / area[c] if c and area[c] > 0 else 0.0
                      for c, n in enumerate(REGIONS)])
    scale = float((F @ prior) @ truth / max((F @ prior) @ (F @ prior), 1e-12))
    factor = lsq_linear(F * (scale * prior), truth, bounds=BSI_FACTOR_BOUNDS).x
    det.card["bsi_weights"] = {REGIONS[c]: float(scale * prior[c] * factor[c])
                               for c in range(1, len(REGIONS))}
    det.card["bsi_factors"] = {REGIONS[c]: float(factor[c]) for c in range(1, len(REGIONS))}


def calibrate(det: HotspotDetector, records, sensitivity: float = 0.90,
              probs: list[np.ndarray] | None = None, max_fpr: float | None = None) -> None:
    """Platt scaling of the patient score and the decision threshold, on the select site; with
    ``probs`` (out-of-fold candidate probabilities of ``records``) on those instead. The
    threshold is the one at ``sensitivity``; with ``max_fpr`` it is raised where needed so
    that at most that fraction of the normal studies is called metastatic (the picture
    variant's matched false-positive rate, docs/robustness.md)."""
    from sklearn.linear_model import LogisticRegression

    det.card.update(platt=[1.0, 0.0], decision_threshold=0.5)
    z = []
    for i, rec in enumerate(records):
        arr = arrays(rec)
        score = det.score(arr) if probs is None else (probs[i], det.codes(arr))
        p = det.patient_probability(arr, *score)
        z.append(np.log(p / (1 - p)) if 0 < p < 1 else (30.0 if p >= 1 else -30.0))
    y = np.array([int(r["label"]) for r in records])
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(np.array(z)[:, None], y)
    det.card["platt"] = [float(lr.coef_[0, 0]), float(lr.intercept_[0])]
    cal = lr.predict_proba(np.array(z)[:, None])[:, 1]
    pos = np.sort(cal[y == 1])
    k = int(np.floor((1 - sensitivity) * len(pos)))
    det.card["decision_threshold"] = float(pos[k]) if len(pos) else 0.5
    neg = np.sort(cal[y == 0])[::-1]
    allowed = int(np.floor(max_fpr * len(neg) + 1e-9)) if max_fpr is not None else len(neg)
    if allowed < len(neg):  # just above the (allowed + 1)-th highest normal
        det.card["decision_threshold"] = max(det.card["decision_threshold"],
                                             float(np.nextafter(neg[allowed], 1.0)))
        det.card["max_fpr"] = float(max_fpr)


VARIANTS = ("one_stage", "stack_rule", "stack_bsi")
"""The detector designs :func:`fit_variants` fits together (docs/lesions.md, "Selection"):
one stage with the BSI region rule; two stages with the rule; two stages with the BSI trees."""


def fit_variants(train: list[dict], select: list[dict] | None, *, seed: int = 0,
                 hotspot_threshold: float = 0.5, hgb_params: dict | None = None,
                 variants: tuple[str, ...] = VARIANTS, patch=None,
                 base: HotspotDetector | None = None, bsi_model: Forest | None = None,
                 bsi_extra: list[dict] | None = None,
                 stack_features: tuple[str, ...] | None = None,
                 near_body: float | None = None,
                 context_features: tuple[str, ...] | None = None,
                 bsi_context_features: tuple[str, ...] | None = None
                 ) -> dict[str, HotspotDetector]:
    """Fit the detector designs of :data:`VARIANTS` on one set of trees: the first stage and
    its out-of-fold probabilities serve all three, the second stage both ``stack_*``. Each
    gets its own patient model and BSI on its own out-of-fold probabilities, and is
    calibrated on ``select`` (None: on the training records' out-of-fold probabilities).
    ``hgb_params`` replaces :data:`HGB_PARAMS` (small forests for tests). With ``patch`` (a
    fitted :class:`osteoscan.lesions.patchnet.PatchScorer`) the first stage also takes
    ``cnn_p``: the training records must carry their out-of-fold ``cnn_p``
    (:func:`osteoscan.lesions.patchnet.with_cnn_p`), the selection records their patches.
    With ``base`` (a fitted detector) its first stage and region table are kept, and its
    first-stage probabilities (out of sample: it never saw ``train``) feed the second stage
    fitted here; ``bsi_model`` is kept as the ``stack_bsi`` design's BSI trees instead of
    fitting them (a cohort without BSI truth). ``bsi_extra``: more records for the BSI trees
    only (low-count studies as ``analyze`` sees them, docs/lesions.md "Low counts"), scored by
    this fit's own final stages (out of sample); the other stages never see them.
    ``stack_features``: the second stage's stack columns (a subset of
    :data:`osteoscan.lesions.stacking.STACK_FEATURES`, kept in the card; None: all);
    ``near_body``: the stack's neighbourhood radius (card ``near_body``; None: ``NEAR_BODY``);
    ``context_features``: the context columns the trees take (a subset of :data:`FEATURES`,
    the card's ``features``; None: all); ``bsi_context_features``: the context columns the
    BSI trees take instead (card ``bsi_features``; None: the trees' own)."""
    if patch is not None and not all(PATCH_FEATURE in r for r in train):
        raise ValueError("fit_detector(patch=...): training records need their out-of-fold "
                         "cnn_p (osteoscan.lesions.patchnet.with_cnn_p)")
    params = {**(hgb_params or HGB_PARAMS)}
    card = {"task": "hotspot-first lesion detector", "hotspot_threshold": hotspot_threshold,
            "seed": seed, "hgb_params": params, "train_studies": len(train),
            "select_studies": len(select or ()),
            "storage": "trees as flat node arrays (safetensors), the rest in this JSON; no pickle"}
    if stack_features is not None:
        card["stack_features"] = list(stack_features)
    if near_body is not None:
        card["near_body"] = float(near_body)
    if base is not None and context_features is None:
        context_features = base.context_features  # the kept first stage's columns
    computed = _computed(train)
    _check_columns(computed, FEATURES if context_features is None else context_features,
                   "context_features")
    if context_features is not None:
        card["features"] = list(context_features)
    if bsi_context_features is not None:
        _check_columns(computed, bsi_context_features, "bsi_context_features")
        card["bsi_features"] = list(bsi_context_features)
    if patch is not None:
        card["patch_net"] = {k: patch.card.get(k) for k in ("arch", "arch_kwargs", "training")}
    one, p1 = _first_stage(train, {**card, "design": "one_stage"}, seed, params, patch, base)
    oof, out = {"one_stage": p1}, {"one_stage": one}
    if any(v.startswith("stack") for v in variants):
        train = _with_stack(one, train, p1)
        stage2 = Forest.from_sklearn(_fit_trees(train, seed, params, "X2"))
        oof2 = _oof_probs(train, seed, params, key="X2")
        for name in (v for v in variants if v.startswith("stack")):
            out[name] = HotspotDetector(one.forest, one.regions, {**card, "design": name}, stage2,
                                        patch=patch)
            oof[name] = oof2
    for name, det in ((k, v) for k, v in out.items() if k in variants):
        fit_patient(det, train, oof[name], seed)
        if name == "stack_bsi" and bsi_model is not None:
            det.bsi_model = bsi_model
        elif name in BSI_DESIGNS:
            bsi_params = BSI_PARAMS if hgb_params is None else {**params, "loss": "poisson"}
            extra, extra_p = _bsi_extra(det, bsi_extra or [])
            det.bsi_model = Forest.from_sklearn(_fit_bsi_model(
                train + extra, oof[name] + extra_p, seed, bsi_params, name))
            det.card.update(bsi_params=bsi_params, bsi_extra_studies=len(extra))
            target, rows, reach = BSI_DESIGNS[name]
            if (target, rows) != BSI_DESIGNS["stack_bsi"][:2]:
                det.card.update(bsi_target=target, bsi_rows=rows)
            if reach:
                det.card["bsi_reach"] = list(REACH_FEATURES)
        else:
            _fit_bsi(det, train, oof[name])
        calibrate(det, select if select is not None else train,
                  probs=None if select is not None else oof[name])
    return {k: out[k] for k in variants}


def _computed(train: list[dict]) -> set[str]:
    """The :data:`FEATURES` columns that some record computed (a detector that reads no
    structure column leaves those NaN, :func:`osteoscan.lesions.arrays.study_arrays`); every
    column when there is no candidate to tell."""
    rows = [r["X"] for r in train if len(r["X"])]
    if not rows:
        return set(FEATURES)
    has = np.zeros(len(FEATURES), bool)
    for X in rows:  # record by record: the whole training matrix is hundreds of MB
        has |= ~np.isnan(X).all(axis=0)
    return {n for n, k in zip(FEATURES, has, strict=True) if k}


def _check_columns(computed: set[str], names: tuple[str, ...], what: str) -> None:
    """``names`` must be context columns that the records computed (:func:`_computed`)."""
    unknown = sorted(set(names) - set(FEATURES))
    if unknown:
        raise ValueError(f"{what}: not context features: {unknown}")
    empty = [n for n in names if n not in computed]
    if empty:
        raise ValueError(f"no record has a value in the columns {empty} (a detector that "
                         "reads no structure column leaves those NaN): fit without them "
                         "(context_features)")


def _bsi_extra(det: HotspotDetector, records: list[dict]) -> tuple[list[dict], list[np.ndarray]]:
    """Records for the BSI trees only, with ``X2`` and their second-stage probabilities from
    ``det``'s own final stages (out of sample: ``det`` was not fitted on them)."""
    st = [det.stages(arrays(r)) for r in records]
    return (_with_stack(det, records, [s.get("p1", np.zeros(0)) for s in st]),
            [s["probability"] for s in st])


def _first_stage(train: list[dict], card: dict, seed: int, params: dict, patch,
                 base: HotspotDetector | None) -> tuple[HotspotDetector, list[np.ndarray]]:
    """The one-stage detector and its out-of-fold probabilities on ``train``: fitted here
    (trees on :func:`_tree_X`, region table from the records' ``region``), or ``base``'s
    first stage and region table with its probabilities (out of sample by construction)."""
    if base is not None:
        one = HotspotDetector(base.forest, base.regions, card, patch=base.patch)
        return one, [one.forest.predict_proba(one.tree_inputs(arrays(r))) for r in train]
    cols = ([FEATURES.index(n) for n in card["features"] if n != PATCH_FEATURE]
            if "features" in card else None)  # the card's context columns
    one = HotspotDetector(Forest.from_sklearn(_fit_trees(train, seed, params, cols=cols)),
                          RegionLookup.from_records(train), card, patch=patch)
    return one, _oof_probs(train, seed, params, cols=cols)


def fit_detector(train: list[dict], select: list[dict], *, seed: int = 0,
                 hotspot_threshold: float = 0.5, hgb_params: dict | None = None,
                 design: str = "stack_bsi", patch=None,
                 bsi_extra: list[dict] | None = None,
                 stack_features: tuple[str, ...] | None = None,
                 context_features: tuple[str, ...] | None = None,
                 bsi_context_features: tuple[str, ...] | None = None) -> HotspotDetector:
    """Fit every part of the detector of one design (:data:`VARIANTS`; module docstring);
    ``patch``, ``bsi_extra``, ``stack_features``, ``context_features``,
    ``bsi_context_features``: :func:`fit_variants`."""
    return fit_variants(train, select, seed=seed, hotspot_threshold=hotspot_threshold,
                        hgb_params=hgb_params, variants=(design,), patch=patch,
                        bsi_extra=bsi_extra, stack_features=stack_features,
                        context_features=context_features,
                        bsi_context_features=bsi_context_features)[design]
