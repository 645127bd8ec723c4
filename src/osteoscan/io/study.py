"""``load_study``: one entry point for every input, deciding by content, not by extension."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io.dicom import classify, decode_pixels, read_dataset, scan_from_datasets
from osteoscan.io.dicomcheck import spacing_of
from osteoscan.io.folder import list_folder, load_folder
from osteoscan.io.frames import scan_from_frames
from osteoscan.io.guard import reading
from osteoscan.io.images import format_of_head, frames_from_picture, scan_from_picture
from osteoscan.types import BoneScan, StudySource

log = logging.getLogger(__name__)


def load_study(
    path: str | Path, *, patient_id: str | None = None, study_id: str | None = None
) -> BoneScan:
    """Load one whole-body bone scan study from a file or a folder.

    The format is decided from the content: the DICOM ``DICM`` magic (or a successful
    pydicom parse), or the PNG/JPEG/TIFF magic bytes. A folder is one study: its DICOM
    files are grouped by StudyInstanceUID (when it holds several studies, ``study_id``
    must name one of them; :func:`osteoscan.io.folder.load_studies` loads them all). Files of
    a folder that are not used (unreadable, empty, damaged copies, other studies, stray
    files) do not fail the study: they are listed in ``scan.source.skipped`` with the reason.

    Args:
        path: a DICOM file, a PNG/JPEG/TIFF picture, or a folder of DICOM files.
        patient_id: patient id to use (default: PatientID, else the file stem).
        study_id: study id to use (default: StudyInstanceUID, else the file stem).

    Returns:
        The scan, posterior mirrored into the anterior orientation.

    Raises:
        InputError: anything wrong with the input; the message names the file.

    Example:
        >>> scan = load_study("wb.dcm")  # doctest: +SKIP
        >>> scan.views[1].view, scan.views[1].rule  # doctest: +SKIP
        ('posterior', 'view_code')
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        problem = "no such file or folder" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise InputError(path, problem or "cannot be read") from None
    if stat.S_ISDIR(info.st_mode):
        return load_folder(path, patient_id=patient_id, study_id=study_id)
    if info.st_size == 0:
        raise InputError(path, "empty file")
    with reading(path):
        ds = _sniff_and_parse(path)
        if ds is None:
            return scan_from_picture(path, patient_id=patient_id, study_id=study_id)
        return _from_dataset(path, ds, patient_id=patient_id, study_id=study_id)


def _sniff_and_parse(path: Path) -> Dataset | None:
    """Parse a DICOM file, or None when its magic bytes say picture; the file is opened once."""
    try:
        with open(path, "rb") as fh:
            if format_of_head(fh.read(8)) is not None:
                return None
            fh.seek(0)
            return read_dataset(path, fh=fh)
    except InputError as exc:
        why = exc.problem.split(" (", 1)[1][:-1] if " (" in exc.problem else exc.problem
        raise InputError(path, f"not a DICOM file nor a PNG/JPEG/TIFF picture ({why})") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None


def _from_dataset(
    path: Path, ds: Dataset, *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    if classify(ds, path) == "nm":
        return scan_from_datasets([(path, ds)], patient_id=patient_id, study_id=study_id)
    return scan_from_sc(path, ds, patient_id=patient_id, study_id=study_id)


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
    frames, notes = frames_from_picture(arr, path)
    if inverted:
        notes.insert(0, "MONOCHROME1: values inverted to the displayed grey levels")
    if tags.number(ds, tags.BITS_ALLOCATED, 8) == 8:
        notes.insert(0, "8-bit Secondary Capture: display values, not counts")
    source = StudySource(
        files=(str(path.resolve()),),
        format="dicom-sc",
        vendor=tags.text(ds, tags.MANUFACTURER) or None,
        model=tags.text(ds, tags.MODEL_NAME) or None,
        notes=tuple(notes),
    )
    return scan_from_frames(
        frames,
        patient_id=patient_id or tags.text(ds, tags.PATIENT_ID) or path.stem,
        study_id=study_id or tags.text(ds, tags.STUDY_UID) or path.stem,
        spacing_mm=spacing_of(ds, path),
        source=source,
        meta={
            "modality": tags.text(ds, tags.MODALITY),
            "sop_instance_uids": tags.text(ds, tags.SOP_INSTANCE_UID),
        },
    )


def _displayed(arr: np.ndarray, bits_stored: int) -> np.ndarray:
    """MONOCHROME1 pixels as displayed: the highest storable value minus each value."""
    if arr.dtype.kind in "ui":
        top = (1 << min(bits_stored, arr.dtype.itemsize * 8)) - 1
        if arr.dtype.kind == "i":
            top = int(arr.max())  # signed data: no standard top; the brightest stored value
        return (np.int64(top) - arr.astype(np.int64)).clip(0).astype(np.float32)
    return float(arr.max()) - arr


def study_files(folder: Path) -> list[Path]:
    """Files under a folder that look like DICOM (magic bytes, or a .dcm name), sorted.

    Empty ``.dcm`` files are included, so that whoever loads them lists them ("empty file")
    instead of their vanishing.

    Args:
        folder: the folder (searched recursively; hidden files and DICOMDIR skipped).

    Returns:
        The DICOM candidates.
    """
    listing = list_folder(folder)
    return sorted(listing.dicom + [p for p in listing.empty if p.suffix.lower() == ".dcm"])
