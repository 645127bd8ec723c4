"""Training data of the lesion stage: a scan with its lesions' instance masks and labels.

A :class:`LesionStudy` is built from a simulated study (:func:`from_simulated`) or from
annotations (:func:`from_annotations`): polygons filled, rectangles filled, or every outline
reduced to a box-constrained pseudo-mask (``supervision="box"``). :func:`thin_scan` makes the
count-level copies used for augmentation. Training itself is :mod:`osteoscan.lesions.training`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from skimage.draw import polygon as fill_polygon

from osteoscan.lesions.hotspots import box_pseudo_mask, scan_views
from osteoscan.types import Annotation, BoneScan


@dataclass
class LesionStudy:
    """One training study for the lesion stage.

    Attributes:
        scan: the scan.
        lesion_masks: int32 instance map per view (0 = background); the same id on both
            views is the same lesion.
        lesion_labels: lesion id -> "benign" / "malignant".
        region_maps: uint8 region map per view, when known.
        primary: primary tumour, when known.
        bsi: reference Bone Scan Index, when known.
        meta: other values: ``boxes`` (lesion id -> the drawn box x0, y0, x1, y1 in view
            pixels, from annotations), ``label`` (the manifest's study label).
    """

    scan: BoneScan
    lesion_masks: dict[str, np.ndarray]
    lesion_labels: dict[int, str]
    region_maps: dict[str, np.ndarray] | None = None
    primary: str | None = None
    bsi: float | None = None
    meta: dict = field(default_factory=dict)

    @property
    def patient_id(self) -> str:
        """The scan's patient id."""
        return self.scan.patient_id


def from_simulated(sim) -> LesionStudy:
    """A :class:`LesionStudy` from an ``osteoscan.simulate`` SimulatedStudy."""
    labels = {int(les.id): ("malignant" if les.malignant else "benign") for les in sim.lesions}
    return LesionStudy(
        scan=sim.scan,
        lesion_masks={v: np.asarray(m, dtype=np.int32) for v, m in sim.lesion_masks.items()},
        lesion_labels=labels,
        region_maps={v: np.asarray(m, dtype=np.uint8) for v, m in sim.region_maps.items()},
        primary=getattr(sim.label, "primary", None),
        bsi=getattr(sim, "bsi", None),
    )


def _box(points) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(ys), min(xs), max(ys), max(xs)


def from_annotations(
    scan: BoneScan,
    annotations: Sequence[Annotation],
    *,
    supervision: str = "mask",
    region_maps: dict[str, np.ndarray] | None = None,
    primary: str | None = None,
) -> LesionStudy:
    """A :class:`LesionStudy` from polygon/rectangle annotations (e.g. LabelMe).

    Each annotation is its own lesion (annotations do not link the two views; where outlines
    overlap, the smaller one keeps the shared pixels, so a box inside another stays a lesion). "ignore"
    outlines are skipped.

    Args:
        scan: the scan the annotations belong to.
        annotations: outlines in the scan's pixel grid (posterior mirrored).
        supervision: "mask" (fill polygons and boxes) or "box" (box pseudo-masks only).
        region_maps: optional region maps.
        primary: optional primary tumour.

    Raises:
        ValueError: unknown supervision.
    """
    if supervision not in ("mask", "box"):
        raise ValueError(f"supervision must be 'mask' or 'box', got {supervision!r}")
    views = scan_views(scan)
    masks = {v: np.zeros(x.shape, dtype=np.int32) for v, x in views.items()}
    labels: dict[int, str] = {}
    boxes: dict[int, tuple[float, ...]] = {}  # lesion id -> drawn box x0, y0, x1, y1 (view pixels)
    painted = []
    for ann in annotations:
        if ann.label == "ignore" or ann.view not in masks:
            continue
        lid = len(labels) + 1
        painted.append((lid, ann.view, _outline_region(views[ann.view], ann, supervision)))
        labels[lid] = ann.label
        y0, x0, y1, x1 = _box(ann.points)
        boxes[lid] = (x0, y0, x1, y1)
    # largest first, smaller outlines painted over them: a box drawn inside another keeps its own
    # pixels (and stays a lesion) while the larger one keeps the rest
    for lid, view, region in sorted(painted, key=lambda t: -int(t[2].sum())):
        masks[view][region] = lid
    return LesionStudy(scan, masks, labels, region_maps, primary, meta={"boxes": boxes})


def _outline_region(counts: np.ndarray, ann: Annotation, supervision: str) -> np.ndarray:
    """The pixels one outline labels: a box pseudo-mask ("box"), else the filled rectangle or
    polygon."""
    if supervision == "box":
        return box_pseudo_mask(counts, [_box(ann.points)])
    if ann.kind == "rectangle":
        return box_pseudo_mask(counts, [_box(ann.points)], mode="box")
    rr, cc = fill_polygon([p[1] for p in ann.points], [p[0] for p in ann.points], counts.shape)
    region = np.zeros(counts.shape, bool)
    region[rr, cc] = True
    return region


def thin_scan(scan: BoneScan, fraction: float, rng: np.random.Generator) -> BoneScan:
    """The same scan with fewer counts: binomial thinning keeps each count with probability
    ``fraction`` (exactly what a shorter acquisition or lower activity gives), so training
    also sees the noise level of low-count sites."""
    def thin(x):
        return None if x is None else rng.binomial(np.asarray(x).astype(np.int64), fraction).astype(np.float32)

    return dataclasses.replace(scan, anterior=thin(scan.anterior), posterior=thin(scan.posterior))
