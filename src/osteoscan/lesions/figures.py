"""The figures a lesion model card states, recomputed from a model and held-out studies.

One function per bundled network, each returning ``{name: {value, ci_low, ci_high, method,
n, n_patients}}`` (the result shape of :mod:`osteoscan.evaluation`), CIs from the patient
bootstrap of ``osteoscan.evaluation.statistics`` (every study of a drawn patient comes along):

* hotspot U-Net: pooled pixel Dice of ``probability >= card threshold`` against the true
  lesion masks (both views);
* region U-Net: accuracy on the true bone pixels (region code > 0);
* lesion classifier: AUC on the delineated true lesions (true masks and region maps), so it
  measures the classifier alone, not the detector in front of it.

``scripts/build_models.py`` writes them into the cards; ``benchmarks/bench_cards.py`` and
``tests/lesions/test_lesion_cards.py`` recompute them from the shipped weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteoscan.evaluation.statistics import auc_ci, bootstrap_block

N_BOOT = 1000
"""Bootstrap replicates of a card figure."""


def _ratio(name: str, num: np.ndarray, den: np.ndarray):
    num, den = np.asarray(num, float), np.asarray(den, float)
    return lambda w: {name: (w @ num) / np.maximum(w @ den, 1e-12)}


def hotspot_figures(segmenter, studies: Sequence, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Pooled pixel Dice of the hotspot network at its card threshold, per-study resampled."""
    thr = float(segmenter.card.get("threshold", 0.5))
    inter, total = [], []
    for st in studies:
        i = t = 0.0
        for view, prob in segmenter.predict(st.scan).items():
            pred, truth = prob >= thr, st.lesion_masks[view] > 0
            i += float((pred & truth).sum())
            t += float(pred.sum() + truth.sum())
        inter.append(2 * i)
        total.append(t)
    return bootstrap_block(_ratio("pixel_dice", inter, total), _patients(studies), n_boot=n_boot,
                           seed=seed)


def region_figures(regions, studies: Sequence, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Accuracy of the region network on the true bone pixels, per-study resampled."""
    usable = [st for st in studies if st.region_maps]
    right, bone = [], []
    for st in usable:
        r = b = 0.0
        for view, pred in regions.predict(st.scan).items():
            truth = st.region_maps[view]
            r += float(((pred == truth) & (truth > 0)).sum())
            b += float((truth > 0).sum())
        right.append(r)
        bone.append(b)
    return bootstrap_block(_ratio("bone_pixel_accuracy", right, bone), _patients(usable),
                           n_boot=n_boot, seed=seed)


def classifier_figures(classifier, studies: Sequence, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """AUC of the lesion classifier on the delineated true lesions, patients resampled."""
    from osteoscan.lesions.training import classifier_samples

    samples = classifier_samples(studies)
    p = classifier.predict_arrays(samples)
    return {"lesion_auc": auc_ci(samples["y"], p, samples["patient"], n_boot=n_boot, seed=seed)}


def _patients(studies: Sequence) -> np.ndarray:
    return np.asarray([st.patient_id for st in studies], dtype=str)


FIGURES = {"hotspot_unet": hotspot_figures, "region_unet": region_figures,
           "lesion_classifier": classifier_figures}
"""Bundled model stem -> the function computing its card figures."""
