"""``load_study``: one entry point for every input, deciding by content, not by extension."""

from __future__ import annotations

import logging
import stat
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io import limits
from osteoscan.io.dicom import (
    decode_pixels,
    dicom_kind,
    is_dicom,
    read_dataset,
    scan_from_datasets,
    spacing_of,
)
from osteoscan.io.frames import scan_from_frames
from osteoscan.io.images import (
    format_of_head,
    frames_from_picture,
    picture_format,
    scan_from_picture,
)
from osteoscan.types import BoneScan, StudySource

log = logging.getLogger(__name__)


def load_study(
    path: str | Path, *, patient_id: str | None = None, study_id: str | None = None
) -> BoneScan:
    """Load one whole-body bone scan study from a file or a folder.

    The format is decided from the content: the DICOM ``DICM`` magic (or a successful
    pydicom parse), or the PNG/JPEG/TIFF magic bytes. A folder is one study: its DICOM
    files are grouped by StudyInstanceUID (when it holds several studies, ``study_id``
    must name one of them).

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
    except OSError:
        raise InputError(path, "no such file or folder") from None
    if stat.S_ISDIR(info.st_mode):
        return _load_folder(path, patient_id=patient_id, study_id=study_id)
    if info.st_size == 0:
        raise InputError(path, "empty file")
    ds = _sniff_and_parse(path)
    if ds is None:
        return scan_from_picture(path, patient_id=patient_id, study_id=study_id)
    return _from_datasets([(path, ds)], patient_id=patient_id, study_id=study_id)


def _sniff_and_parse(path: Path) -> Dataset | None:
    """Parse a DICOM file, or None when its magic bytes say picture; the file is opened once."""
    try:
        with open(path, "rb") as fh:
            if format_of_head(fh.read(8)) is not None:
                return None
            fh.seek(0)
            return read_dataset(path, fh=fh)
    except (InputError, OSError):
        raise InputError(path, "not a DICOM file nor a PNG/JPEG/TIFF picture") from None


def _from_datasets(
    items: list[tuple[Path, Dataset]], *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    kinds = [dicom_kind(ds, p) for p, ds in items]
    nm = [item for item, kind in zip(items, kinds, strict=True) if kind == "nm"]
    if nm:
        scan = scan_from_datasets(nm, patient_id=patient_id, study_id=study_id)
        if len(nm) < len(items):
            skipped = f"{len(items) - len(nm)} Secondary Capture file(s) ignored (NM present)"
            scan = replace(scan, source=replace(scan.source, notes=scan.source.notes + (skipped,)))
        return scan
    if len(items) > 1:
        raise InputError(
            items[0][0], f"{len(items)} Secondary Capture files in one study; expected one"
        )
    return _from_sc(*items[0], patient_id=patient_id, study_id=study_id)


def _from_sc(path: Path, ds: Dataset, *, patient_id: str | None, study_id: str | None) -> BoneScan:
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
    cropped = any(n.startswith("cropped") or n.startswith("two bodies") for n in notes)
    return scan_from_frames(
        frames,
        patient_id=patient_id or tags.text(ds, tags.PATIENT_ID) or path.stem,
        study_id=study_id or tags.text(ds, tags.STUDY_UID) or path.stem,
        spacing_mm=None if cropped and spacing_of(ds) is None else spacing_of(ds),
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

    Args:
        folder: the folder (searched recursively; hidden files and DICOMDIR skipped).

    Returns:
        The DICOM candidates.
    """
    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith(".") or p.name.upper() == "DICOMDIR":
            continue
        if is_dicom(p) or (p.suffix.lower() == ".dcm" and p.stat().st_size > 0):
            out.append(p)
    return out


def _load_folder(folder: Path, *, patient_id: str | None, study_id: str | None) -> BoneScan:
    files = study_files(folder)
    if not files:
        pictures = [p for p in sorted(folder.rglob("*")) if p.is_file() and picture_format(p)]
        if len(pictures) == 1:
            return scan_from_picture(pictures[0], patient_id=patient_id, study_id=study_id)
        raise InputError(folder, f"no DICOM files in the folder ({len(pictures)} picture(s))")
    if len(files) > limits.MAX_FILES_PER_STUDY:
        raise InputError(
            folder, f"{len(files)} DICOM files exceeds {limits.MAX_FILES_PER_STUDY} per study"
        )
    studies: dict[str, list[tuple[Path, Dataset]]] = defaultdict(list)
    for p in files:
        ds = read_dataset(p)
        studies[tags.text(ds, tags.STUDY_UID)].append((p, ds))
    if len(studies) > 1:
        if study_id in studies:
            return _from_datasets(studies[study_id], patient_id=patient_id, study_id=study_id)
        raise InputError(
            folder,
            f"{len(studies)} studies (StudyInstanceUID) in one folder; "
            "give study_id or one folder per study",
        )
    items = next(iter(studies.values()))
    usable = [(p, ds) for p, ds in items if _usable(p, ds)]
    if not usable:
        dicom_kind(items[0][1], items[0][0])  # raises the reason for the first file
    return _from_datasets(usable, patient_id=patient_id, study_id=study_id)


def _usable(path: Path, ds: Dataset) -> bool:
    try:
        dicom_kind(ds, path)
    except InputError as exc:
        log.info("skipping %s", exc)
        return False
    return True
