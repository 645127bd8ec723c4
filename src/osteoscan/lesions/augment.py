"""Training augmentation of the hotspot detector's studies (``bench_detector --n-augmented``).

:func:`augment_scan` renders a simulated study as another camera would record it (``camera``:
blur and binomial thinning), as it reaches a reader as a screen export (``screen``: thinning,
and for half of the studies the inverted 8-bit round trip of :func:`screen_round_trip`), or as
a short, low-count acquisition (``lowcount``: thinned to a total drawn in
:data:`LOW_COUNTS`), or as its screen export alone (``export``: every study through
:func:`screen_round_trip`, counts unchanged; the picture-domain detector's training studies,
docs/robustness.md, "The picture-domain detector"). The lesion masks stay on the scan's
grid, so the truth of the record is unchanged (docs/robustness.md, "Training on screen
exports: tried"; docs/lesions.md, "Augmented training").
"""

from __future__ import annotations

import numpy as np

MODES = ("camera", "screen", "lowcount", "export")
"""The augmentation modes of :func:`augment_scan`."""
STUDY_MODES = ("capture",)
"""Training modes that redraw the whole study, truth included, not only its scan
(:func:`osteoscan.lesions.capture_trip.capture_round_trip`)."""

LOW_COUNTS = (0.2e6, 0.5e6)
"""Anterior total counts a ``lowcount`` study is thinned to (uniform): the low end of the
issue's camera range (0.2-3 M counts), where the detector's count band smooths a study
before its candidates are found (:func:`osteoscan.lesions.candidates.count_normalised`)."""


def augment_scan(scan, rng: np.random.Generator, mode: str = "camera", bone_mask=None):
    """Training augmentation of one scan, lesion masks unchanged.

    ``camera``: extra blur (sigma 0-1.5 px) and binomial thinning to 30-90 % of the counts (a
    shorter acquisition, another camera). ``screen``: thinning to 30-90 % (no blur), then for
    one study in two the :func:`screen_round_trip` (needs ``bone_mask``). ``lowcount``: both
    views thinned by one factor so that the anterior view keeps a total drawn uniformly in
    :data:`LOW_COUNTS` (a study already below the draw is left as it is). ``export``: the
    :func:`screen_round_trip` of every study, nothing else."""
    from dataclasses import replace

    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.preprocessing.intensity import smooth

    if mode not in MODES:
        raise ValueError(f"augment mode {mode!r}: use {', '.join(MODES)}")
    if mode == "export":
        return screen_round_trip(scan, bone_mask)
    sigma = rng.uniform(0.0, 1.5) if mode == "camera" else 0.0
    if mode == "lowcount":
        total = float(np.sum(scan.anterior if scan.anterior is not None else scan.posterior))
        keep = min(1.0, rng.uniform(*LOW_COUNTS) / max(total, 1.0))
    else:
        keep = rng.uniform(0.3, 0.9)

    def one(img):
        if img is None:
            return None
        x = np.asarray(img, np.float32)
        x = smooth(x, sigma) if sigma > 0.3 else x
        if keep >= 1.0:
            return x
        return thin_counts(np.round(x), keep, rng).astype(np.float32)

    out = replace(scan, anterior=one(scan.anterior), posterior=one(scan.posterior))
    return screen_round_trip(out, bone_mask) if mode == "screen" and rng.random() < 0.5 else out


def screen_round_trip(scan, bone_mask):
    """The scan as an inverted 8-bit screen export read back: each view windowed at
    :func:`osteoscan.simulate.gallery.display_max` (1.7 x the 90th bone percentile, as
    :func:`osteoscan.simulate.variants.screen_export`), clipped, quantised to 8 bits and
    inverted, then read as the picture reader reads 8-bit grey (display values 0-255, dark
    uptake back to bright) with no pixel size (estimated downstream) and the picture reader's
    source format ``"image"``, so that the detector treats it as :func:`scan_from_picture`'s
    scans (``osteoscan.lesions.candidates.is_picture``). Written here rather
    than through ``scan_from_picture`` because the reader crops to the body and the lesion
    masks must stay on the scan's grid."""
    from dataclasses import replace

    from osteoscan.simulate.gallery import display_max

    def one(img):
        if img is None:
            return None
        x = np.asarray(img, np.float32)
        grey = np.rint(255.0 - 255.0 * np.clip(x / max(display_max(x, bone_mask), 1e-6), 0, 1))
        return 255.0 - grey.astype(np.uint8).astype(np.float32)

    source = replace(scan.source, format="image")
    return replace(scan, anterior=one(scan.anterior), posterior=one(scan.posterior),
                   spacing_mm=None, source=source)
