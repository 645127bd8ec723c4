"""Tell an anterior from a posterior whole-body view by anatomy, when no tag says which.

Why by hand: no library implements this; it is a few vectorised array reductions.

The rule compares two views of the same patient (it never looks at frame order):

* posterior: the thoraco-lumbar spine and the kidneys lie close to the back, so a midline
  band of the lower trunk is bright relative to the lateral trunk;
* anterior: the bladder (and the sternum) lie close to the front, so the pelvic midline is
  bright relative to the lower trunk.

Both features are measured symmetrically about the body's midline, so they do not depend
on whether a view is mirrored. Positions are fractions of the body's height (head at row 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from osteoscan.arrays import block_mean, percentile

_BLOCK = 4  # block-average factor: removes Poisson noise and makes the rule cheap
_BACK_ROWS = (0.30, 0.46)  # lower thoracic + lumbar spine and kidneys (fraction of body height)
_PELVIS_ROWS = (0.46, 0.60)  # bladder region
_BACK_HALF_BAND = 0.18  # half width of the spine/kidney band, fraction of trunk width
_PELVIS_HALF_BAND = 0.15
PIXEL_RULE_MAX_CONFIDENCE = 0.75
"""Highest confidence the pixel rule gives (below keywords, 0.85, and view codes, 1.0)."""


@dataclass(frozen=True)
class ViewFeatures:
    """Anatomical contrasts of one view (dimensionless ratios).

    Attributes:
        back: mean of the lower-trunk midline band over the mean of the lateral lower trunk.
        pelvis: 98th percentile of the pelvic midline band over the lower-trunk midline mean.
        ok: False when the body could not be found (empty or flat image).
    """

    back: float
    pelvis: float
    ok: bool = True


def _block_mean(img: np.ndarray) -> np.ndarray:
    if min(img.shape) < 4 * _BLOCK:
        return img.astype(np.float32)
    return block_mean(img, _BLOCK, _BLOCK, crop=True)


def view_features(img: np.ndarray) -> ViewFeatures:
    """Measure the spine/kidney and bladder contrasts of one whole-body view.

    Args:
        img: (rows, cols) counts, head at row 0 (either left-right orientation).

    Returns:
        The features; ``ok`` is False for an empty or featureless image.
    """
    small = _block_mean(img)
    top = percentile(small, 99.5) if small.size else 0.0
    if top <= 0:
        return ViewFeatures(1.0, 1.0, ok=False)
    mask = small > 0.05 * top
    body_rows = np.flatnonzero(mask.sum(axis=1) >= 2)
    if body_rows.size < 8:
        return ViewFeatures(1.0, 1.0, ok=False)
    r0, height = body_rows[0], body_rows[-1] - body_rows[0] + 1
    back = small[r0 + int(_BACK_ROWS[0] * height) : r0 + int(_BACK_ROWS[1] * height) + 1]
    pelvis = small[r0 + int(_PELVIS_ROWS[0] * height) : r0 + int(_PELVIS_ROWS[1] * height) + 1]
    back_mask = back > 0.05 * top
    cols = np.arange(small.shape[1], dtype=np.float32)
    weight = back.sum(axis=0)
    mid = float((weight * cols).sum() / max(float(weight.sum()), 1e-6))
    width = max(float(np.median(back_mask.sum(axis=1))), 2.0)
    in_band = np.abs(cols - mid) <= max(_BACK_HALF_BAND * width, 1.0)
    band_mean = float(back[:, in_band].mean()) + 1e-6
    lateral = back[:, ~in_band][back_mask[:, ~in_band]]
    lateral_mean = float(lateral.mean()) + 1e-6 if lateral.size else band_mean
    pel_band = np.abs(cols - mid) <= max(_PELVIS_HALF_BAND * width, 1.0)
    pel = pelvis[:, pel_band]
    pel_high = percentile(pel, 98) + 1e-6 if pel.size else band_mean
    return ViewFeatures(back=band_mean / lateral_mean, pelvis=pel_high / band_mean)


def posterior_margin(a: ViewFeatures, b: ViewFeatures) -> float:
    """Log-evidence that view ``a`` is the posterior and ``b`` the anterior.

    Positive: ``a`` is posterior. The magnitude grows with the anatomical contrast.

    Args:
        a: features of the first view.
        b: features of the second view.

    Returns:
        ``log(back_a / back_b) - log(pelvis_a / pelvis_b)``.
    """
    return math.log(a.back / b.back) - math.log(a.pelvis / b.pelvis)


def margin_confidence(margin: float) -> float:
    """Map a pixel-rule margin to a confidence in 0.5..PIXEL_RULE_MAX_CONFIDENCE.

    Args:
        margin: the output of :func:`posterior_margin`.

    Returns:
        0.5 for a coin flip, approaching the maximum for clear anatomy.
    """
    return 0.5 + (PIXEL_RULE_MAX_CONFIDENCE - 0.5) * math.tanh(abs(margin) / 0.3)


def decide_posterior(first: np.ndarray, second: np.ndarray) -> tuple[int, float, str]:
    """Decide which of two views of one patient is the posterior.

    Args:
        first: (rows, cols) counts of one view.
        second: (rows, cols) counts of the other view.

    Returns:
        (index of the posterior view, 0 or 1; confidence; a sentence of evidence).
    """
    fa, fb = view_features(first), view_features(second)
    if not (fa.ok and fb.ok):
        return 1, 0.5, "pixel rule could not find the body; guessed (confidence 0.5)"
    margin = posterior_margin(fa, fb)
    post = 0 if margin > 0 else 1
    detail = (
        f"pixel rule: spine/kidney band contrast {fa.back:.2f} vs {fb.back:.2f}, "
        f"pelvic midline (bladder) contrast {fa.pelvis:.2f} vs {fb.pelvis:.2f}; "
        f"margin {margin:+.2f}"
    )
    return post, margin_confidence(margin), detail
