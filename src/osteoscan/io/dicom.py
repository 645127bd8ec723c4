"""Read DICOM whole-body bone scans: NM Image Storage (multi- or single-frame) and SC.

pydicom parses and decodes (its pixel handlers cover JPEG lossless, JPEG-LS, RLE and
JPEG 2000 through pylibjpeg and pyjpegls); this module only maps frames to views and
fills the domain objects.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io import limits
from osteoscan.io.dicomcheck import check_header, check_pixel_length, check_size, spacing_of
from osteoscan.io.dicomviews import frame_evidence
from osteoscan.io.guard import NOT_OURS, Skipped, describe, reading
from osteoscan.io.frames import ViewFrame, scan_from_frames
from osteoscan.types import Acquisition, BoneScan, StudySource

log = logging.getLogger(__name__)

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
SC_STORAGE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture (+ multi-frame variants)
_RADIOPHARMACEUTICAL_INFO = 0x00540016


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


def read_dataset(
    path: str | Path, *, header_only: bool = False, fh: BinaryIO | None = None
) -> Dataset:
    """Parse a DICOM file (with or without the Part 10 preamble).

    Args:
        path: the file (named in messages).
        header_only: stop before the pixel data.
        fh: the file already open (binary, at offset 0), so that it is not opened twice.

    Returns:
        The dataset.

    Raises:
        InputError: the file cannot be parsed as DICOM.
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(fh or path, force=True, stop_before_pixels=header_only)
    except NOT_OURS:
        raise
    except BaseException as exc:  # noqa: BLE001 - pydicom raises many types on hostile bytes
        raise InputError(path, f"not a readable DICOM file ({describe(exc)})") from exc
    with reading(path, "DICOM header"):
        if len(ds) == 0 or (tags.SOP_CLASS_UID not in ds and tags.MODALITY not in ds):
            raise InputError(path, "not a DICOM file (no SOPClassUID or Modality)")
    return ds


def classify(ds: Dataset, path: str | Path) -> str:
    """:func:`dicom_kind` plus every header check (:func:`osteoscan.io.dicomcheck.check_header`).

    Args:
        ds: the dataset (pixels not needed).
        path: its file.

    Returns:
        "nm" or "sc".

    Raises:
        InputError: wrong modality, or a header value that cannot be right.
    """
    with reading(path, "DICOM header"):
        kind = dicom_kind(ds, path)
        check_header(ds, path, kind)
    return kind


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
    sop = tags.text(ds, tags.SOP_CLASS_UID)
    modality = tags.text(ds, tags.MODALITY).strip().upper()
    if sop.startswith(SC_STORAGE_PREFIX):
        grey = tags.number(ds, tags.SAMPLES_PER_PIXEL, 1) == 1
        counts = tags.number(ds, tags.BITS_ALLOCATED, 8) > 8
        return "nm" if modality == "NM" and grey and counts else "sc"  # NM counts kept as SC
    if modality == "NM" or (not modality and sop == NM_IMAGE_STORAGE):
        return "nm"
    raise InputError(path, f"Modality is {modality or 'missing'}, expected NM whole body")


_NATIVE_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # implicit / explicit VR little endian


def _native_pixels(ds: Dataset, rows: int, cols: int, frames: int) -> np.ndarray | None:
    """Zero-copy view of uncompressed little-endian grey pixels, or None when not that case.

    Why by hand: ``Dataset.pixel_array`` validates and copies the whole buffer (about half the
    cost of reading a whole-body file); for plain 8/16-bit grey data with every bit stored a
    view over the bytes is exact. Anything else goes through pydicom.
    """
    syntax = transfer_syntax(ds)
    bits = tags.number(ds, tags.BITS_ALLOCATED, 0)
    if syntax not in _NATIVE_LE or bits not in (8, 16) or tags.PIXEL_DATA not in ds:
        return None
    if tags.number(ds, tags.BITS_STORED, 0) != bits:
        return None
    if tags.number(ds, tags.SAMPLES_PER_PIXEL, 1) != 1:
        return None
    data = tags.value(ds, tags.PIXEL_DATA)
    n = rows * cols * frames * (bits // 8)
    if not isinstance(data, bytes) or len(data) not in (n, n + 1):
        return None  # truncated or padded oddly: let pydicom decide and explain
    kind = "i" if tags.number(ds, tags.PIXEL_REPRESENTATION, 0) else "u"
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
    if tags.PIXEL_DATA not in ds and 0x7FE00008 not in ds and 0x7FE00009 not in ds:
        raise InputError(path, "no pixel data (PixelData is missing)")
    rows, cols, frames = check_size(ds, path)
    check_pixel_length(ds, path, rows, cols, frames)
    arr = _native_pixels(ds, rows, cols, frames)
    if arr is None:
        try:
            arr = ds.pixel_array
        except NOT_OURS:
            raise
        except BaseException as exc:  # noqa: BLE001 - pydicom and its plugins raise many types
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            name = getattr(syntax, "name", str(syntax))
            raise InputError(path, f"cannot decode pixel data ({name}): {exc}") from exc
    if tags.RESCALE_SLOPE in ds or tags.RESCALE_INTERCEPT in ds:
        slope = float(tags.value(ds, tags.RESCALE_SLOPE, 1) or 1)
        intercept = float(tags.value(ds, tags.RESCALE_INTERCEPT, 0) or 0)
        if (slope, intercept) != (1.0, 0.0):
            arr = arr.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    limits.check_finite(path, arr)
    return arr


def transfer_syntax(ds: Dataset) -> str:
    """The dataset's TransferSyntaxUID ("" when it has no file meta)."""
    meta = getattr(ds, "file_meta", None)
    return tags.text(meta, tags.TRANSFER_SYNTAX) if meta is not None else ""


def monochrome1_counts(arr: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    """Counts from NM pixels flagged MONOCHROME1 (lowest value displayed white).

    NM images are MONOCHROME2 or PALETTE COLOR (PS3.3 C.8.4.7.1.1); the flag only changes the
    display, so values on a dark (low) background are counts and are kept. Values on a bright
    background were inverted for display and are turned back into counts (``max - value``).

    Args:
        arr: the decoded pixels (frames, rows, cols) or (rows, cols).
        path: the file, for notes.
        notes: list the decision is appended to.

    Returns:
        The counts.
    """
    ring = max(2, min(arr.shape[-2:]) // 50)
    border = np.concatenate(
        [arr[..., :ring, :].ravel(), arr[..., -ring:, :].ravel()]
        + [arr[..., :ring].ravel(), arr[..., -ring:].ravel()]
    )
    lo, hi = arr.min(), arr.max()
    if hi > lo and float(np.median(border)) > float(lo) + 0.5 * float(hi - lo):
        notes.append(f"{path.name}: MONOCHROME1, bright background: values inverted (max - v)")
        return hi - arr
    notes.append(f"{path.name}: MONOCHROME1 ignored: dark background, values are counts")
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
    if tags.number(ds, tags.SAMPLES_PER_PIXEL, 1) != 1:
        raise InputError(path, "NM image with colour samples; expected grey counts")
    if tags.number(ds, tags.BITS_ALLOCATED, 16) == 8:
        notes.append(f"{path.name}: 8-bit pixel data (counts may be scaled or saturated)")
    limits.check_non_negative(path, arr)
    if tags.text(ds, tags.PHOTOMETRIC).strip().upper() == "MONOCHROME1":
        arr = monochrome1_counts(arr, path, notes)
    stack = arr[None] if arr.ndim == 2 else arr
    evidence = frame_evidence(ds, stack.shape[0])
    out = []
    for i, (pixels, found) in enumerate(zip(stack, evidence, strict=True)):
        frame = None if stack.shape[0] == 1 else i
        if found:
            out.append(ViewFrame(pixels, path, frame, *found))
        else:
            out.append(ViewFrame(pixels, path, frame))
    return out, notes


def _float(ds: Dataset, tag: int) -> float | None:
    value = tags.value(ds, tag)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _optional_text(ds: Dataset, tag: int) -> str | None:
    return tags.text(ds, tag) or None


def acquisition_of(ds: Dataset, notes: list[str]) -> Acquisition:
    """Acquisition facts from an NM header (total counts are filled in later).

    Args:
        ds: the dataset.
        notes: list to append unit notes to.

    Returns:
        The acquisition record.
    """
    pharm, dose = None, None
    seq = tags.value(ds, _RADIOPHARMACEUTICAL_INFO) or []
    if len(seq):
        pharm = _optional_text(seq[0], 0x00180031)
        dose = _float(seq[0], 0x00181074)
        if dose is not None and dose > 1e5:  # NM stores MBq; a PET-style Bq value is huge
            notes.append(f"RadionuclideTotalDose {dose:g} read as Bq")
            dose = dose / 1e6
    return Acquisition(
        scan_length_mm=_float(ds, 0x00181302),
        frame_duration_ms=_float(ds, 0x00181242),
        scan_velocity_mm_s=_float(ds, 0x00181300),
        radiopharmaceutical=pharm,
        injected_mbq=dose,
    )


def _decode_all(
    items: list[tuple[Path, Dataset]], skipped: list[Skipped] | None
) -> list[tuple[Path, Dataset, list[ViewFrame], list[str]]]:
    """Decode each file; with ``skipped``, a file that fails (or repeats a SOPInstanceUID
    already decoded) is listed there and left out instead of failing the study."""
    out: list[tuple[Path, Dataset, list[ViewFrame], list[str]]] = []
    seen: dict[str, Path] = {}
    first_error: InputError | None = None
    for path, ds in items:
        try:
            with reading(path, "DICOM file"):
                uid = tags.text(ds, tags.SOP_INSTANCE_UID)
                if uid and uid in seen:
                    raise InputError(path, f"same SOPInstanceUID as {seen[uid].name}: a copy")
                frames, notes = frames_from_dataset(ds, path)
        except InputError as exc:
            if skipped is None:
                raise
            skipped.append(Skipped(str(path), exc.problem))
            first_error = first_error or exc
            continue
        seen[uid] = path
        out.append((path, ds, frames, notes))
    if not out:
        raise first_error or InputError(items[0][0] if items else None, "no NM image")
    return out


def scan_from_datasets(
    items: list[tuple[Path, Dataset]],
    *,
    patient_id: str | None,
    study_id: str | None,
    skipped: list[Skipped] | None = None,
) -> BoneScan:
    """Build one scan from the NM datasets of one study (one multi-frame or several files).

    Args:
        items: (path, dataset) pairs, all NM, all of one study.
        patient_id: override for PatientID.
        study_id: override for StudyInstanceUID.
        skipped: when given, files that cannot be decoded, or that repeat a SOPInstanceUID,
            are appended here and left out (a damaged copy never displaces a readable file);
            without it the first such file fails the study.

    Returns:
        The scan.

    Raises:
        InputError: see :func:`frames_from_dataset` and
            :func:`osteoscan.io.frames.assign_views`.
    """
    decoded = _decode_all(items, skipped)
    with reading(decoded[0][0], "DICOM header"):
        return _scan_of_decoded(decoded, patient_id=patient_id, study_id=study_id)


def _scan_of_decoded(
    decoded: list[tuple[Path, Dataset, list[ViewFrame], list[str]]],
    *,
    patient_id: str | None,
    study_id: str | None,
) -> BoneScan:
    frames: list[ViewFrame] = [f for _, _, got, _ in decoded for f in got]
    notes: list[str] = [n for _, _, _, more in decoded for n in more]
    path0, ds0 = decoded[0][0], decoded[0][1]
    acq = acquisition_of(ds0, notes)  # before the notes are frozen into the source
    source = StudySource(
        files=tuple(os.path.realpath(p) for p, *_ in decoded),  # = Path.resolve(), cheaper
        format="dicom-nm",
        vendor=_optional_text(ds0, tags.MANUFACTURER),
        model=_optional_text(ds0, tags.MODEL_NAME),
        notes=tuple(notes),
    )
    meta = {
        "modality": tags.text(ds0, tags.MODALITY),
        "sop_instance_uids": ";".join(tags.text(d[1], tags.SOP_INSTANCE_UID) for d in decoded),
        "transfer_syntax": transfer_syntax(ds0),
        "bits_allocated": tags.number(ds0, tags.BITS_ALLOCATED, 0),
    }
    return scan_from_frames(
        frames,
        patient_id=patient_id or tags.text(ds0, tags.PATIENT_ID) or path0.stem,
        study_id=study_id or tags.text(ds0, tags.STUDY_UID) or path0.stem,
        spacing_mm=spacing_of(ds0, path0),
        source=source,
        acquisition=acq,
        meta=meta,
    )
