"""``load_study``: one entry point for every input, deciding by content, not by extension."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from pydicom.dataset import Dataset

from osteoscan.errors import InputError
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
from osteoscan.io.images import frames_from_picture, picture_format, scan_from_picture
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
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir():
        return _load_folder(path, patient_id=patient_id, study_id=study_id)
    if path.stat().st_size == 0:
        raise InputError(path, "empty file")
    if picture_format(path) is not None:
        return scan_from_picture(path, patient_id=patient_id, study_id=study_id)
    try:
        ds = read_dataset(path)
    except InputError:
        raise InputError(path, "not a DICOM file nor a PNG/JPEG/TIFF picture") from None
    return _from_datasets([(path, ds)], patient_id=patient_id, study_id=study_id)


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
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if (samples == 1 and arr.ndim == 3) or arr.ndim == 4:
        raise InputError(
            path, f"multi-frame Secondary Capture ({arr.shape[0]} frames); expected one"
        )
    frames, notes = frames_from_picture(arr, path)
    if int(ds.get("BitsAllocated", 8) or 8) == 8:
        notes.insert(0, "8-bit Secondary Capture: display values, not counts")
    source = StudySource(
        files=(str(path.resolve()),),
        format="dicom-sc",
        vendor=str(ds.get("Manufacturer", "") or "") or None,
        model=str(ds.get("ManufacturerModelName", "") or "") or None,
        notes=tuple(notes),
    )
    cropped = any(n.startswith("cropped") or n.startswith("two bodies") for n in notes)
    return scan_from_frames(
        frames,
        patient_id=patient_id or str(ds.get("PatientID", "") or "") or path.stem,
        study_id=study_id or str(ds.get("StudyInstanceUID", "") or "") or path.stem,
        spacing_mm=None if cropped and spacing_of(ds) is None else spacing_of(ds),
        source=source,
        meta={
            "modality": str(ds.get("Modality", "")),
            "sop_instance_uids": str(ds.get("SOPInstanceUID", "")),
        },
    )


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
        studies[str(ds.get("StudyInstanceUID", "") or "")].append((p, ds))
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
