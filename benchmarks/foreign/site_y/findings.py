"""Lesions as 3-D blobs inside bone: metastases and benign findings in their real patterns.

Metastases (Dabbagh Kakhki et al., Nucl Med Rev 2013; Krishnamurthy-style series; the
WUSTL teaching file "more than 90 % in vertebrae, pelvis, proximal femur, ribs, proximal
humerus and skull"): spine first, then ribs and pelvis; irregular (a union of 1-3 random
ellipsoids clipped to the bone and one voxel around it), asymmetric, uptake 1.6-18x the
local bone (log-normal, median 6). A few are photopenic (lytic) and a few studies are
superscans (diffuse axial uptake, faint kidneys).

Benign findings (SNMMI guideline "sources of error"; FIELD.md): symmetric degenerative
joints, fractures aligned on consecutive ribs, arthritis of hands/feet, sternal and
costochondral uptake, vertebral osteophytes, Paget disease of a whole bone segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .axial import REGIONS, UPTAKE
from .geometry import Volume, ellipsoid, rotation

MET_SITES = {3: 0.22, 4: 0.17, 2: 0.03, 6: 0.18, 10: 0.14, 5: 0.05, 11: 0.06, 12: 0.04,
             1: 0.05, 7: 0.03, 9: 0.02, 8: 0.01}


@dataclass
class Lesion:
    """One finding: its voxels (slices + mask into the volume) and its description."""

    id: int
    malignant: bool
    kind: str
    region: str
    ratio: float
    sl: tuple
    mask: np.ndarray
    extra: dict = field(default_factory=dict)


class BoneIndex:
    """Fast random access to the bone voxels of each region."""

    def __init__(self, vol: Volume):
        self.vol = vol
        self.flat = np.flatnonzero(vol.region)
        self.reg = vol.region.ravel()[self.flat]

    def pick(self, rng, region: int, zmax: float | None = None) -> np.ndarray | None:
        """Centre (z, y, x mm) of a random bone voxel of ``region`` (above ``zmax`` mm)."""
        idx = self.flat[self.reg == region]
        if zmax is not None:
            z = np.unravel_index(idx, self.vol.shape)[0] * self.vol.voxel + self.vol.origin[0]
            idx = idx[z < zmax]
        if idx.size == 0:
            return None
        k = np.unravel_index(int(rng.choice(idx)), self.vol.shape)
        return np.array(self.vol.origin) + self.vol.voxel * np.array(k, np.float64)


def blob(vol: Volume, rng, centre, radius: float, parts: int = 2, margin: int = 1):
    """An irregular blob: a union of ellipsoids, clipped to bone dilated by ``margin`` voxels."""
    ext = radius * 2.2
    sl, _ = vol.box(centre - ext, centre + ext)
    mask = np.zeros(tuple(s.stop - s.start for s in sl), bool)
    for _ in range(parts):
        c = centre + rng.normal(0, radius * 0.45, 3)
        r = tuple(radius * rng.uniform(0.55, 1.15, 3))
        s2, m2 = ellipsoid(vol, c, r, rot=rotation(rng))
        lo = [max(a.start, b.start) for a, b in zip(s2, sl)]
        hi = [min(a.stop, b.stop) for a, b in zip(s2, sl)]
        if any(h <= l for l, h in zip(lo, hi)):
            continue
        dst = tuple(slice(l - b.start, h - b.start) for l, h, b in zip(lo, hi, sl))
        src = tuple(slice(l - a.start, h - a.start) for l, h, a in zip(lo, hi, s2))
        mask[dst] |= m2[src]
    bone = vol.region[sl] > 0
    if margin:
        bone = ndimage.binary_dilation(bone, iterations=margin)
    mask &= bone
    if not mask.any():  # a blob smaller than a voxel: keep the voxel at its centre
        k = tuple(int(round((centre[a] - vol.origin[a]) / vol.voxel)) - sl[a].start for a in range(3))
        if all(0 <= k[a] < mask.shape[a] for a in range(3)):
            mask[k] = True
    return sl, mask


_LUT = np.full(256, 0.6, np.float32)
for _k, _v in UPTAKE.items():
    _LUT[_k] = _v


def apply(vol: Volume, les: Lesion, level: float, ratio=None) -> None:
    """Set the lesion's activity: ``ratio`` x the normal uptake of its region's bone
    (voxels of the lesion just outside bone: 0.6 x the bone level)."""
    reg = vol.region[les.sl]
    a = vol.act[les.sl]
    r = les.ratio if ratio is None else ratio
    a[les.mask] = _LUT[reg[les.mask]] * level * r


def region_of(vol: Volume, sl, mask) -> str:
    """The most common region name under a mask."""
    r = vol.region[sl][mask]
    r = r[r > 0]
    return REGIONS[int(np.bincount(r).argmax())] if r.size else "soft tissue"


def side_of(vol: Volume, sl, mask) -> str:
    """'right' / 'left' / 'midline' from the mask's centre x."""
    xs = (np.nonzero(mask)[2] + sl[2].start) * vol.voxel + vol.origin[2]
    x = float(xs.mean()) if xs.size else 0.0
    return "midline" if abs(x) < 15 else ("right" if x < 0 else "left")
