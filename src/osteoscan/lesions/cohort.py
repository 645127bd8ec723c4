"""What both stages of ``osteoscan lesions cv`` read from an annotated study: its label and the
boxes of its lesions in view and picture pixels (shared by :mod:`osteoscan.lesions.cv` and
:mod:`osteoscan.lesions.detector_cv`, which is imported by the former)."""

from __future__ import annotations

import numpy as np

from osteoscan.evaluation.io import positive_label
from osteoscan.lesions.studies import LesionStudy


def study_positive(st: LesionStudy) -> int:
    """1 when the study is metastatic: its label when known, else any malignant outline."""
    label = st.meta.get("label")
    if label:
        return int(positive_label(str(label)))
    return int(any(v == "malignant" for v in st.lesion_labels.values()))


def box_text(box) -> str:
    """A box as ``x0,y0,x1,y1`` text (the CSV column)."""
    return ",".join(f"{float(v):.6g}" for v in box)


def lesion_box(st: LesionStudy, lid: int, mask: np.ndarray) -> tuple[float, ...]:
    """The lesion's box ``x0,y0,x1,y1`` in view pixels (pixel edges, BoneScan orientation): the
    drawn box for annotations, else the mask's bounding box."""
    box = st.meta.get("boxes", {}).get(lid)
    if box is None:
        rows, cols = np.nonzero(mask)
        box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    return tuple(float(v) for v in box)


def picture_box(st: LesionStudy, view: str, box) -> str:
    """For a screen capture, ``box`` (view pixels) on the picture (``BoneScan.source.picture``)
    as text; "" otherwise."""
    picture = getattr(getattr(st.scan, "source", None), "picture", None)
    if picture is None or picture.placement(view) is None:
        return ""
    (ax, ay), (bx, by) = (picture.to_picture(view, box[1], box[0]), picture.to_picture(view, box[3], box[2]))
    return box_text((min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))
