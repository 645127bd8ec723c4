"""Drawing solid shapes into a labelled voxel grid, in millimetres (the 3-D phantom's pen).

The canvas is an axis-aligned grid (direction = identity, so array axes z, y, x run along
LPS +z superior, +y posterior, +x patient's left) holding two uint8 maps: the tissue label of
every voxel and the skeletal *part* it belongs to (for lesion placement). Every shape touches
only its bounding box, so a 512 x 512 x 300 grid is drawn in seconds and a 96 x 128 x 128 one
in tens of milliseconds. Written by hand because no installed library draws analytic solids
with a cortical shell into an existing label map.

Thin shells are drawn in millimetres with partial volume (docs/volumes.md, "Features in
millimetres"): a voxel near a surface holds the share of its extent (along the surface's
normal) that lies within the shell (:func:`shell_share`), so a 1.2 mm cortex is 1.2 mm of
cortical bone on any grid; a coarse grid only averages it with the bone beneath.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# tissue labels
AIR, FAT, SOFT, LUNG, CORTICAL, TRABECULAR, MARROW, LIVER, KIDNEY, BLADDER, HEART = range(11)
TISSUES = ("air", "fat", "soft tissue", "lung", "cortical bone", "trabecular bone", "marrow",
           "liver", "kidney", "bladder", "heart")
BONE = (CORTICAL, TRABECULAR, MARROW)

# skeletal parts (0 = not bone)
PARTS = ("none", "vertebral body", "posterior arch", "rib", "sternum", "scapula", "pelvis",
         "sacrum", "femur", "clavicle")
VERTEBRA, ARCH, RIB, STERNUM, SCAPULA, PELVIS, SACRUM, FEMUR, CLAVICLE = range(1, 10)


@dataclass
class Canvas:
    """A labelled grid.

    Attributes:
        labels: (z, y, x) uint8 tissue labels (where lesions may land; the cortex label is at
            least :attr:`shell_mm` thick, as in every earlier cohort).
        parts: (z, y, x) uint8 skeletal parts.
        spacing: (z, y, x) mm.
        origin: LPS (x, y, z) of voxel (0, 0, 0) in mm.
        cortex: (z, y, x) float16 share of each bone voxel that is cortical bone (the
            cortex's own thickness in mm, partial-volumed; 0 outside bone).
        core: (z, y, x) uint8 tissue beneath the cortex of each bone voxel (trabecular bone
            or marrow; 0 outside bone). A bone voxel's values are ``cortex`` x cortical
            + (1 - ``cortex``) x ``core`` (``volume_render.tissue_values``).
    """

    labels: np.ndarray
    parts: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    cortex: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    core: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self):
        if self.cortex is None:
            self.cortex = np.zeros(self.labels.shape, np.float16)
        if self.core is None:
            self.core = np.zeros(self.labels.shape, np.uint8)

    @classmethod
    def empty(cls, shape, spacing, origin) -> Canvas:
        return cls(np.zeros(shape, np.uint8), np.zeros(shape, np.uint8),
                   tuple(float(s) for s in spacing), tuple(float(o) for o in origin))

    @property
    def shell_mm(self) -> float:
        """Thinnest cortex *label*: 0.75 in-plane voxel, so that lesion placement (bone
        islands in trabecular bone) is what it was on every grid. The cortex's HU and uptake
        follow its thickness in mm (:attr:`cortex`), not this."""
        return 0.75 * min(self.spacing[1], self.spacing[2])

    def box(self, lo, hi):
        """Index slices and open coordinate grids (Z, Y, X in mm) of an LPS (x, y, z) box."""
        sl, coords = [], []
        for axis, xyz in ((0, 2), (1, 1), (2, 0)):
            n, step, o = self.labels.shape[axis], self.spacing[axis], self.origin[xyz]
            a = max(0, int(np.ceil((lo[xyz] - o) / step)))
            b = min(n, int(np.floor((hi[xyz] - o) / step)) + 1)
            if b <= a:
                return None
            sl.append(slice(a, b))
            shape = [1, 1, 1]
            shape[axis] = b - a
            coords.append((o + step * np.arange(a, b, dtype=np.float32)).reshape(shape))
        return tuple(sl), coords[0], coords[1], coords[2]

    def paint(self, sl, mask, label: int, part: int = 0, where=None) -> None:
        """Set label (and part) on mask within the slices, optionally only where ``where``
        (a function of the current labels) holds."""
        if where is not None:
            mask = mask & where(self.labels[sl])
        self.labels[sl][mask] = label
        self.parts[sl][mask] = part
        self.cortex[sl][mask] = 0
        self.core[sl][mask] = 0

    def paint_bone(self, sl, depth, part: int, shell: float, core: int = TRABECULAR) -> None:
        """Bone where depth >= 0 (mm inside the surface): a cortex ``shell`` mm thick over the
        core, partial-volumed (:func:`shell_share`); labelled cortical in the outer
        max(shell, :attr:`shell_mm`)."""
        t = max(shell, self.shell_mm)
        inside = depth >= 0
        self.paint(sl, inside & (depth < t), CORTICAL, part)
        self.paint(sl, depth >= t, core, part)
        share = shell_share(depth, normal_extent(depth, self.spacing, shell), shell)
        self.cortex[sl][inside] = share[inside]
        self.core[sl][inside] = core


def shell_share(depth, extent, t: float) -> np.ndarray:
    """Share of each voxel within ``t`` mm of a surface: the voxel spans ``extent`` mm along
    the surface's normal around its centre's ``depth`` (mm inside), and the part of that span
    above depth ``t`` is shell (the part beyond the surface included: the voxel is drawn
    whole). Over spheres of 4-15 mm radius this holds 0.86-1.07 of the true shell's volume on
    0.8 to 9.4 mm voxels (docs/volumes.md); a voxel thicker than the shell holds a fraction."""
    return np.clip((t - depth) / extent + 0.5, 0.0, 1.0).astype(np.float32)


def normal_extent(depth: np.ndarray, spacing, shell: float) -> np.ndarray:
    """Extent (mm) of each voxel along the normal of the surface ``depth`` (mm) measures from:
    sum over axes of |n_axis| x spacing, n the unit gradient of depth (a 3.75 mm slice is
    3.75 mm across an endplate, a 0.83 mm pixel across a side wall)."""
    floor = -(shell + 3 * max(spacing))  # tubes are -inf far outside: keep gradients finite
    d = np.maximum(depth, floor).astype(np.float32)
    g = [np.gradient(d, s, axis=a) if d.shape[a] > 1 else np.zeros_like(d)
         for a, s in enumerate(spacing)]
    norm = np.sqrt(sum(c * c for c in g))
    flat = norm < 1e-6  # a ridge or a one-voxel box: no normal, take the mean voxel side
    ext = sum(np.abs(c) * s for c, s in zip(g, spacing)) / np.where(flat, 1.0, norm)
    return np.where(flat, float(np.mean(spacing)), ext)


def _rotate(dx, dy, dz, rot: float, tilt: float):
    """Coordinates in a frame turned by rot about z, then tilt about the new x axis."""
    c, s = np.cos(rot), np.sin(rot)
    u, v = c * dx + s * dy, -s * dx + c * dy
    ct, st = np.cos(tilt), np.sin(tilt)
    return u, ct * v + st * dz, -st * v + ct * dz


def ellipsoid_depth(cv: Canvas, centre, semi, rot: float = 0.0, tilt: float = 0.0):
    """(slices, depth in mm) of an ellipsoid: depth > 0 inside (approximate distance to the
    surface), or None when it misses the grid."""
    r = float(max(semi))
    got = cv.box(np.subtract(centre, r), np.add(centre, r))
    if got is None:
        return None
    sl, z, y, x = got
    u, v, w = _rotate(x - centre[0], y - centre[1], z - centre[2], rot, tilt)
    rho = np.sqrt((u / semi[0]) ** 2 + (v / semi[1]) ** 2 + (w / semi[2]) ** 2)
    return sl, (1.0 - rho) * float(min(semi))


def cylinder_depth(cv: Canvas, centre, a: float, b: float, h: float, rot: float = 0.0):
    """(slices, depth) of an upright elliptic cylinder (semi-axes a, b; height h), or None."""
    r = max(a, b)
    lo = (centre[0] - r, centre[1] - r, centre[2] - h / 2)
    hi = (centre[0] + r, centre[1] + r, centre[2] + h / 2)
    got = cv.box(lo, hi)
    if got is None:
        return None
    sl, z, y, x = got
    u, v, _ = _rotate(x - centre[0], y - centre[1], 0.0, rot, 0.0)
    radial = (1.0 - np.sqrt((u / a) ** 2 + (v / b) ** 2)) * min(a, b)
    return sl, np.minimum(radial, h / 2 - np.abs(z - centre[2]))


def tube_depth(cv: Canvas, points, radius: float):
    """(slices, depth) of a tube of the given radius around a polyline, or None.

    Points are resampled every radius/2 mm and each stamps a sphere into a running minimum of
    the distance to the centre line, window by window.
    """
    pts = _resample_polyline(np.asarray(points, dtype=float), radius / 2)
    got = cv.box(pts.min(0) - radius, pts.max(0) + radius)
    if got is None:
        return None
    sl, z, y, x = got
    dist = np.full((z.shape[0], y.shape[1], x.shape[2]), np.inf, dtype=np.float32)
    origin = np.array([x[0, 0, 0], y[0, 0, 0], z[0, 0, 0]])
    step = np.array([cv.spacing[2], cv.spacing[1], cv.spacing[0]])
    for p in pts:
        lo = np.maximum(np.floor((p - radius - origin) / step).astype(int), 0)
        hi = np.ceil((p + radius - origin) / step).astype(int) + 1
        w = (slice(lo[2], hi[2]), slice(lo[1], hi[1]), slice(lo[0], hi[0]))
        d = np.sqrt((z[w[0]] - p[2]) ** 2 + (y[:, w[1]] - p[1]) ** 2 + (x[:, :, w[2]] - p[0]) ** 2)
        if d.size:
            np.minimum(dist[w], d, out=dist[w])
    return sl, radius - dist


def _resample_polyline(pts: np.ndarray, step: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(s[-1] / max(step, 1e-3))) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, pts[:, k]) for k in range(3)], axis=1)
