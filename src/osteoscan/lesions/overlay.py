"""Hotspot outlines coloured by probability, for reports and figures (no torch).

Colours run from green (probability 0) through yellow to red (1), matplotlib's ``RdYlGn_r``.

A report draws up to 300 outlines (150 candidates per view), so both steps are kept cheap:
the colour map is looked up once (``matplotlib.colormaps[name]`` hands out a fresh copy
that rebuilds its table on first use, ~0.7 ms per hotspot), and the outline of each
hotspot is found by OpenCV's 3x3 cross erosion/dilation on the hotspot's bounding box
(the same pixels as ``skimage.segmentation.find_boundaries``, which pads the footprint and
the image on every call; tests/lesions/test_lesion_overlay.py checks the equality), and the
box is found without scanning the whole mask twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from osteoscan.types import Hotspot

_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
"""Connectivity-1 footprint, the one ``find_boundaries`` uses by default."""


@lru_cache(maxsize=1)
def _colour_map():
    from matplotlib import colormaps

    return colormaps["RdYlGn_r"]


def probability_colour(p: float) -> tuple[int, int, int]:
    """RGB (0-255) of a probability on the green-yellow-red scale."""
    return probability_colours([p])[0]


def probability_colours(ps: Sequence[float]) -> list[tuple[int, int, int]]:
    """:func:`probability_colour` of each probability, in one call of the colour map (which
    maps an array element by element exactly as it maps a scalar)."""
    rgba = _colour_map()(np.clip(np.asarray(ps, dtype=np.float64), 0.0, 1.0))
    return [(int(r * 255), int(g * 255), int(b * 255)) for r, g, b, _ in rgba.reshape(-1, 4)]


def boundaries(mask: np.ndarray, *, thick: bool = True) -> np.ndarray:
    """Boundary pixels of a boolean mask: ``find_boundaries(mask, mode="thick")`` (pixels
    with both the mask and its complement among their 4-neighbours), or ``mode="inner"``
    (those inside the mask). Pixels beyond the image border do not count, as there."""
    m = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    eroded = cv2.erode(m, _CROSS)  # border: OpenCV's default ignores outside pixels
    if thick:
        return cv2.dilate(m, _CROSS) != eroded
    return m > eroded


def draw_outlines(rgb: np.ndarray, hotspots: Sequence[Hotspot], *, thick: bool = True) -> np.ndarray:
    """A copy of ``rgb`` (uint8, rows x cols x 3) with each hotspot's outline drawn.

    Args:
        rgb: the view as an RGB picture on the scan's grid.
        hotspots: hotspots of that view (their masks must match the picture's shape).
        thick: draw a 2-pixel outline (outer boundary too), visible at report zoom.

    Returns:
        The new picture; hotspots with a missing or mismatched mask are skipped.
    """
    out = np.array(rgb, copy=True)
    drawn = [h for h in sorted(hotspots, key=lambda h: h.probability)  # most suspicious last
             if getattr(h, "mask", None) is not None and h.mask.shape == out.shape[:2]]
    for h, colour in zip(drawn, probability_colours([h.probability for h in drawn]), strict=True):
        box = _box(h.mask, margin=2)
        if box is None:
            continue
        # boundaries on the hotspot's box only: the same pixels as on the whole view
        # (the margin covers the outer boundary), at a fraction of the cost
        out[box][boundaries(h.mask[box], thick=thick)] = colour
    return out


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Bounding box of a mask's True pixels grown by ``margin`` (clipped), or None if empty.

    A hotspot's mask covers the whole view (262 kB at 1024x256) and a report has hundreds: the
    first True pixel is found by numpy's bool ``argmax`` (which stops there), the others among
    the pixels after it (half the reading of OpenCV's ``boundingRect``, same box)."""
    flat = np.ascontiguousarray(mask, dtype=bool).reshape(-1)
    first = int(flat.argmax())
    if not flat[first]:
        return None
    rows, cols = np.divmod(np.flatnonzero(flat[first:]) + first, mask.shape[1])
    return (slice(max(int(rows[0]) - margin, 0), int(rows[-1]) + margin + 1),
            slice(max(int(cols.min()) - margin, 0), int(cols.max()) + margin + 1))
