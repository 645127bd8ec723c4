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
        if mask is None or mask.shape != out.shape[:2] or not mask.any():
            continue
        edge = find_boundaries(mask, mode="thick" if thick else "inner")
        out[edge] = probability_colour(h.probability)
    return out
