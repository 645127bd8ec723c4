"""Ground truth derived from the phantom: region maps, lesion outlines, Bone Scan Index."""

from __future__ import annotations

import numpy as np
from skimage.measure import approximate_polygon, find_contours

from osteoscan.simulate.anatomy import Structure
from osteoscan.skeleton import MASS_FRACTION, REGION_CODE, REGIONS
from osteoscan.types import Annotation

BONE_THICKNESS_MM = 3.0
"""A pixel is bone when the projected bone thickness along its ray exceeds this (mm)."""


def region_map(bones: list[Structure], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Region codes and bone mask: each bone pixel takes the region of its brightest bone.

    Returns:
        (uint8 region codes, bool bone mask), both (rows, cols).
    """
    best = np.zeros(shape, dtype=np.float32)
    total = np.zeros(shape, dtype=np.float32)
    codes = np.zeros(shape, dtype=np.uint8)
    for st in bones:
        rs, cs, th = st.patch
        act = th * st.uptake
        win = act > best[rs, cs]
        best[rs, cs] = np.where(win, act, best[rs, cs])
        codes[rs, cs] = np.where(win, REGION_CODE[st.region], codes[rs, cs])
        total[rs, cs] += th
    bone = total > BONE_THICKNESS_MM
    codes[~bone] = 0
    return codes, bone


def bone_scan_index(masks: dict[str, np.ndarray], malignant_ids: list[int],
                    regions: np.ndarray) -> float:
    """Bone Scan Index (percent of skeletal mass involved by malignant lesions).

    BSI = 100 x sum over regions of MASS_FRACTION[region] x (involved bone pixels of the region /
    bone pixels of the region), where a pixel is involved when a malignant lesion covers it on
    either view (both views are in BoneScan orientation, so a pixel is one body location).

    Args:
        masks: per view, int32 lesion instance ids.
        malignant_ids: the ids of malignant lesions.
        regions: uint8 region codes (bone pixels only).
    """
    involved = np.zeros(regions.shape, dtype=bool)
    for m in masks.values():
        involved |= np.isin(m, malignant_ids)
    total = 0.0
    counts = np.bincount(regions.ravel(), minlength=len(REGIONS))
    hit = np.bincount(regions[involved].ravel(), minlength=len(REGIONS))
    for code, name in enumerate(REGIONS):
        if code and counts[code]:
            total += MASS_FRACTION[name] * hit[code] / counts[code]
    return 100.0 * total


def outline(mask: np.ndarray, offset: tuple[int, int]) -> tuple[tuple[float, float], ...]:
    """The longest contour of a bool mask as ((x, y), ...) in LabelMe pixel-edge units.

    Pixel (r, c) covers c <= x < c + 1 and r <= y < r + 1 (docs/data-format.md); the contour
    runs half-way between inside and outside pixel centres, i.e. on pixel edges.

    Args:
        mask: bool mask over a box.
        offset: (row, col) of the box's first pixel in the image.
    """
    padded = np.pad(mask.astype(np.float32), 1)
    contours = find_contours(padded, 0.5)
    if not contours:
        return ()
    c = approximate_polygon(max(contours, key=len), tolerance=0.4)
    # padded index -> pixel centre (-1) -> edge units (+0.5)
    return tuple((round(float(x) - 0.5 + offset[1], 2), round(float(y) - 0.5 + offset[0], 2))
                 for y, x in c[:-1])


def annotations_for(lesion_boxes: list, lesions: list) -> tuple[Annotation, ...]:
    """Polygon annotations of every lesion on every view where it is visible.

    Args:
        lesion_boxes: per lesion (rows slice, cols slice, bool mask) in image pixels.
        lesions: the SimLesion objects, same order.
    """
    out = []
    for (rs, cs, mask), les in zip(lesion_boxes, lesions):
        pts = outline(mask, (rs.start, cs.start))
        if len(pts) < 3:
            continue
        label = "malignant" if les.malignant else "benign"
        for view in les.views:
            out.append(Annotation(view=view, kind="polygon", points=pts, label=label,
                                  raw_label=label))
    return tuple(out)
