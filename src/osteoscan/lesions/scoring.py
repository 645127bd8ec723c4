"""Scoring a lesion stage on studies with ground truth (``osteoscan lesions evaluate``), and two
stages paired on the same studies (``benchmarks/bench_foreign.py``).

Either kind of stage is scored the same way: the hotspot-first detector (the bundled default,
what ``Predictor.default()`` attaches) or the three lesion networks (``LesionAnalyzer``).
The figures (docs/lesions.md, "Evaluating a lesion stage on your own cohort"):

* ``patient``: AUC with its DeLong CI, specificity at sensitivity 0.90 with a bootstrap CI;
* ``froc_metastasis``: the FROC of the malignant lesions (the hit rule of
  :mod:`osteoscan.evaluation.lesions`; each hotspot scored by its P(malignant); a hotspot on a
  benign lesion is neither a true nor a false positive), with ``froc_metastasis_ci``, the
  patient-bootstrap CIs of its CPM and of the sensitivity at 1 false positive per scan;
* ``normals``: malignant lesions called on normal studies (median, % with 2 or more);
* ``called``: sensitivity and specificity of the stage's own call (a study with at least one
  lesion called malignant; the detector calls one exactly when its probability reaches the
  card's decision threshold), with Wilson CIs;
* ``bsi``: agreement with the reference BSI when every study has one (Pearson r with its
  Fisher CI, Bland-Altman bias and limits, MAE).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass

import numpy as np

from osteoscan.evaluation.lesions import (
    LesionMatch,
    bsi_agreement,
    froc_score,
    lesion_confusion_matrix,
    match_lesions,
    normal_burden,
    patient_level,
)
from osteoscan.evaluation.metrics import weighted_auc, weighted_pearson
from osteoscan.evaluation.statistics import (
    auc_ci,
    bootstrap_block,
    delong_roc_test,
    pearson_ci,
    proportion_ci,
)
from osteoscan.lesions.analyzer import LesionAnalyzer, LesionResult
from osteoscan.lesions.burden import patient_probability
from osteoscan.lesions.studies import LesionStudy
from osteoscan.lesions.training import classifier_samples

N_BOOT = 1000
"""Patient-bootstrap replicates of every CI here."""


@dataclass(frozen=True, eq=False)
class Outcome:
    """One study's answer from a lesion stage, matched to its truth (no masks or pixels are
    kept: a cohort of hundreds of studies holds its outcomes in a few megabytes)."""

    patient_id: str
    y: int
    probability: float
    bsi: float
    malignant: int
    max_probability: float
    threshold: float
    bsi_true: float | None
    detection: LesionMatch
    metastasis: LesionMatch
    classified: LesionMatch
    seconds: float


def study_label(study: LesionStudy) -> int:
    """1 for a metastatic study: a malignant lesion, or a study label naming metastasis
    (``metastasis``, ``metastatic``; not ``no_metastasis`` or ``non-metastatic``)."""
    label = str(study.meta.get("label") or "").lower().replace("-", "_").replace(" ", "_")
    named = "metast" in label and not label.startswith(("no_", "non_", "nonmetast"))
    return int("malignant" in study.lesion_labels.values() or named)


def stacked_masks(result: LesionResult, study: LesionStudy, malignant_only: bool,
                  score: str = "auto", truth: np.ndarray | None = None):
    """Stacked (views, rows, cols) predicted ids and truth ids, plus scores: the malignancy
    probability for metastases (or ``score="probability"``), else the detector's mean
    probability. ``truth``: the study's masks already stacked in view order (one stack
    serves every call on a study)."""
    views = list(study.lesion_masks)
    if truth is None:
        truth = np.stack([study.lesion_masks[v] for v in views])
    benign = [k for k, lab in study.lesion_labels.items() if lab != "malignant"]
    pred = np.zeros(truth.shape, dtype=np.int32)
    scores = []
    for h in result.hotspots:
        if h.view not in views:
            continue
        k = views.index(h.view)
        if malignant_only and np.isin(truth[k][h.mask], benign).any():
            continue  # a hotspot on a benign lesion is neither TP nor FP for metastases
        use_p = malignant_only or score == "probability"
        scores.append(h.probability if use_p else h.features.get("mean_prob", h.probability))
        pred[k][h.mask & (pred[k] == 0)] = len(scores)
    if malignant_only:
        truth = np.where(np.isin(truth, benign), 0, truth)
    return pred, np.asarray(scores), truth


def outcome(analyzer, study: LesionStudy) -> Outcome:
    """Run the stage on one study and match its hotspots to the truth."""
    t0 = time.perf_counter()
    r = analyzer.analyze(study.scan)
    seconds = time.perf_counter() - t0
    truth = np.stack([study.lesion_masks[v] for v in study.lesion_masks])
    return Outcome(
        patient_id=study.patient_id, y=study_label(study), probability=r.probability, bsi=r.bsi,
        malignant=r.malignant_count, max_probability=patient_probability(r.by_view, "max"),
        threshold=r.threshold, bsi_true=study.bsi,
        detection=match_lesions(*stacked_masks(r, study, False, truth=truth)),
        metastasis=match_lesions(*stacked_masks(r, study, True, truth=truth)),
        classified=match_lesions(*stacked_masks(r, study, False, "probability", truth)),
        seconds=seconds)


def outcomes(analyzer, studies: Iterable[LesionStudy],
             progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """:func:`outcome` of each study (``studies`` may be a generator: one study in memory at
    a time)."""
    out = []
    total = len(studies) if isinstance(studies, Sized) else 0
    for i, st in enumerate(studies):
        out.append(outcome(analyzer, st))
        if progress:
            progress(i + 1, total)
    return out


def _froc_statistic(matches: list[LesionMatch]):
    """CPM and sensitivity at 1 FP per scan under each row of bootstrap weights (NaN for a
    replicate without a true lesion)."""
    n_lesions = np.array([len(m.lesion_ids) for m in matches])

    def one(row: np.ndarray) -> dict[str, float]:
        if np.dot(row, n_lesions) == 0:
            return {"cpm": np.nan, "sens@1": np.nan}
        return froc_score(matches, weights=row)

    def statistic(w: np.ndarray) -> dict[str, np.ndarray]:
        rows = [one(row) for row in w]
        return {"cpm": np.array([r["cpm"] for r in rows]),
                "sens@1": np.array([r["sens@1"] for r in rows])}
    return statistic


def _called(called: Sequence[bool], y: np.ndarray) -> dict:
    called = np.asarray(called, bool)
    out = {}
    for name, rows, hit in (("sensitivity", y == 1, called), ("specificity", y == 0, ~called)):
        k, n = int(hit[rows].sum()), int(rows.sum())
        out[name] = {"value": k / n if n else float("nan"), "ci": list(proportion_ci(k, n)) if n else None,
                     "k": k, "n": n}
    return out


def figures(outs: Sequence[Outcome], *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """The module docstring's figures for one stage."""
    y = np.array([o.y for o in outs])
    prob = np.array([o.probability for o in outs])
    pid = np.array([o.patient_id for o in outs])
    met = [o.metastasis for o in outs]
    out: dict = {"studies": len(outs), "patients": int(len(np.unique(pid))),
                 "metastatic": int(y.sum())}
    out["patient"] = patient_level(y, prob, n_boot=n_boot, seed=seed) if 0 < y.sum() < len(y) else None
    if sum(len(m.lesion_ids) for m in met):
        out["froc_metastasis"] = froc_score(met)
        ci = bootstrap_block(_froc_statistic(met), pid, n_boot=n_boot, seed=seed)
        out["froc_metastasis_ci"] = {k: [b["ci_low"], b["ci_high"]] for k, b in ci.items()}
    out["normals"] = normal_burden([o.malignant for o in outs], y)
    out["called"] = _called([o.malignant > 0 for o in outs], y)
    truth = [o.bsi_true for o in outs]
    if outs and None not in truth:
        bsi = [o.bsi for o in outs]
        out["bsi"] = {**bsi_agreement(bsi, truth), "pearson_r_ci": pearson_ci(bsi, truth)}
    return out


def _confusion(outs: Sequence[Outcome], studies: Sequence[LesionStudy], threshold: float
               ) -> np.ndarray:
    truth, pred = [], []
    for o, st in zip(outs, studies, strict=True):
        m = o.classified
        for lid, score in zip(m.lesion_ids, m.lesion_scores, strict=True):
            truth.append(st.lesion_labels.get(int(lid), "benign"))
            pred.append("none" if not np.isfinite(score) else
                        "malignant" if score >= threshold else "benign")
        for score in m.fp_scores:
            truth.append("none")
            pred.append("malignant" if score >= threshold else "benign")
    return lesion_confusion_matrix(truth, pred)


def _auc(y, p) -> dict:
    """AUC with its DeLong CI in the evaluation package's one result shape."""
    return auc_ci(np.asarray(y), np.asarray(p, float), method="delong")


def evaluate(analyzer, studies: Sequence[LesionStudy], *,
             image_probabilities: Sequence[float] | None = None, n_boot: int = N_BOOT,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Every figure of one stage on studies with ground truth (docs/lesions.md lists them)."""
    outs = outcomes(analyzer, studies, progress)
    y = [o.y for o in outs]
    thr = outs[0].threshold if outs else 0.5
    out = {**figures(outs, n_boot=n_boot),
           "stage": "networks" if isinstance(analyzer, LesionAnalyzer) else "detector",
           "froc_detection": froc_score([o.detection for o in outs]),
           "lesion_confusion": {"labels": ["benign", "malignant", "none"],
                                "matrix": _confusion(outs, studies, thr).tolist()},
           "lesion_auc_delineated": None,
           "patient_auc_lesions": _auc(y, [o.probability for o in outs]),
           "patient_auc_lesions_max": _auc(y, [o.max_probability for o in outs]),
           "patient_auc_bsi": _auc(y, [o.bsi for o in outs]),
           "seconds_per_study": float(np.mean([o.seconds for o in outs]))}
    if isinstance(analyzer, LesionAnalyzer):  # the networks' classifier on the drawn outlines
        samples = classifier_samples(studies)
        out["lesion_auc_delineated"] = _auc(samples["y"], analyzer.classifier.predict_arrays(samples))
    if image_probabilities is not None:
        out["patient_auc_image"] = _auc(y, image_probabilities)
    return out


def paired(a: Sequence[Outcome], b: Sequence[Outcome], *, n_boot: int = N_BOOT, seed: int = 0
           ) -> dict:
    """``a`` minus ``b`` on the same studies, each difference with its patient-bootstrap 95 % CI
    (the same replicates for both stages), and the paired DeLong test of the two AUCs."""
    if [o.patient_id for o in a] != [o.patient_id for o in b]:
        raise ValueError("paired stages must be scored on the same studies, in the same order")
    y = np.array([o.y for o in a])
    pa, pb = (np.array([o.probability for o in s]) for s in (a, b))
    fa, fb = _froc_statistic([o.metastasis for o in a]), _froc_statistic([o.metastasis for o in b])
    has_bsi = None not in [o.bsi_true for o in a]
    truth = np.array([o.bsi_true or 0.0 for o in a])
    ba, bb = (np.array([o.bsi for o in s]) for s in (a, b))

    def statistic(w):
        out = {"auc": weighted_auc(y == 1, pa, w) - weighted_auc(y == 1, pb, w)}
        ra, rb = fa(w), fb(w)
        out.update({k: ra[k] - rb[k] for k in ra})
        if has_bsi:
            out["bsi_r"] = weighted_pearson(ba, truth, w) - weighted_pearson(bb, truth, w)
            s = w.sum(1)
            out["bsi_mae"] = ((w * np.abs(ba - truth)).sum(1) - (w * np.abs(bb - truth)).sum(1)) / s
        return out

    blocks = bootstrap_block(statistic, np.array([o.patient_id for o in a]), n_boot=n_boot, seed=seed)
    diff = {k: {"value": v["value"], "ci": [v["ci_low"], v["ci_high"]]} for k, v in blocks.items()}
    diff["auc"]["delong"] = delong_roc_test(y == 1, pa, pb)
    return diff
