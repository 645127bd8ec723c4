"""Projected-thickness primitives and the two-view canvas of the site_x phantom.

Every structure is a 3-D solid (cylinder with caps, ellipsoid or ellipsoidal shell, flat
plate) whose activity is integrated along the camera's line of sight: a pixel receives
``uptake x path length`` (mm) through the solid. A hollow long bone therefore shows
brighter edges (the cortex seen tangentially) and a vertebral body a bright core, as in a
planar projection. Each structure carries its depth in the body (0 = anterior skin,
1 = posterior skin) and the body thickness there, which give one attenuation factor per
view, ``exp(-mu * depth)`` (a simple broad-beam model, written by hand because the
phantom needs nothing more than this one line).

Coordinates: body millimetres ``(x, z)``, x towards the patient's LEFT, z down from the
vertex; pixels ``(col, row)`` in the ANTERIOR orientation (patient's right on the
column-0 side); pixel index ``c`` has its centre at ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from skimage.draw import polygon2mask

MU_PER_CM = 0.12
"""Broad-beam linear attenuation of 140 keV photons in soft tissue (narrow beam 0.15/cm)."""


@dataclass(frozen=True)
class Placement:
    """Where the body lies on the detector (mm), and the pixel size."""

    rows: int
    cols: int
    pixel_mm: float
    vertex_mm: float  # frame top -> vertex
    shift_mm: float  # lateral shift of the midline from the frame centre (+ = viewer's right)
    angle_deg: float  # in-plane rotation about the pelvis
    pivot_z_mm: float

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        """Body mm points (N, 2) as (x, z) -> pixel (col, row) index coordinates."""
        pts = np.atleast_2d(np.asarray(pts, float))
        t = np.deg2rad(self.angle_deg)
        x, z = pts[:, 0], pts[:, 1] - self.pivot_z_mm
        xr = x * np.cos(t) - z * np.sin(t)
        zr = x * np.sin(t) + z * np.cos(t) + self.pivot_z_mm
        col = (self.cols * self.pixel_mm / 2 + self.shift_mm + xr) / self.pixel_mm - 0.5
        row = (self.vertex_mm + zr) / self.pixel_mm - 0.5
        return np.stack([col, row], axis=1)


@dataclass
class Canvas:
    """Accumulates attenuated activity per view and depth layer, and the bone path map.

    ``layers[v, d]``: view v (0 anterior, 1 posterior) and layer d (0 front half of the body,
    1 back half): activity already attenuated for that view. ``path``: total bone path
    length (mm) per pixel, the skeletal mass map used for the Bone Scan Index.
    """

    place: Placement
    layers: np.ndarray = field(init=False)
    path: np.ndarray = field(init=False)
    soft: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.place.rows, self.place.cols)
        self.layers = np.zeros((2, 2, *shape), np.float32)
        self.path = np.zeros(shape, np.float32)
        self.soft = np.zeros(shape, np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the views."""
        return self.place.rows, self.place.cols

    def add(self, patch: tuple | None, depth: float, thick_cm: float,
            bone: bool = True) -> None:
        """Add a primitive's ``(slices, activity, path)`` at a depth (0..1) of a body part."""
        if patch is None:
            return
        sl, act, path = patch
        ant = np.exp(-MU_PER_CM * depth * thick_cm)
        post = np.exp(-MU_PER_CM * (1.0 - depth) * thick_cm)
        layer = 0 if depth < 0.5 else 1
        self.layers[0, layer][sl] += act * ant
        self.layers[1, layer][sl] += act * post
        if bone:
            self.path[sl] += path


def _box(shape, lo, hi) -> tuple[slice, slice] | None:
    """Clip an index box (col/row lo-hi) to the image; None when empty."""
    r0, r1 = max(int(np.floor(lo[1])), 0), min(int(np.ceil(hi[1])) + 1, shape[0])
    c0, c1 = max(int(np.floor(lo[0])), 0), min(int(np.ceil(hi[0])) + 1, shape[1])
    if r0 >= r1 or c0 >= c1:
        return None
    return slice(r0, r1), slice(c0, c1)


def _chord(r: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Chord length through a circle of radius r at distance d from its centre."""
    return 2.0 * np.sqrt(np.clip(r * r - d * d, 0.0, None))


def capsule(shape, p0, p1, r0, r1, cortex, u_cort, u_trab, end_boost=0.0, end_len=1.0):
    """A tube from p0 to p1 (pixel coords), radius r0 -> r1 (px), cortical shell ``cortex`` px.

    ``end_boost`` raises uptake near both ends (metaphyses, joints): ``1 + b exp(-s / L)``
    with s the distance to the nearer end along the axis. Returns (slices, act, path) with
    path lengths in PIXELS (the caller scales to mm).
    """
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    rmax = max(r0, r1)
    sl = _box(shape, np.minimum(p0, p1) - rmax - 1, np.maximum(p0, p1) + rmax + 1)
    if sl is None:
        return None
    rr, cc = np.mgrid[sl[0], sl[1]]
    seg = p1 - p0
    length2 = max(float(seg @ seg), 1e-9)
    t = np.clip(((cc - p0[0]) * seg[0] + (rr - p0[1]) * seg[1]) / length2, 0.0, 1.0)
    d = np.hypot(cc - (p0[0] + t * seg[0]), rr - (p0[1] + t * seg[1]))
    r = r0 + (r1 - r0) * t
    outer = _chord(r, d)
    inner = _chord(np.clip(r - cortex, 0.0, None), d)
    act = u_cort * (outer - inner) + u_trab * inner
    if end_boost:
        s = np.minimum(t, 1.0 - t) * np.sqrt(length2)
        act = act * (1.0 + end_boost * np.exp(-s / max(end_len, 1e-6)))
    return sl, act.astype(np.float32), outer.astype(np.float32)


def ellipsoid(shape, c, a, b, angle_deg, half_depth, u_core, shell=0.0, u_shell=0.0):
    """An ellipsoid (semi-axes a, b in the plane, half_depth along the ray; px) at c.

    With ``shell`` > 0 the outer ``shell`` px are cortex with uptake ``u_shell`` and the core
    ``u_core`` (a skull, a vertebral body); returns (slices, act, path).
    """
    ext = max(a, b) + 1
    sl = _box(shape, np.asarray(c) - ext, np.asarray(c) + ext)
    if sl is None:
        return None
    rr, cc = np.mgrid[sl[0], sl[1]]
    th = np.deg2rad(angle_deg)
    u = (cc - c[0]) * np.cos(th) + (rr - c[1]) * np.sin(th)
    v = -(cc - c[0]) * np.sin(th) + (rr - c[1]) * np.cos(th)
    q = (u / a) ** 2 + (v / b) ** 2
    outer = 2.0 * half_depth * np.sqrt(np.clip(1.0 - q, 0.0, None))
    if shell <= 0:
        return sl, (u_core * outer).astype(np.float32), outer.astype(np.float32)
    ai, bi, hi = max(a - shell, 0.5), max(b - shell, 0.5), max(half_depth - shell, 0.5)
    qi = (u / ai) ** 2 + (v / bi) ** 2
    inner = 2.0 * hi * np.sqrt(np.clip(1.0 - qi, 0.0, None))
    act = u_shell * (outer - inner) + u_core * inner
    return sl, act.astype(np.float32), outer.astype(np.float32)


def plate(shape, pts, thickness, uptake, rim=0.0, rim_boost=0.0):
    """A flat bone: polygon ``pts`` (px) of constant thickness (px), brighter rim ``rim`` px."""
    pts = np.asarray(pts, float)
    sl = _box(shape, pts.min(0) - 2, pts.max(0) + 2)
    if sl is None:
        return None
    local = pts - [sl[1].start, sl[0].start]
    h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
    mask = polygon2mask((h, w), local[:, ::-1]).astype(np.float32)
    path = mask * thickness
    act = path * uptake
    if rim > 0 and rim_boost:
        from scipy.ndimage import distance_transform_edt

        depth_in = distance_transform_edt(mask)
        act = act * (1.0 + rim_boost * np.exp(-np.clip(depth_in - 1, 0, None) / rim))
    return sl, act.astype(np.float32), path.astype(np.float32)
