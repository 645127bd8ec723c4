"""Training-time augmentation; every function takes an explicit ``np.random.Generator``.

* :func:`thin_counts` -- binomial thinning of counts: each detected count is kept with
  probability ``keep``, which is exactly what a shorter (or lower-dose) acquisition of the
  same distribution would have recorded. Applied to raw counts, before normalisation.
* :func:`rotate_translate` -- the published parametric augmentation: a random rotation
  within +/- ``max_deg`` degrees about the image centre and a translation within
  +/- ``max_px`` pixels, one affine resampling for all channels.
* :func:`flip_lr` -- left-right flip of all channels together. Valid because study labels
  (metastasis yes/no, primary tumour) do not depend on the side; both views are flipped
  together so the posterior stays aligned with the anterior.
* :func:`scale_intensity` -- multiply by a random factor (camera sensitivity, display gain).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def thin_counts(counts: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    """Binomially thin integer counts: each count survives with probability ``keep``.

    Non-integer inputs are rounded first (counts from readers are integers stored as float).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> out = thin_counts(np.full((100, 100), 40.0, np.float32), 0.25, rng)
        >>> round(float(out.mean()))
        10
    """
    n = np.rint(np.maximum(counts, 0)).astype(np.int64)
    return rng.binomial(n, float(np.clip(keep, 0.0, 1.0))).astype(np.float32)


def rotate_translate(img: np.ndarray, angle_deg: float, shift: tuple[float, float]) -> np.ndarray:
    """Rotate a ``(C, H, W)`` array about its centre and shift it (rows, cols) in pixels.

    Pixels moved in from outside are background (0). Linear interpolation.
    """
    theta = np.deg2rad(angle_deg)
    cos, sin = np.cos(theta), np.sin(theta)
    rot = np.array([[cos, -sin], [sin, cos]])
    centre = (np.array(img.shape[1:], dtype=float) - 1) / 2
    # output o samples input i = R (o - centre - shift) + centre
    offset = centre - rot @ (centre + np.asarray(shift, dtype=float))
    out = np.empty_like(img, dtype=np.float32)
    for c in range(img.shape[0]):  # 1-2 channels
        ndimage.affine_transform(
            img[c], rot, offset=offset, output=out[c], order=1, mode="constant", cval=0.0
        )
    return out


def random_rotate_translate(
    img: np.ndarray, max_deg: float, max_px: float, rng: np.random.Generator
) -> np.ndarray:
    """:func:`rotate_translate` with angle ~ U(-max_deg, max_deg), shifts ~ U(-max_px, max_px)."""
    angle = float(rng.uniform(-max_deg, max_deg)) if max_deg > 0 else 0.0
    shift = (
        tuple(float(v) for v in rng.uniform(-max_px, max_px, size=2)) if max_px > 0 else (0.0, 0.0)
    )
    if angle == 0.0 and shift == (0.0, 0.0):
        return img
    return rotate_translate(img, angle, shift)


def flip_lr(img: np.ndarray) -> np.ndarray:
    """Flip all channels of a ``(C, H, W)`` array left-right together."""
    return np.ascontiguousarray(img[..., ::-1])


def scale_intensity(img: np.ndarray, factor: float) -> np.ndarray:
    """Multiply by ``factor``."""
    return (img * np.float32(factor)).astype(np.float32, copy=False)
