"""Read DICOM whole-body bone scans: NM Image Storage (multi- or single-frame) and SC.

pydicom parses and decodes (its pixel handlers cover JPEG lossless, JPEG-LS, RLE and
JPEG 2000 through pylibjpeg and pyjpegls); this module only maps frames to views and
fills the domain objects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.frames import ViewFrame, scan_from_frames
from osteoscan.types import Acquisition, BoneScan, StudySource

log = logging.getLogger(__name__)

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
SC_STORAGE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture (+ multi-frame variants)
DETECTOR_VECTOR = 0x00540020
ANTERIOR_CODES = {"R-10206", "399348003"}  # antero-posterior projection (SRT, SNOMED CT)
POSTERIOR_CODES = {"R-10214", "399198008"}  # postero-anterior projection
KEYWORD_TAGS = (
    "ImageID",
    "SeriesDescription",
    "ImageComments",
    "ViewName",
    "ProtocolName",
    "DerivationDescription",
    "AcquisitionContextDescription",
)
ANTERIOR_WORDS = {"ANT", "ANTERIOR"}
POSTERIOR_WORDS = {"POST", "POSTERIOR"}
KEYWORD_CONFIDENCE = 0.85
_TOKEN = re.compile(r"[A-Za-z]+")


def is_dicom(path: str | Path) -> bool:
    """True when the file has the DICOM Part 10 preamble and ``DICM`` magic.

    Args:
        path: a file.

    Returns:
        Whether bytes 128..131 read ``DICM``.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_dataset(path: str | Path, *, header_only: bool = False) -> Dataset:
    """Parse a DICOM file (with or without the Part 10 preamble).

    Args:
        path: the file.
        header_only: stop before the pixel data.

    Returns:
        The dataset.

    Raises:
        InputError: the file cannot be parsed as DICOM.
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(path, force=True, stop_before_pixels=header_only)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a readable DICOM file ({exc})") from exc
    if len(ds) == 0 or ("SOPClassUID" not in ds and "Modality" not in ds):
        raise InputError(path, "not a DICOM file (no SOPClassUID or Modality)")
    return ds


def dicom_kind(ds: Dataset, path: str | Path) -> str:
    """Classify a dataset as ``"nm"`` (NM image) or ``"sc"`` (secondary capture).

    A Secondary Capture object with Modality NM and grey pixels of more than 8 bits holds
    counts (e.g. the NEMA WG04 NM1 sample) and is read as NM.

    Args:
        ds: the dataset.
        path: its file, for messages.

    Returns:
        "nm" or "sc".

    Raises:
        InputError: any other modality or SOP class.
    """
    sop = str(ds.get("SOPClassUID", ""))
    modality = str(ds.get("Modality", "")).strip().upper()
    if sop.startswith(SC_STORAGE_PREFIX):
        grey = int(ds.get("SamplesPerPixel", 1) or 1) == 1
        counts = int(ds.get("BitsAllocated", 8) or 8) > 8
        return "nm" if modality == "NM" and grey and counts else "sc"  # NM counts kept as SC
    if modality == "NM" or (not modality and sop == NM_IMAGE_STORAGE):
        return "nm"
    raise InputError(path, f"Modality is {modality or 'missing'}, expected NM whole body")


def _view_from_code(item: Dataset) -> tuple[str, str] | None:
    for code in item.get("ViewCodeSequence", []) or []:
        value = str(code.get("CodeValue", "")).strip()
        meaning = str(code.get("CodeMeaning", "")).strip()
        word = meaning.lower().replace(" ", "-")
        if value in ANTERIOR_CODES or word.startswith(("antero", "anterior")):
            return "anterior", f"ViewCodeSequence {value or '?'} ({meaning or 'antero-posterior'})"
        if value in POSTERIOR_CODES or word.startswith(("postero", "posterior")):
            return "posterior", f"ViewCodeSequence {value or '?'} ({meaning or 'postero-anterior'})"
    return None


def view_from_keywords(ds: Dataset) -> tuple[str, str] | None:
    """Find ANT/POST words (whole tokens, any case) in the text tags of a dataset.

    A tag naming both views (e.g. "ANT_POST") is ambiguous and skipped.

    Args:
        ds: the dataset.

    Returns:
        (view, evidence) or None.
    """
    for tag in KEYWORD_TAGS:
        text = str(ds.get(tag, "") or "")
        words = {w.upper() for w in _TOKEN.findall(text)}
        ant, post = bool(words & ANTERIOR_WORDS), bool(words & POSTERIOR_WORDS)
        if ant != post:
            return ("anterior" if ant else "posterior"), f'{tag} "{text}"'
    return None


def _detector_items(ds: Dataset, n_frames: int) -> list[Dataset | None]:
    """The DetectorInformationSequence item of each frame (None where unknown)."""
    items = list(ds.get("DetectorInformationSequence", []) or [])
    vector = ds.get("DetectorVector")
    if vector is not None:
        vector = [int(v) for v in (vector if isinstance(vector, Iterable) else [vector])]
    if vector is not None and len(vector) == n_frames:
        return [items[d - 1] if 1 <= d <= len(items) else None for d in vector]
    if len(items) == n_frames:
        return items
    return [None] * n_frames


_NATIVE_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # implicit / explicit VR little endian


def _native_pixels(ds: Dataset, rows: int, cols: int, frames: int) -> np.ndarray | None:
    """Zero-copy view of uncompressed little-endian grey pixels, or None when not that case.

    Why by hand: ``Dataset.pixel_array`` validates and copies the whole buffer (about half the
    cost of reading a whole-body file); for plain 8/16-bit grey data with every bit stored a
    view over the bytes is exact. Anything else goes through pydicom.
    """
    syntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", ""))
    bits = int(ds.get("BitsAllocated", 0) or 0)
    if syntax not in _NATIVE_LE or bits not in (8, 16) or "PixelData" not in ds:
        return None
    if int(ds.get("BitsStored", 0) or 0) != bits or int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return None
    data = ds.PixelData
    n = rows * cols * frames * (bits // 8)
    if not isinstance(data, bytes) or len(data) not in (n, n + 1):
        return None  # truncated or padded oddly: let pydicom decide and explain
    kind = "i" if int(ds.get("PixelRepresentation", 0) or 0) else "u"
    arr = np.frombuffer(data, dtype=f"<{kind}{bits // 8}", count=rows * cols * frames)
    return arr.reshape(frames, rows, cols) if frames > 1 else arr.reshape(rows, cols)


def decode_pixels(ds: Dataset, path: Path) -> np.ndarray:
    """Decode a dataset's pixels (any transfer syntax pydicom's handlers support), rescaled.

    Args:
        ds: the dataset.
        path: its file, for messages.

    Returns:
        (rows, cols), (frames, rows, cols) or (rows, cols, samples) array; read-only for
        uncompressed data (a view over the file's bytes).

    Raises:
        InputError: no pixel data, bad sizes, undecodable or truncated data, NaN/inf.
    """
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise InputError(path, "no pixel data (PixelData is missing)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    limits.check_dimensions(path, rows, cols, frames)
    arr = _native_pixels(ds, rows, cols, frames)
    if arr is None:
        try:
            arr = ds.pixel_array
        except Exception as exc:  # pydicom raises many types for truncated or undecodable data
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            name = getattr(syntax, "name", str(syntax))
            raise InputError(path, f"cannot decode pixel data ({name}): {exc}") from exc
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        if (slope, intercept) != (1.0, 0.0):
            arr = arr.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    limits.check_finite(path, arr)
    return arr


def frames_from_dataset(ds: Dataset, path: str | Path) -> tuple[list[ViewFrame], list[str]]:
    """Decode an NM dataset into view frames carrying their tag evidence.

    Args:
        ds: an NM dataset (see :func:`dicom_kind`).
        path: its file.

    Returns:
        (frames, notes).

    Raises:
        InputError: missing or undecodable pixels, bad sizes, colour NM data.
    """
    path = Path(path)
    arr = decode_pixels(ds, path)
    notes: list[str] = []
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise InputError(path, "NM image with colour samples; expected grey counts")
    if int(ds.get("BitsAllocated", 16) or 16) == 8:
        notes.append(f"{path.name}: 8-bit pixel data (counts may be scaled or saturated)")
    limits.check_non_negative(path, arr)
    stack = arr[None] if arr.ndim == 2 else arr
    items = _detector_items(ds, stack.shape[0])
    keyword = view_from_keywords(ds) if stack.shape[0] == 1 else None
    top_code = _view_from_code(ds) if stack.shape[0] == 1 else None
    out = []
    for i, pixels in enumerate(stack):
        found = (_view_from_code(items[i]) if items[i] is not None else None) or top_code
        frame = None if stack.shape[0] == 1 else i
        if found:
            out.append(ViewFrame(pixels, path, frame, found[0], "view_code", 1.0, found[1]))
        elif keyword:
            out.append(
                ViewFrame(
                    pixels, path, frame, keyword[0], "keyword", KEYWORD_CONFIDENCE, keyword[1]
                )
            )
        else:
            out.append(ViewFrame(pixels, path, frame))
    return out, notes


def _float(ds: Dataset, key: str) -> float | None:
    value = ds.get(key)
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def acquisition_of(ds: Dataset, notes: list[str]) -> Acquisition:
    """Acquisition facts from an NM header (total counts are filled in later).

    Args:
        ds: the dataset.
        notes: list to append unit notes to.

    Returns:
        The acquisition record.
    """
    pharm, dose = None, None
    seq = ds.get("RadiopharmaceuticalInformationSequence") or []
    if len(seq):
        pharm = str(seq[0].get("Radiopharmaceutical", "") or "") or None
        dose = _float(seq[0], "RadionuclideTotalDose")
        if dose is not None and dose > 1e5:  # NM stores MBq; a PET-style Bq value is huge
            notes.append(f"RadionuclideTotalDose {dose:g} read as Bq")
            dose = dose / 1e6
    return Acquisition(
        scan_length_mm=_float(ds, "ScanLength"),
        frame_duration_ms=_float(ds, "ActualFrameDuration"),
        scan_velocity_mm_s=_float(ds, "ScanVelocity"),
        radiopharmaceutical=pharm,
        injected_mbq=dose,
    )


def spacing_of(ds: Dataset) -> tuple[float, float] | None:
    """(row, col) PixelSpacing in mm, or None when absent or invalid."""
    value = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    try:
        row, col = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return (row, col) if row > 0 and col > 0 else None


def scan_from_datasets(
    items: list[tuple[Path, Dataset]], *, patient_id: str | None, study_id: str | None
) -> BoneScan:
    """Build one scan from the NM datasets of one study (one multi-frame or several files).

    Args:
        items: (path, dataset) pairs, all NM, all of one study.
        patient_id: override for PatientID.
        study_id: override for StudyInstanceUID.

    Returns:
        The scan.

    Raises:
        InputError: see :func:`frames_from_dataset` and
            :func:`osteoscan.io.frames.assign_views`.
    """
    frames: list[ViewFrame] = []
    notes: list[str] = []
    for path, ds in items:
        got, more = frames_from_dataset(ds, path)
        frames += got
        notes += more
    path0, ds0 = items[0]
    acq = acquisition_of(ds0, notes)
    source = StudySource(
        files=tuple(str(p.resolve()) for p, _ in items),
        format="dicom-nm",
        vendor=str(ds0.get("Manufacturer", "") or "") or None,
        model=str(ds0.get("ManufacturerModelName", "") or "") or None,
        notes=tuple(notes),
    )
    meta = {
        "modality": str(ds0.get("Modality", "")),
        "sop_instance_uids": ";".join(str(ds.get("SOPInstanceUID", "")) for _, ds in items),
        "transfer_syntax": str(getattr(ds0.file_meta, "TransferSyntaxUID", "")),
        "bits_allocated": int(ds0.get("BitsAllocated", 0) or 0),
    }
    return scan_from_frames(
        frames,
        patient_id=patient_id or str(ds0.get("PatientID", "") or "") or path0.stem,
        study_id=study_id or str(ds0.get("StudyInstanceUID", "") or "") or path0.stem,
        spacing_mm=spacing_of(ds0),
        source=source,
        acquisition=acq,
        meta=meta,
    )
