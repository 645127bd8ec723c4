"""How many metastases a study has, where, how big and how bright.

Burden: see ``burden`` (REALISM.md: 45 % / 20 % / 35 % of real metastatic studies with
<= 3 / 4-6 / > 6 malignant boxes; FIELD.md: oligometastatic = 1-3). Long-bone metastases are
proximal (red marrow). Size: blob radius log-normal, median 17 mm (6-40 mm); uptake 1.6-18x bone, median 6.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .findings import MET_SITES, BoneIndex, Lesion, apply, blob, region_of, side_of
from .geometry import Volume

_PROXIMAL = {11: 0.60, 12: 0.29}  # z / H above which long-bone metastases are drawn


def burden(rng) -> tuple[int, bool]:
    """(number of metastases, superscan?).

    1: 35 %, 2: 20 %, 3: 10 %, 4-6: 12 %, 7-20: 18 %, superscan (25-44 diffuse): 5 %, so that
    the visible malignant (lesion, view) pairs match REALISM.md's boxes per study.
    """
    u = rng.random()
    if u < 0.05:
        return int(rng.integers(25, 45)), True
    for cut, lo, hi in ((0.40, 1, 1), (0.60, 2, 2), (0.70, 3, 3), (0.82, 4, 6)):
        if u < cut:
            return int(rng.integers(lo, hi + 1)), False
    return int(rng.integers(7, 21)), False


def _site(rng, index: BoneIndex, H: float, axial_only: bool):
    regs = [r for r in MET_SITES if not (axial_only and r in (11, 12, 9, 8))]
    p = np.array([MET_SITES[r] for r in regs])
    for _ in range(10):
        reg = int(rng.choice(regs, p=p / p.sum()))
        zmax = _PROXIMAL[reg] * H if reg in _PROXIMAL else None
        c = index.pick(rng, reg, zmax)
        if c is not None:
            return reg, c
    return None, None


def draw_metastases(vol: Volume, rng, index: BoneIndex, H: float, level: float,
                    n: int, superscan: bool, first_id: int) -> list[Lesion]:
    """Paint ``n`` metastases; returns them (ids from ``first_id``)."""
    out = []
    for k in range(n):
        reg, c = _site(rng, index, H, superscan)
        if reg is None:
            continue
        if superscan:
            radius, ratio = rng.uniform(7, 13), float(rng.uniform(1.4, 2.2))
        else:
            radius = float(np.clip(rng.lognormal(np.log(17.0), 0.4), 6, 40))
            ratio = float(np.clip(rng.lognormal(np.log(6.0), 0.55), 1.6, 18.0))
        sl, mask = blob(vol, rng, c, radius, parts=int(rng.integers(1, 4)))
        kind = "osteoblastic"
        if not superscan and rng.random() < 0.05:
            kind = "lytic"
        les = Lesion(first_id + len(out), True, kind, region_of(vol, sl, mask), round(ratio, 2), sl, mask,
                     {"side": side_of(vol, sl, mask), "radius_mm": round(radius, 1)})
        if kind == "lytic":
            core = ndimage.binary_erosion(mask, iterations=1)
            apply(vol, les, level, ratio=min(ratio, 2.5))
            apply(vol, Lesion(0, True, "", "", 0.3, sl, core), level)
            les.ratio = 0.3
        else:
            apply(vol, les, level)
        out.append(les)
    return out


def bsi(vol: Volume, lesions: list[Lesion]) -> float:
    """Bone Scan Index (%): bone mass under malignant lesions over the whole skeleton's mass."""
    total = float(vol.density.sum())
    hit = np.zeros(vol.shape, bool)
    for les in lesions:
        if les.malignant:
            hit[les.sl] |= les.mask
    return 100.0 * float(vol.density[hit].sum()) / max(total, 1e-9)
