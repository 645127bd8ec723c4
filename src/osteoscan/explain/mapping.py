"""Map a heatmap from the model's input grid back onto each view of the scan.

The preprocessing pipeline (``osteoscan.preprocessing.pipeline``) resamples each view to
the input size (uniform scale keeping the physical aspect ratio, or a target spacing, then
centre pad/crop), aligns the resampled posterior onto the resampled anterior by the
sweep-line critical points (translation + scale), and combines them. The input grid is
therefore the anterior view's grid, resampled. :class:`InputGeometry` records the steps so
a map can go back:

* anterior: undo pad/crop, resize back to (rows, cols);
* posterior: first carry the map through the inverse of the alignment (on the input grid),
  then the same.

So with ``"stack"`` (two channels) and ``"aggregate"`` (views added) one map is computed
and both views get it, each in its own pixel grid; with alignment skipped (no body found,
implausible scale, or ``align=False`` with stack) both views get the identical map. With
``"anterior"`` preprocessing the posterior view gets no map (the model never saw it).
Pixels outside the input window get 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from osteoscan.preprocessing.intensity import block_mean, scaled_shape
from osteoscan.preprocessing.views import scale_shift
from osteoscan.types import BoneScan


FIND = object()
"""``InputGeometry.for_scan(align_map=FIND)``: no pipeline map at hand, find the alignment again."""


@dataclass(frozen=True)
class InputGeometry:
    """How model input pixels relate to view pixels.

    Attributes:
        mode: the preprocessing view mode ("stack", "aggregate", "geomean", "anterior").
        view_hw: (rows, cols) of one view.
        input_hw: (H, W) of the model input.
        scaled_hw: (rows, cols) of the view after resampling, before centre pad/crop.
        pad: (rows, cols) offset of the scaled view inside the input (>= 0: zero padding).
        crop: (rows, cols) offset of the input window inside the scaled view (>= 0: cropped).
        posterior_affine: (sy, sx, oy, ox) mapping a pixel p of the resampled posterior to
            the input-grid (resampled anterior) pixel a = (sy * p_r + oy, sx * p_c + ox)
            when the posterior was aligned, else None.
    """

    mode: str
    view_hw: tuple[int, int]
    input_hw: tuple[int, int]
    scaled_hw: tuple[int, int]
    pad: tuple[int, int] = (0, 0)
    crop: tuple[int, int] = (0, 0)
    posterior_affine: tuple[float, float, float, float] | None = None

    @classmethod
    def for_scan(cls, scan: BoneScan, pre: Any, input_hw: tuple[int, int],
                 align_map: Any = FIND) -> InputGeometry:
        """Geometry of ``scan`` under preprocessing settings ``pre`` (a ``PreprocessConfig``).

        Mirrors ``osteoscan.preprocessing.intensity.resample`` (sizes, pad, crop) and the
        alignment of ``osteoscan.preprocessing.views.align_to``; kept here, beside the
        inverse mapping. ``align_map`` is the alignment the pipeline applied
        (``PreparedScan.align_map``: exact, and free); without it the alignment is found
        again on a reduced copy of the views (see :func:`_alignment`).
        """
        mode = str(getattr(pre, "views", "stack"))
        h, w = scan.shape
        size = (int(input_hw[0]), int(input_hw[1]))
        spacing, target = scan.spacing_mm, getattr(pre, "target_spacing_mm", None)
        ty, tx = scaled_shape((h, w), size, spacing, target)
        pad = (max((size[0] - ty) // 2, 0), max((size[1] - tx) // 2, 0))
        crop = (max((ty - size[0]) // 2, 0), max((tx - size[1]) // 2, 0))
        affine = None
        aligned = mode == "aggregate" or bool(getattr(pre, "align", True))
        if scan.has_both_views and mode in ("stack", "aggregate", "geomean") and aligned:
            affine = (_alignment(scan.anterior, scan.posterior, ty / h, tx / w, pad, crop)
                      if align_map is FIND else _inverse(align_map))
        return cls(mode, (h, w), size, (ty, tx), pad, crop, affine)


def _inverse(align_map: Any) -> tuple[float, float, float, float] | None:
    """(sy, sx, oy, ox) from the pipeline's map ``((s0, s1), (o0, o1))``, which samples the
    posterior at ``p = s * a + o`` for each input-grid pixel ``a``: so ``a = p / s - o / s``."""
    if align_map is None:
        return None
    (s0, s1), (o0, o1) = align_map
    return (1.0 / s0, 1.0 / s1, -o0 / s0, -o1 / s1)


def _block_mean(img: np.ndarray, f: int) -> np.ndarray:
    return img if f <= 1 else block_mean(img, f, f, crop=True)


def _alignment(anterior: np.ndarray, posterior: np.ndarray, ky: float, kx: float,
               pad: tuple[int, int], crop: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """(sy, sx, oy, ox) of the posterior->anterior alignment on the input grid, or None when
    the preprocessing skipped it.

    The pipeline finds the sweep-line critical points on the resampled views. Re-running its
    resampling here would cost more than the network's forward pass, so the points are found
    on a block-mean copy at about the input resolution (integer factor) and scaled onto the
    input grid; they differ from the pipeline's by about one input pixel, far below the size
    of a Grad-CAM cell.
    """
    from osteoscan.preprocessing.views import MAX_SCALE_CHANGE, critical_points

    f = max(1, int(1.0 / max(ky, kx)))
    pf, pm = critical_points(_block_mean(anterior, f)), critical_points(_block_mean(posterior, f))
    if pf is None or pm is None:
        return None
    sy = (pf.bottom - pf.top) / max(pm.bottom - pm.top, 1)
    sx = (pf.right - pf.left) / max(pm.right - pm.left, 1)
    if abs(sy - 1) > MAX_SCALE_CHANGE or abs(sx - 1) > MAX_SCALE_CHANGE:
        return None
    # a block-grid coordinate b is view pixel f*b + (f-1)/2, input pixel k*(that) + pad - crop
    to_in_y = lambda b: ky * (f * b + (f - 1) / 2) + pad[0] - crop[0]  # noqa: E731
    to_in_x = lambda b: kx * (f * b + (f - 1) / 2) + pad[1] - crop[1]  # noqa: E731
    oy = to_in_y(pf.top) - sy * to_in_y(pm.top)
    ox = to_in_x(pf.left) - sx * to_in_x(pm.left)
    return (sy, sx, oy, ox)


def _resize(cam: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear, half-pixel centres (= torch ``align_corners=False``); OpenCV is ~4x faster."""
    if cam.shape == tuple(hw):
        return cam.astype(np.float32, copy=False)
    src = np.ascontiguousarray(cam, dtype=np.float32)
    return cv2.resize(src, (int(hw[1]), int(hw[0])), interpolation=cv2.INTER_LINEAR)


def to_view_grid(cam: np.ndarray, g: InputGeometry) -> np.ndarray:
    """Undo centre pad/crop and resampling: input-grid map -> view grid (rows, cols)."""
    ty, tx = g.scaled_hw
    scaled = np.zeros((ty, tx), dtype=np.float32)
    hh, ww = min(ty, g.input_hw[0]), min(tx, g.input_hw[1])
    scaled[g.crop[0]:g.crop[0] + hh, g.crop[1]:g.crop[1] + ww] = \
        cam[g.pad[0]:g.pad[0] + hh, g.pad[1]:g.pad[1] + ww]
    return _resize(scaled, g.view_hw)


def to_posterior_input(cam: np.ndarray, g: InputGeometry) -> np.ndarray:
    """Carry an input-grid (anterior) map onto the resampled posterior through the alignment."""
    if g.posterior_affine is None:
        return cam
    sy, sx, oy, ox = g.posterior_affine
    # out[r, c] = cam[sy * r + oy, sx * c + ox], bilinear, 0 outside: the pipeline's own map
    return scale_shift(np.asarray(cam, dtype=np.float32), (sy, sx), (oy, ox))


def heatmap_to_views(cam: np.ndarray, geometry: InputGeometry, scan: BoneScan) -> dict[str, np.ndarray]:
    """Map an input-grid heatmap to float32 (rows, cols) maps in 0..1, one per view.

    Args:
        cam: float32 (H, W) in 0..1 on the model input grid.
        geometry: from :meth:`InputGeometry.for_scan`.
        scan: the scan (for its views).

    Returns:
        view name -> map; "anterior" (or "composite") always, "posterior" when the scan
        has it and the model saw it.
    """
    ant = np.clip(to_view_grid(cam, geometry), 0.0, 1.0)
    name = "composite" if scan.views and scan.views[0].view == "composite" else "anterior"
    maps = {name: ant}
    if scan.has_both_views and geometry.mode != "anterior":
        post = to_view_grid(to_posterior_input(cam, geometry), geometry)
        maps["posterior"] = np.clip(post, 0.0, 1.0)
    return maps
