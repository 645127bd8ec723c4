"""Secondary Capture objects: their pixels are a picture, read with the picture clean-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io.dicom import decode_pixels
from osteoscan.io.dicomcheck import spacing_of
from osteoscan.io.frames import scan_from_frames
from osteoscan.io.images import frames_from_picture, with_picture_map
from osteoscan.types import BoneScan, StudySource


def scan_from_sc(
    path: Path, ds: Dataset, *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    """Read a Secondary Capture object as a picture (clean-up as for PNG exports).

    Args:
        path: the file.
        ds: its dataset (checked by :func:`osteoscan.io.dicom.classify`).
        patient_id: override for PatientID.
        study_id: override for StudyInstanceUID.

    Returns:
        The scan.

    Raises:
        InputError: undecodable or unusable pixels.
    """
    arr = decode_pixels(ds, path)
    samples = tags.number(ds, tags.SAMPLES_PER_PIXEL, 1)
    if (samples == 1 and arr.ndim == 3) or arr.ndim == 4:
        raise InputError(
            path, f"multi-frame Secondary Capture ({arr.shape[0]} frames); expected one"
        )
    inverted = tags.text(ds, tags.PHOTOMETRIC).strip().upper() == "MONOCHROME1"
    if inverted:  # lowest value displayed white: the picture as shown is (max - value)
        arr = _displayed(arr, tags.number(ds, tags.BITS_STORED, 8))
    eight_bit = tags.number(ds, tags.BITS_ALLOCATED, 8) == 8
    cut = frames_from_picture(arr, path)
    notes = cut.notes
    if inverted:
        notes.insert(0, "MONOCHROME1: values inverted to the displayed grey levels")
    if eight_bit:
        notes.insert(0, "8-bit Secondary Capture: display values, not counts")
    source = StudySource(
        files=(str(path.resolve()),),
        format="dicom-sc",
        vendor=tags.text(ds, tags.MANUFACTURER) or None,
        model=tags.text(ds, tags.MODEL_NAME) or None,
        notes=tuple(notes),
    )
    scan = scan_from_frames(
        cut.frames,
        patient_id=patient_id or tags.text(ds, tags.PATIENT_ID) or path.stem,
        study_id=study_id or tags.text(ds, tags.STUDY_UID) or path.stem,
        spacing_mm=spacing_of(ds, path),
        source=source,
        meta={
            "modality": tags.text(ds, tags.MODALITY),
            "sop_instance_uids": tags.text(ds, tags.SOP_INSTANCE_UID),
        },
    )
    return with_picture_map(scan, cut)


def _displayed(arr: np.ndarray, bits_stored: int) -> np.ndarray:
    """MONOCHROME1 pixels as displayed: the highest storable value minus each value."""
    if arr.dtype.kind in "ui":
        top = (1 << min(bits_stored, arr.dtype.itemsize * 8)) - 1
        if arr.dtype.kind == "i":
            top = int(arr.max())  # signed data: no standard top; the brightest stored value
        return (np.int64(top) - arr.astype(np.int64)).clip(0).astype(np.float32)
    return float(arr.max()) - arr
