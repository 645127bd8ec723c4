"""Skeletal regions per view, hotspot placement and anterior/posterior matching.

The region network is a small multi-class MONAI U-Net (codes of
:data:`osteoscan.skeleton.REGION_CODE`, 0 = background) trained on the simulator's region
maps. **Caveat:** it has only seen simulated anatomy; on real scans its boundaries are a
rough guide (docs/lesions.md).

Placement: a hotspot takes the most frequent non-background region label under its mask;
when its mask touches no bone label, the label of the nearest bone pixel to its centroid.

Matching: anterior and posterior hotspots of the same lesion are paired by a Hungarian
assignment (``scipy.optimize.linear_sum_assignment``) on centroid distance in mm (both views
in anterior orientation), allowed only between hotspots of the same region and closer than
a gate (default 40 mm, about 17 rows at 2.4 mm: the two views of one sweep are offset by a
few pixels at most, and the two projections of one lesion differ by its depth's blur).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from osteoscan.lesions.hotspots import WORK_SHAPE, ViewSegmenter
from osteoscan.models.segmenters import create_segmenter
from osteoscan.skeleton import REGIONS
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

GATE_MM = 40.0
"""Largest centroid distance (mm) for an anterior/posterior match."""


@dataclass
class RegionSegmenter(ViewSegmenter):
    """A trained skeletal-region network plus its card."""

    @classmethod
    def build(cls, arch: str = "unet", work_shape=WORK_SHAPE, **arch_kwargs) -> RegionSegmenter:
        """A fresh (untrained) region segmenter with ``len(REGIONS)`` output classes."""
        kwargs = {"in_channels": 2, "out_channels": len(REGIONS), **arch_kwargs}
        card = {"task": "skeletal-regions", "arch": arch, "arch_kwargs": kwargs,
                "work_shape": list(work_shape), "labels": list(REGIONS),
                "caveat": "trained on simulated anatomy only"}
        return cls(create_segmenter(arch, **kwargs), card)

    def predict(self, scan: BoneScan) -> dict[str, np.ndarray]:
        """Per-view uint8 region maps (codes of REGION_CODE) at the scan's grid."""
        return {  # logits are channels-last: argmax over the contiguous last axis
            v: lg[0].permute(1, 2, 0).argmax(-1).numpy().astype(np.uint8)
            for v, lg in self.view_logits(scan).items()
        }


def place(mask: np.ndarray, region_map: np.ndarray, row: float, col: float) -> str:
    """Region of one hotspot: majority label under the mask, else the nearest bone label."""
    under = region_map[mask]
    under = under[under > 0]
    if under.size:
        return REGIONS[int(np.bincount(under).argmax())]
    if not region_map.any():
        return "background"
    _, (ri, ci) = ndimage.distance_transform_edt(region_map == 0, return_indices=True)
    r = int(np.clip(round(row), 0, region_map.shape[0] - 1))
    c = int(np.clip(round(col), 0, region_map.shape[1] - 1))
    return REGIONS[int(region_map[ri[r, c], ci[r, c]])]


def match_views(
    anterior: list[Hotspot],
    posterior: list[Hotspot],
    spacing_mm: tuple[float, float] | None,
    gate_mm: float = GATE_MM,
) -> tuple[list[Hotspot], list[Hotspot]]:
    """Pair hotspots of the two views (same region, centroid distance <= gate).

    Args:
        anterior: hotspots of the anterior view.
        posterior: hotspots of the posterior view (mirrored into anterior orientation).
        spacing_mm: (row, col) spacing; None -> distances in pixels against the gate.
        gate_mm: largest allowed distance.

    Returns:
        Copies of both lists with ``match`` set to the index of the partner in the other
        list (None when unmatched).

    Example:
        >>> import numpy as np
        >>> from osteoscan.types import Hotspot
        >>> m = np.zeros((4, 4), bool)
        >>> a = [Hotspot("anterior", 10, 5, 1, "ribs", 0.5, m)]
        >>> p = [Hotspot("posterior", 90, 5, 1, "ribs", 0.5, m),
        ...      Hotspot("posterior", 11, 6, 1, "ribs", 0.5, m)]
        >>> [h.match for h in match_views(a, p, (2.4, 2.4))[1]]
        [None, 0]
    """
    if not anterior or not posterior:
        return list(anterior), list(posterior)
    sr, sc = spacing_mm or (1.0, 1.0)
    a = np.array([[h.row * sr, h.col * sc] for h in anterior])
    p = np.array([[h.row * sr, h.col * sc] for h in posterior])
    dist = np.linalg.norm(a[:, None, :] - p[None, :, :], axis=2)
    same = np.array([[ha.region == hp.region for hp in posterior] for ha in anterior])
    allowed = same & (dist <= gate_mm)
    cost = np.where(allowed, dist, 1e9)
    rows, cols = linear_sum_assignment(cost)
    a_match: dict[int, int] = {}
    for i, j in zip(rows, cols, strict=True):
        if allowed[i, j]:
            a_match[int(i)] = int(j)
    p_match = {j: i for i, j in a_match.items()}
    return (
        [dataclasses.replace(h, match=a_match.get(i)) for i, h in enumerate(anterior)],
        [dataclasses.replace(h, match=p_match.get(j)) for j, h in enumerate(posterior)],
    )


def normal_bone_means(counts: np.ndarray, region_map: np.ndarray,
                      hotspot_union: np.ndarray) -> dict[str, float]:
    """Mean counts of each region's bone outside every hotspot (for uptake ratios)."""
    normal = (region_map > 0) & ~hotspot_union
    out = {"__all__": float(counts[normal].mean()) if normal.any() else float(counts.mean())}
    for code in np.unique(region_map[normal]):
        out[REGIONS[int(code)]] = float(counts[normal & (region_map == code)].mean())
    return out
