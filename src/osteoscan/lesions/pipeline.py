"""End-to-end helpers: simulate training data, train the three lesion models (scoring a
stage: :mod:`osteoscan.lesions.scoring`).

Used by ``osteoscan lesions train/evaluate`` and ``benchmarks/bench_lesions.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from osteoscan.lesions.analyzer import BUNDLED, LesionAnalyzer
from osteoscan.lesions.bundle import ASSETS
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
