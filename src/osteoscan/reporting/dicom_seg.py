"""DICOM Segmentation objects of 3-D lesion masks, referencing the source CT (highdicom).

:func:`write_lesion_seg` turns a semantic label map on the CT grid (0 background, 1 benign,
2 metastatic) into a binary DICOM Segmentation (one segment per class present) whose frames
reference the CT slices they were drawn on. The CT slices are read back from the series
folder (headers only) and matched to the volume's slices by ImagePositionPatient: the mask's
slice ``k`` is the CT slice at ``volume.position((k, 0, 0))``, so the reader's slice order is
used as is, never re-derived. The objects pass ``dciodvfy`` (dicom3tools) without errors
(tests/reporting/test_dicom_seg.py runs it when it is installed).

Example:
    >>> write_lesion_seg(ct_volume, semantic, "out/seg.dcm")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from osteoscan import __version__
from osteoscan.artefacts import atomic_write
from osteoscan.errors import InputError

logger = logging.getLogger(__name__)

SEGMENTS = {
    1: ("benign bone lesion", Code("52988006", "SCT", "Lesion")),
    2: ("bone metastasis", Code("94222008", "SCT", "Secondary malignant neoplasm of bone")),
}
"""Label value -> (segment label, SNOMED CT segmented property type)."""

POSITION_TOLERANCE_MM = 0.05


def _series_headers(folder: Path, series_uid: str | None) -> list[pydicom.Dataset]:
    """Headers of the CT slices of one series under ``folder`` (pixel data not read)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, AttributeError):
            continue
        if getattr(ds, "Modality", "") == "CT" and "ImagePositionPatient" in ds and (
                series_uid is None or ds.SeriesInstanceUID == series_uid):
            found.append(ds)
    return found


def source_slices(ct) -> list[pydicom.Dataset]:
    """The CT series' headers in the volume's slice order (matched by position).

    Raises:
        InputError: the volume does not come from a DICOM CT series, or a slice is missing.
    """
    folder = Path(ct.source.path)
    if ct.source.kind != "dicom-ct-series" or not folder.is_dir():
        raise InputError(folder, "a DICOM Segmentation needs the source CT as a DICOM series "
                                 "folder (NIfTI input: the NIfTI masks are written instead)")
    headers = _series_headers(folder, ct.source.series_uid)
    positions = np.array([[float(v) for v in ds.ImagePositionPatient][::-1] for ds in headers])
    ordered = []
    for k in range(ct.shape[0] if len(positions) else 0):
        dist = np.linalg.norm(positions - ct.position((k, 0, 0)), axis=1)
        best = int(np.argmin(dist))
        if dist[best] <= POSITION_TOLERANCE_MM:
            ordered.append(headers[best])
    if len(ordered) != ct.shape[0]:
        raise InputError(folder, f"found {len(ordered)} of the {ct.shape[0]} CT slices the "
                                 "volume was read from (changed since it was read?)")
    return ordered


def _descriptions(labels: list[int]) -> list[hd.seg.SegmentDescription]:
    algo = hd.AlgorithmIdentificationSequence(
        name="osteoscan seg3d", version=__version__, family=codes.cid7162.ArtificialIntelligence)
    return [
        hd.seg.SegmentDescription(
            segment_number=n, segment_label=SEGMENTS[value][0],
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=SEGMENTS[value][1],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algo)
        for n, value in enumerate(labels, start=1)
    ]


def lesion_segmentation(ct, semantic: np.ndarray, *, series_number: int = 901
                        ) -> hd.seg.Segmentation:
    """The Segmentation dataset of a (z, y, x) label map on ``ct``'s grid."""
    if semantic.shape != ct.shape:
        raise ValueError(f"mask {semantic.shape} is not on the CT grid {ct.shape}")
    sources = source_slices(ct)
    present = [v for v in SEGMENTS if (semantic == v).any()]
    # segment numbers 1..n in label order; an empty mask still gets the benign segment so
    # that the object is valid (a Segmentation needs one segment) and says "nothing found"
    labels = present or [1]
    stack = np.zeros((len(labels), *semantic.shape), dtype=np.uint8)
    for n, value in enumerate(labels):
        stack[n] = semantic == value
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=np.moveaxis(stack, 0, -1),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=_descriptions(labels),
        series_instance_uid=hd.UID(), series_number=series_number, sop_instance_uid=hd.UID(),
        instance_number=1, manufacturer="osteoscan", manufacturer_model_name="seg3d",
        software_versions=__version__, device_serial_number="0",
        series_description="osteoscan bone lesions (research use only)",
        omit_empty_frames=False)


def write_lesion_seg(ct, semantic: np.ndarray, path: str | Path, **kwargs) -> Path:
    """Write :func:`lesion_segmentation` to ``path`` (atomically)."""
    seg = lesion_segmentation(ct, semantic, **kwargs)
    return atomic_write(path, lambda tmp: seg.save_as(tmp))
