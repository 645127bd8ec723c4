"""Undo what a reading station's display window did to an exported picture: saturation.

A screen export maps counts to 8-bit grey through a window whose top sits a little above
normal bone, so that the bladder and the hottest lesions are one flat grey value (black on an
inverted display). A flat plateau is not what the camera saw: a hot lesion loses its peak, its
contrast and its shape, and the bladder becomes a lesion-sized focus of ordinary brightness.
Measured on simulated exports (docs/robustness.md), this alone changed the detector's decision
on 8 of 40 patients.

:func:`restore_saturation` replaces each saturated plateau by the dome a Gaussian-blurred
focus would have. The camera's point response is close to Gaussian, so near a hot focus
``log I = log P - r^2 / (2 s^2)``. At the plateau's edge (radius ``R``, the largest distance of
a plateau pixel from outside it) the intensity is the window top ``T`` and the outward
log-slope ``g`` is measured on the unsaturated ring just outside; then ``s^2 = R / g`` and a
pixel at depth ``d`` inside the plateau (``r = R - d``) gets
``log T + g (R^2 - r^2) / (2 R)``, so the peak is ``T exp(g R / 2)``. Written by hand: no
imaging library inpaints a clipped peak from the profile around it (OpenCV/scikit-image
inpainting fills holes smoothly, i.e. keeps the plateau flat).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MIN_PLATEAU_PX = 4
"""A saturated region smaller than this (after closing) is left alone: a lone pixel at the
top value is noise, not a window."""

MAX_GAIN = 20.0
"""The restored peak is at most this many times the window top."""

_RING_PX = 2.5


def _plateaus(grey: np.ndarray, tol: float, top: float | None) -> tuple[np.ndarray, int, float]:
    top = float(grey.max()) if top is None else float(top)
    if top <= 0 or float(grey.max()) < top - tol:
        return np.zeros(grey.shape, np.int32), 0, top
    sat = grey >= top - tol
    sat = ndimage.binary_fill_holes(ndimage.binary_closing(sat, iterations=1) | sat)
    labels, n = ndimage.label(sat)
    if n:
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = sizes < MIN_PLATEAU_PX
        small[0] = False
        labels[small[labels]] = 0
        labels, n = ndimage.label(labels > 0)
    return labels, n, top


def _ring_slopes(grey: np.ndarray, labels: np.ndarray, n: int, top: float) -> np.ndarray:
    """Per plateau 1..n, the median outward log-slope (per pixel) on the ring just outside."""
    dist, (ri, ci) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    ring = (dist > 0) & (dist <= _RING_PX) & (grey > 0)
    owner = labels[ri, ci]
    slope = (np.log(top) - np.log(np.maximum(grey, 1e-6))) / np.maximum(dist - 0.5, 0.5)
    out = np.full(n + 1, np.nan)
    idx = np.arange(1, n + 1)
    med = ndimage.median(np.where(ring, slope, 0.0), np.where(ring, owner, 0), idx)
    out[1:] = np.asarray(med, float)
    return out


def restore_saturation(grey: np.ndarray, *, top: float | None = None,
                       tol: float = 0.0) -> tuple[np.ndarray, int]:
    """Replace saturated plateaus by Gaussian domes (module docstring).

    Args:
        grey: a picture on a counts-like scale (uptake bright, background 0), float.
        top: the window top (the saturated value); default the picture's maximum. A view
            that never reaches it has nothing saturated.
        tol: grey values within ``tol`` of the maximum count as saturated (JPEG blurs the
            plateau's value by a few levels).

    Returns:
        (restored picture as float32, number of plateaus restored).

    Example:
        >>> r, c = np.mgrid[:41, :41]
        >>> blob = 100 * np.exp(-((r - 20) ** 2 + (c - 20) ** 2) / (2 * 4.0 ** 2))
        >>> out, n = restore_saturation(np.minimum(blob, 40.0))
        >>> n, bool(60 < out.max() < 160)
        (1, True)
    """
    grey = np.asarray(grey, np.float32)
    labels, n, top = _plateaus(grey, tol, top)
    if n == 0:
        return grey, 0
    g = _ring_slopes(grey, labels, n, top)
    depth = ndimage.distance_transform_edt(labels > 0) - 0.5
    radius = np.zeros(n + 1)
    radius[1:] = ndimage.maximum(depth, labels, np.arange(1, n + 1))
    ok = np.isfinite(g) & (g > 0) & (radius > 0)
    g = np.where(ok, g, 0.0)
    rad = np.maximum(radius, 1e-6)
    lab = labels
    r_in = np.maximum(rad[lab] - depth, 0.0)
    gain = g[lab] * (rad[lab] ** 2 - r_in ** 2) / (2 * rad[lab])
    gain = np.minimum(gain, np.log(MAX_GAIN))
    out = np.where(lab > 0, np.maximum(grey, top * np.exp(gain)), grey).astype(np.float32)
    return out, int(ok[1:].sum())
