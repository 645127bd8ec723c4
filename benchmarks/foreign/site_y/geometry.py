"""A voxel volume and the solid primitives the phantom is painted with.

Coordinates are millimetres in the patient frame: ``x`` from the patient's right (negative)
to left (positive), ``y`` from anterior (negative) to posterior (positive), ``z`` from the
top of the head (0) down to the feet. Arrays are indexed ``[z, y, x]``.

Every primitive is evaluated only inside its bounding box (a few thousand voxels), which is
what keeps a whole phantom at 4-5 mm voxels under a second. Written by hand because no
installed library paints oriented solids into a voxel grid (scikit-image's ``draw``
module is 2-D apart from an axis-aligned ellipsoid).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Volume:
    """Material maps on a regular grid.

    Attributes:
        voxel: voxel side in mm.
        origin: (z, y, x) mm of voxel (0, 0, 0)'s centre.
        act: activity concentration (relative units per voxel volume).
        mu: linear attenuation coefficient at 140 keV, 1/mm.
        region: skeletal region id per voxel (0 = not bone).
        density: bone mass weight per voxel (g/cm^3-like; 0 off bone), for the BSI.
    """

    voxel: float
    origin: tuple[float, float, float]
    shape: tuple[int, int, int]
    act: np.ndarray = field(init=False)
    mu: np.ndarray = field(init=False)
    region: np.ndarray = field(init=False)
    density: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.act = np.zeros(self.shape, np.float32)
        self.mu = np.zeros(self.shape, np.float32)
        self.region = np.zeros(self.shape, np.uint8)
        self.density = np.zeros(self.shape, np.float32)

    def box(self, lo, hi):
        """Voxel slices and centre coordinates (mm) covering the mm box ``lo..hi`` (z, y, x)."""
        sl, axes = [], []
        for a in range(3):
            i0 = int(np.floor((lo[a] - self.origin[a]) / self.voxel))
            i1 = int(np.ceil((hi[a] - self.origin[a]) / self.voxel)) + 1
            i0, i1 = max(i0, 0), min(i1, self.shape[a])
            sl.append(slice(i0, max(i0, i1)))
            axes.append(self.origin[a] + self.voxel * np.arange(i0, max(i0, i1), dtype=np.float32))
        return tuple(sl), np.ix_(*axes)


def ellipsoid(vol: Volume, c, r, rot=None, shell: float = 0.0):
    """Slices and a boolean mask of an ellipsoid (centre ``c``, semi-axes ``r``, z/y/x mm).

    ``rot`` is a 3x3 matrix taking patient axes into the ellipsoid's axes; ``shell`` > 0
    keeps only the outer layer that thick (mm), e.g. the calvarium.
    """
    ext = max(r) if rot is not None else None
    lo = [c[a] - (ext or r[a]) for a in range(3)]
    hi = [c[a] + (ext or r[a]) for a in range(3)]
    sl, (zz, yy, xx) = vol.box(lo, hi)
    d = [zz - c[0], yy - c[1], xx - c[2]]
    if rot is not None:
        d = [rot[i][0] * d[0] + rot[i][1] * d[1] + rot[i][2] * d[2] for i in range(3)]
    q = (d[0] / r[0]) ** 2 + (d[1] / r[1]) ** 2 + (d[2] / r[2]) ** 2
    mask = q <= 1.0
    if shell > 0:
        inner = [max(ri - shell, 1e-3) for ri in r]
        qi = (d[0] / inner[0]) ** 2 + (d[1] / inner[1]) ** 2 + (d[2] / inner[2]) ** 2
        mask &= qi > 1.0
    return sl, np.broadcast_to(mask, tuple(s.stop - s.start for s in sl))


def capsule(vol: Volume, p0, p1, r0: float, r1: float | None = None):
    """Slices and mask of a tube from ``p0`` to ``p1`` (z, y, x mm), radius ``r0`` -> ``r1``."""
    r1 = r0 if r1 is None else r1
    p0, p1 = np.asarray(p0, np.float32), np.asarray(p1, np.float32)
    rm = max(r0, r1)
    sl, (zz, yy, xx) = vol.box(np.minimum(p0, p1) - rm, np.maximum(p0, p1) + rm)
    seg = p1 - p0
    L2 = float(seg @ seg) or 1e-6
    t = ((zz - p0[0]) * seg[0] + (yy - p0[1]) * seg[1] + (xx - p0[2]) * seg[2]) / L2
    t = np.clip(t, 0.0, 1.0)
    dz, dy, dx = zz - (p0[0] + t * seg[0]), yy - (p0[1] + t * seg[1]), xx - (p0[2] + t * seg[2])
    rad = r0 + (r1 - r0) * t
    return sl, (dz * dz + dy * dy + dx * dx) <= rad * rad


def polyline(vol: Volume, pts, r0: float, r1: float | None = None):
    """Yield (slices, mask) for each segment of a tube along the points ``pts`` (n, 3)."""
    pts = np.asarray(pts, np.float32)
    n = len(pts) - 1
    r1 = r0 if r1 is None else r1
    for i in range(n):
        ra = r0 + (r1 - r0) * i / n
        rb = r0 + (r1 - r0) * (i + 1) / n
        yield capsule(vol, pts[i], pts[i + 1], ra, rb)


def elliptic_slab(vol: Volume, z0: float, z1: float, cy: float, cx: float, ry0, rx0, ry1, rx1):
    """Slices and mask of an elliptic cylinder along z whose semi-axes go linearly 0 -> 1."""
    sl, (zz, yy, xx) = vol.box((z0, cy - max(ry0, ry1), cx - max(rx0, rx1)),
                               (z1, cy + max(ry0, ry1), cx + max(rx0, rx1)))
    t = np.clip((zz - z0) / max(z1 - z0, 1e-3), 0, 1)
    ry, rx = ry0 + (ry1 - ry0) * t, rx0 + (rx1 - rx0) * t
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    return sl, inside & (zz >= z0) & (zz <= z1)


def paint(vol: Volume, sl, mask, *, act=None, mu=None, region=None, density=None, add=False):
    """Write material values where ``mask`` is true (``add``: add activity instead of set)."""
    if not mask.any():
        return
    for name, val in (("act", act), ("mu", mu), ("region", region), ("density", density)):
        if val is None:
            continue
        arr = getattr(vol, name)[sl]
        if add and name == "act":
            arr[mask] += val
        else:
            arr[mask] = val


def rotation(rng_or_angles) -> np.ndarray:
    """3x3 rotation from three angles (radians) about z, y, x, or random when given a Generator."""
    if isinstance(rng_or_angles, np.random.Generator):
        a, b, g = rng_or_angles.uniform(0, np.pi, 3)
    else:
        a, b, g = rng_or_angles
    rz = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, -np.sin(b)], [0, 1, 0], [np.sin(b), 0, np.cos(b)]])
    rx = np.array([[np.cos(g), -np.sin(g), 0], [np.sin(g), np.cos(g), 0], [0, 0, 1]])
    return rz @ ry @ rx
