"""End-to-end helpers: simulate training data, train the three lesion models, evaluate.

Used by ``osteoscan lesions train/evaluate`` and ``benchmarks/bench_lesions.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from osteoscan.evaluation.lesions import (
    bsi_agreement,
    froc_score,
    lesion_confusion_matrix,
    match_lesions,
)
from osteoscan.lesions.analyzer import BUNDLED, LesionAnalyzer, LesionResult
from osteoscan.lesions.bundle import ASSETS
from osteoscan.lesions.burden import patient_probability
from osteoscan.lesions.regions import RegionSegmenter
from osteoscan.lesions.studies import LesionStudy, from_simulated
from osteoscan.lesions.training import (
    classifier_samples,
    fit_classifier,
    train_regions,
    train_segmenter,
)

log = logging.getLogger(__name__)

FINE_TUNE_CLF_LR = 1e-4
"""Learning rate of the lesion classifier when it continues the bundled one (a tenth of
:func:`fit_classifier`'s 1e-3): decided on simulated cohorts of ``profile_14`` (seeds 950000-950099,
never reported), docs/lesions.md "Fine-tuning rule"."""


def simulate_studies(n: int, seed: int = 0, *, sites: Sequence[str] = ("site_a",),
                     difficulty: str | float = "default", prevalence_metastasis: float = 0.6,
                     ) -> list[LesionStudy]:
    """``n`` simulated studies (seeds ``seed..seed+n-1``, sites in turn) as LesionStudy.

    About ``prevalence_metastasis`` of them are forced metastatic so every cohort has lesions.
    """
    from osteoscan.simulate.study import simulate_study

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = "metastasis" if rng.random() < prevalence_metastasis else "normal"
        sim = simulate_study(seed + i, site=sites[i % len(sites)], difficulty=difficulty,
                             force_label=label)
        out.append(from_simulated(sim))
    return out


def fit_stage(studies: Sequence[LesionStudy], *, init: LesionAnalyzer | None = None,
              seg_epochs: int = 12, region_epochs: int = 12, clf_epochs: int = 15,
              tiny: bool = False, seg_channels=(8, 16, 32, 64), region_channels=(8, 16, 32, 64),
              region_shape=(256, 64), seed: int = 0,
              progress: Callable[[str, int, int, float], None] | None = None) -> LesionAnalyzer:
    """Train hotspot U-Net, region U-Net and lesion classifier through the one training loop.

    ``init=None`` starts from scratch (``tiny``: very small networks at 128 x 32, for smoke
    runs); ``init`` (e.g. ``LesionAnalyzer.default()``, the bundled models) continues its
    networks instead, in place, with the same epochs (0 keeps a network as it is) and learning
    rates, except the classifier's: it continues at :data:`FINE_TUNE_CLF_LR`, a tenth, so that a
    small cohort's few lesions adjust the warm-started classifier rather than overwrite it. The
    region network is trained only on studies with region maps; without any, the bundled one
    (or ``init``'s) is kept. The classifier learns the annotated lesions and, as label 0, the
    trained detector's false positives at its own threshold: the candidates the stage meets.
    """
    def cb(name):
        return (lambda e, n, loss: progress(name, e, n, loss)) if progress else None

    chans = {"work_shape": (128, 32)} if tiny else {"channels": seg_channels}
    if init is not None and seg_epochs == 0:
        seg = init.segmenter
    else:
        seg = train_segmenter(studies, epochs=seg_epochs, seed=seed, tiny=tiny, progress=cb("hotspots"),
                              init=None if init is None else init.segmenter, **chans)
    rchans = {} if tiny else {"channels": region_channels}
    if any(st.region_maps for st in studies) and (init is None or region_epochs > 0):
        reg = train_regions(studies, epochs=region_epochs, seed=seed, tiny=tiny,
                            work_shape=(128, 32) if tiny else region_shape, progress=cb("regions"),
                            init=None if init is None else init.regions, **rchans)
    else:  # real annotations rarely come with region maps: keep the bundled region network
        log.info("no region maps in the training data: keeping the bundled region network")
        reg = init.regions if init is not None else RegionSegmenter.load(ASSETS / BUNDLED["regions"])
    samples = classifier_samples(studies, segmenter=seg, regions=reg, fp_threshold=None)
    clf = fit_classifier(samples, epochs=clf_epochs, seed=seed, progress=cb("classifier"),
                         width=4 if tiny else 16, init=None if init is None else init.classifier,
                         **({} if init is None else {"lr": FINE_TUNE_CLF_LR}))
    clf.card["training"]["data"] = f"{len(studies)} studies" + ("" if init is None else ", fine-tuned")
    return LesionAnalyzer(seg, reg, clf)


def save_stage(analyzer: LesionAnalyzer, out: str | Path) -> Path:
    """Write the three networks under ``out`` (stems of :data:`BUNDLED`; ``LesionAnalyzer.load``
    and ``osteoscan analyze --lesion-models`` read the folder)."""
    out = Path(out)
    analyzer.segmenter.save(out / BUNDLED["segmenter"])
    analyzer.regions.save(out / BUNDLED["regions"])
    analyzer.classifier.save(out / BUNDLED["classifier"])
    return out


def train_all(studies: Sequence[LesionStudy], out: str | Path, **kwargs) -> LesionAnalyzer:
    """:func:`fit_stage` (same keywords) and :func:`save_stage` under ``out``.

    Returns:
        The analyzer built from the three trained models.
    """
    analyzer = fit_stage(studies, **kwargs)
    save_stage(analyzer, out)
    return analyzer


def stacked_masks(result: LesionResult, study: LesionStudy, malignant_only: bool,
                  score: str = "auto"):
    """Stacked (views, rows, cols) predicted ids and truth ids, plus scores: the malignancy
    probability for metastases (or ``score="probability"``), else the detector's mean
    probability."""
    views = list(study.lesion_masks)
    truth = np.stack([study.lesion_masks[v] for v in views])
    benign = [k for k, lab in study.lesion_labels.items() if lab != "malignant"]
    pred = np.zeros(truth.shape, dtype=np.int32)
    scores = []
    for h in result.hotspots:
        k = views.index(h.view)
        if malignant_only and np.isin(truth[k][h.mask], benign).any():
            continue  # a hotspot on a benign lesion is neither TP nor FP for metastases
        use_p = malignant_only or score == "probability"
        scores.append(h.probability if use_p else h.features.get("mean_prob", h.probability))
        pred[k][h.mask & (pred[k] == 0)] = len(scores)
    if malignant_only:
        truth = np.where(np.isin(truth, benign), 0, truth)
    return pred, np.asarray(scores), truth


def _confusion(matches, results, studies, threshold: float) -> np.ndarray:
    truth, pred = [], []
    for m, st in zip(matches, studies, strict=True):
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
    from osteoscan.evaluation.statistics import auc_ci

    return auc_ci(np.asarray(y), np.asarray(p, float), method="delong")


def evaluate(analyzer: LesionAnalyzer, studies: Sequence[LesionStudy], *,
             image_probabilities: Sequence[float] | None = None) -> dict:
    """Lesion-stage metrics on studies with ground truth (docs/lesions.md lists them)."""
    results, seconds = [], []
    for st in studies:
        t0 = time.perf_counter()
        results.append(analyzer.analyze(st.scan))
        seconds.append(time.perf_counter() - t0)
    det = [match_lesions(*stacked_masks(r, s, False))
           for r, s in zip(results, studies, strict=True)]
    cls = [match_lesions(*stacked_masks(r, s, False, score="probability"))
           for r, s in zip(results, studies, strict=True)]
    met = [match_lesions(*stacked_masks(r, s, True)) for r, s in zip(results, studies, strict=True)]
    thr = results[0].threshold if results else 0.5
    y_patient = [int(any(v == "malignant" for v in s.lesion_labels.values())) for s in studies]
    samples = classifier_samples(studies)
    out = {
        "studies": len(studies),
        "froc_detection": froc_score(det),
        "froc_metastasis": froc_score(met),
        "lesion_confusion": {"labels": ["benign", "malignant", "none"],
                             "matrix": _confusion(cls, results, studies, thr).tolist()},
        "lesion_auc_delineated": _auc(samples["y"], analyzer.classifier.predict_arrays(samples)),
        "bsi": bsi_agreement([r.bsi for r in results], [s.bsi for s in studies]),
        "patient_auc_lesions": _auc(y_patient, [r.probability for r in results]),
        "patient_auc_lesions_max": _auc(y_patient, [patient_probability(r.by_view, "max") for r in results]),
        "patient_auc_bsi": _auc(y_patient, [r.bsi for r in results]),
        "seconds_per_study": float(np.mean(seconds)),
    }
    if image_probabilities is not None:
        out["patient_auc_image"] = _auc(y_patient, image_probabilities)
    return out
