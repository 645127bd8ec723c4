"""Map a heatmap from the model's input grid back onto each view of the scan.

The preprocessing pipeline records the geometry it applied to each view
(:class:`osteoscan.preprocessing.geometry.Geometry`, returned with the prepared study:
resampling to the input scale, centre pad/crop, and for the posterior the alignment onto
the anterior). The input grid is the anterior view's grid, resampled, so one map serves both
views: each gets it through the inverse of its own recorded operations, in its own pixel grid.

With ``"stack"`` (two channels) and ``"aggregate"`` (views added) one map is computed and
both views get it; with alignment skipped (no body found, implausible scale, or
``align=False`` with stack) both views get the identical map. With ``"anterior"``
preprocessing the posterior view gets no map (the model never saw it). Pixels outside the
input window get 0. Nothing is recomputed here: the mapping reads the record.
"""

from __future__ import annotations

import numpy as np

from osteoscan.preprocessing.geometry import Geometry
from osteoscan.types import BoneScan


def heatmap_to_views(cam: np.ndarray, geometry: Geometry, scan: BoneScan) -> dict[str, np.ndarray]:
    """Map an input-grid heatmap to float32 (rows, cols) maps in 0..1, one per view.

    Args:
        cam: float32 (H, W) in 0..1 on the model input grid.
        geometry: the record of the preprocessing (``Pipeline.prepare(scan).geometry``).
        scan: the scan (for its view names).

    Returns:
        view name -> map; "anterior" (or "composite") always, "posterior" when the scan
        has it and the model saw it.
    """
    ant = np.clip(geometry.to_scan_image(cam, "anterior"), 0.0, 1.0)
    name = "composite" if scan.views and scan.views[0].view == "composite" else "anterior"
    maps = {name: ant}
    if "posterior" in geometry.views:
        maps["posterior"] = np.clip(geometry.to_scan_image(cam, "posterior"), 0.0, 1.0)
    return maps
