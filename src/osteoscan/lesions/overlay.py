"""Hotspot outlines coloured by probability, for reports and figures (no torch).

Colours run from green (probability 0) through yellow to red (1), matplotlib's ``RdYlGn_r``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from skimage.segmentation import find_boundaries

from osteoscan.types import Hotspot


def probability_colour(p: float) -> tuple[int, int, int]:
    """RGB (0-255) of a probability on the green-yellow-red scale."""
    r, g, b, _ = colormaps["RdYlGn_r"](float(np.clip(p, 0.0, 1.0)))
    return int(r * 255), int(g * 255), int(b * 255)


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
    for h in sorted(hotspots, key=lambda h: h.probability):  # most suspicious drawn last
        mask = getattr(h, "mask", None)
        if mask is None or mask.shape != out.shape[:2]:
            continue
        box = _box(mask, margin=2)
        if box is None:
            continue
        # boundaries on the hotspot's box only: the same pixels as on the whole view
        # (the margin covers the outer boundary), at a fraction of the cost
        edge = find_boundaries(mask[box], mode="thick" if thick else "inner")
        out[box][edge] = probability_colour(h.probability)
    return out


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Bounding box of a mask's True pixels grown by ``margin`` (clipped), or None if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))
