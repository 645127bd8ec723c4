"""Vectorised rasterisation of simple 3-D shapes into projected thickness (mm).

Each function returns ``(rows_slice, cols_slice, thickness)`` restricted to the shape's
bounding box, so that drawing one vertebra touches a few hundred pixels, not the whole image.
Written by hand because no imaging library projects analytic solids onto a planar grid; the
chord length of a ray through a cylinder or ellipsoid is the physically right weight for a
projection image (a planar gamma camera integrates activity along the ray).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """The pixel grid of one view.

    Attributes:
        rows: number of rows (head at row 0).
        cols: number of columns (patient's right at column 0).
        spacing: pixel size in mm.
    """

    rows: int
    cols: int
    spacing: float

    def to_px(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """Convert body coordinates (x from the midline, y from the top) to (col, row)."""
        return x_mm / self.spacing + self.cols / 2 - 0.5, y_mm / self.spacing - 0.5

    def box(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice] | None:
        """Pixel slices covering the mm box [x0, x1] x [y0, y1], or None when outside."""
        c0, r0 = self.to_px(x0, y0)
        c1, r1 = self.to_px(x1, y1)
        cs = slice(max(int(np.floor(c0)), 0), min(int(np.ceil(c1)) + 1, self.cols))
        rs = slice(max(int(np.floor(r0)), 0), min(int(np.ceil(r1)) + 1, self.rows))
        if cs.start >= cs.stop or rs.start >= rs.stop:
            return None
        return rs, cs

    def coords(self, rs: slice, cs: slice) -> tuple[np.ndarray, np.ndarray]:
        """mm coordinates (x, y) of the pixel centres in a box, as broadcastable arrays."""
        x = (np.arange(cs.start, cs.stop) + 0.5 - self.cols / 2) * self.spacing
        y = (np.arange(rs.start, rs.stop) + 0.5) * self.spacing
        return x[None, :], y[:, None]


Patch = tuple[slice, slice, np.ndarray]


def polyline(grid: Grid, points: np.ndarray, radius: float | np.ndarray) -> Patch | None:
    """Projected thickness of a tube of given radius along a polyline (capsules joined by max).

    Args:
        grid: the pixel grid.
        points: (k, 2) array of (x, y) in mm, k >= 2.
        radius: tube radius in mm, scalar or one per point (linearly varied along segments).
    """
    pts = np.asarray(points, dtype=float)
    rad = np.broadcast_to(np.asarray(radius, dtype=float), (len(pts),))
    rmax = float(rad.max())
    box = grid.box(pts[:, 0].min() - rmax, pts[:, 0].max() + rmax,
                   pts[:, 1].min() - rmax, pts[:, 1].max() + rmax)
    if box is None:
        return None
    rs, cs = box
    x, y = grid.coords(rs, cs)
    out = np.zeros((rs.stop - rs.start, cs.stop - cs.start), dtype=np.float32)
    for (ax, ay), (bx, by), ra, rb in zip(pts[:-1], pts[1:], rad[:-1], rad[1:]):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
        d2 = (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2
        r = ra + t * (rb - ra)
        np.maximum(out, 2.0 * np.sqrt(np.clip(r * r - d2, 0.0, None)), out=out)
    return rs, cs, out


def ellipsoid(grid: Grid, cx: float, cy: float, a: float, b: float, depth: float,
              angle_deg: float = 0.0, shell: float = 0.0) -> Patch | None:
    """Projected thickness of an ellipsoid (or of an ellipsoidal shell of given wall thickness).

    Args:
        grid: the pixel grid.
        cx, cy: centre in mm.
        a, b: semi-axes in mm along x and y before rotation.
        depth: semi-axis along the viewing direction in mm.
        angle_deg: in-plane rotation.
        shell: wall thickness in mm; 0 for a solid ellipsoid.
    """
    r = max(a, b)
    box = grid.box(cx - r, cx + r, cy - r, cy + r)
    if box is None:
        return None
    rs, cs = box
    x, y = grid.coords(rs, cs)
    th = np.deg2rad(angle_deg)
    u = (x - cx) * np.cos(th) + (y - cy) * np.sin(th)
    v = -(x - cx) * np.sin(th) + (y - cy) * np.cos(th)
    out = 2.0 * depth * np.sqrt(np.clip(1.0 - (u / a) ** 2 - (v / b) ** 2, 0.0, None))
    if shell > 0:
        ai, bi, di = a - shell, b - shell, depth - shell
        out = out - 2.0 * di * np.sqrt(np.clip(1.0 - (u / ai) ** 2 - (v / bi) ** 2, 0.0, None))
    return rs, cs, out.astype(np.float32)


def polygon(grid: Grid, points: np.ndarray, thickness: float, soften: float = 2.0) -> Patch | None:
    """A flat plate of constant thickness with a polygonal outline (scapula, iliac wing).

    The edge is softened over ``soften`` mm so the plate has no aliasing steps.
    """
    from matplotlib.path import Path as MplPath  # point-in-polygon, vectorised

    pts = np.asarray(points, dtype=float)
    box = grid.box(pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())
    if box is None:
        return None
    rs, cs = box
    x, y = grid.coords(rs, cs)
    xx, yy = np.broadcast_arrays(x, y)
    inside = MplPath(pts).contains_points(np.column_stack([xx.ravel(), yy.ravel()]))
    out = inside.reshape(xx.shape).astype(np.float32) * thickness
    if soften > 0:
        from scipy.ndimage import gaussian_filter

        out = gaussian_filter(out, soften / grid.spacing / 2.355)
    return rs, cs, out.astype(np.float32)
