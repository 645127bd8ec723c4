"""``load_study``: one entry point for every input, deciding by content, not by extension."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io.dicom import classify, read_dataset, scan_from_datasets
from osteoscan.io.folder import list_folder, load_folder
from osteoscan.io.guard import reading
from osteoscan.io.images import scan_from_picture
from osteoscan.io.picture_file import format_of_head
from osteoscan.io.secondary import scan_from_sc
from osteoscan.types import BoneScan

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
