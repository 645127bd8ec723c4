"""Build synthetic whole-body bone scans and write them as DICOM in every style a site uses.

Reusable test utility (import it with ``from tests.io.dicom_factory import ...`` or by path):

* :func:`phantom` draws an anterior and a posterior view with depth-dependent anatomy
  (posterior: brighter spine and kidneys; anterior: brighter bladder and sternum) and an
  asymmetric marker on the patient's RIGHT side;
* :func:`write_nm_multiframe` writes one NM Image Storage object with a frame per detector,
  with or without ViewCodeSequence, in any frame order and transfer syntax;
* :func:`write_nm_single` writes one single-frame NM object (e.g. SeriesDescription "WB POST");
* :func:`write_sc` writes a Secondary Capture object.

The views returned by :func:`phantom` are as ACQUIRED: the posterior is mirrored (patient's
right on the viewer's right), like a camera stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
VIEW_CODES = {
    "anterior": ("R-10206", "SRT", "antero-posterior"),
    "posterior": ("R-10214", "SRT", "postero-anterior"),
}
VIEW_CODES_SCT = {
    "anterior": ("399348003", "SCT", "antero-posterior"),
    "posterior": ("399198008", "SCT", "postero-anterior"),
}


@dataclass(frozen=True)
class Phantom:
    """An anterior and a posterior view as acquired, and where the marker is.

    Attributes:
        anterior: uint16 (rows, cols) counts.
        posterior: uint16 (rows, cols) counts, mirrored as acquired.
        marker_rc: (row, col) of the right-side marker in the ANTERIOR orientation.
    """

    anterior: np.ndarray
    posterior: np.ndarray
    marker_rc: tuple[int, int]


def _ellipse(rr, cc, r0, c0, ry, rx):
    return ((rr - r0) / ry) ** 2 + ((cc - c0) / rx) ** 2 <= 1.0


def _anatomy(rows: int, cols: int) -> dict[str, np.ndarray]:
    """Boolean masks of the structures, anterior orientation (patient's right = low cols)."""
    rr, cc = np.mgrid[0:rows, 0:cols].astype(np.float32)
    h, w, mid = rows * 0.94, cols, cols / 2.0
    r = lambda f: rows * 0.03 + f * h  # noqa: E731 - fraction of body height -> row
    band = lambda c0, half, f0, f1: (np.abs(cc - c0) <= half) & (rr >= r(f0)) & (rr <= r(f1))  # noqa: E731
    body = (
        _ellipse(rr, cc, r(0.07), mid, 0.06 * h, 0.11 * w)
        | band(mid, 0.27 * w, 0.13, 0.55)
        | band(mid - 0.09 * w, 0.07 * w, 0.55, 0.98)
        | band(mid + 0.09 * w, 0.07 * w, 0.55, 0.98)
    )
    ribs = np.zeros_like(body)
    for k in range(6):
        ribs |= band(mid, 0.22 * w, 0.17 + 0.028 * k, 0.17 + 0.028 * k + 0.006)
    return {
        "body": body,
        "skull": _ellipse(rr, cc, r(0.07), mid, 0.055 * h, 0.1 * w)
        & ~_ellipse(rr, cc, r(0.07), mid, 0.045 * h, 0.08 * w),
        "spine": band(mid, 0.03 * w, 0.13, 0.50),
        "ribs": ribs,
        "sternum": band(mid, 0.025 * w, 0.18, 0.29),
        "kidneys": _ellipse(rr, cc, r(0.37), mid - 0.11 * w, 0.04 * h, 0.04 * w)
        | _ellipse(rr, cc, r(0.37), mid + 0.11 * w, 0.04 * h, 0.04 * w),
        "pelvis": _ellipse(rr, cc, r(0.51), mid, 0.05 * h, 0.2 * w)
        & ~_ellipse(rr, cc, r(0.51), mid, 0.035 * h, 0.15 * w),
        "bladder": _ellipse(rr, cc, r(0.535), mid, 0.022 * h, 0.06 * w),
        "limbs": band(mid - 0.09 * w, 0.02 * w, 0.56, 0.96)
        | band(mid + 0.09 * w, 0.02 * w, 0.56, 0.96),
        "knees": _ellipse(rr, cc, r(0.76), mid - 0.09 * w, 0.012 * h, 0.035 * w)
        | _ellipse(rr, cc, r(0.76), mid + 0.09 * w, 0.012 * h, 0.035 * w),
    }


# relative uptake x depth attenuation, (anterior, posterior)
_WEIGHTS = {
    "body": (0.08, 0.08),
    "skull": (1.0, 1.0),
    "spine": (0.35, 1.0),
    "ribs": (0.6, 0.7),
    "sternum": (0.9, 0.25),
    "kidneys": (0.15, 0.7),
    "pelvis": (0.6, 0.9),
    "bladder": (4.0, 1.2),
    "limbs": (0.8, 0.7),
    "knees": (1.0, 0.7),
}


def phantom(
    rows: int = 512,
    cols: int = 128,
    *,
    total_counts: float = 4e5,
    seed: int = 0,
    marker: bool = True,
) -> Phantom:
    """Draw a noisy two-view whole-body phantom (views as acquired).

    Args:
        rows: rows per view.
        cols: columns per view.
        total_counts: expected counts in the anterior view.
        seed: random seed for the Poisson noise.
        marker: add a hot spot on the patient's right humerus (anterior: low columns).

    Returns:
        The two views and the marker position in the anterior orientation.
    """
    rng = np.random.default_rng(seed)
    masks = _anatomy(rows, cols)
    ant = np.zeros((rows, cols), np.float64)
    post = np.zeros((rows, cols), np.float64)
    for name, (wa, wp) in _WEIGHTS.items():
        ant += wa * masks[name]
        post += wp * masks[name]
    mr, mc = int(rows * 0.22), int(cols * 0.2)
    if marker:
        rad = max(2, cols // 40)
        ant[mr - rad : mr + rad + 1, mc - rad : mc + rad + 1] += 3.0
        post[mr - rad : mr + rad + 1, mc - rad : mc + rad + 1] += 3.0
    scale = total_counts / ant.sum()
    ant = rng.poisson(ant * scale).astype(np.uint16)
    post = rng.poisson(post * scale).astype(np.uint16)
    return Phantom(anterior=ant, posterior=np.ascontiguousarray(post[:, ::-1]), marker_rc=(mr, mc))


def _code_item(view: str, sct: bool = False) -> Dataset:
    value, scheme, meaning = (VIEW_CODES_SCT if sct else VIEW_CODES)[view]
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _base(sop_class: str, modality: str, patient_id: str, study_uid: str | None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientID, ds.PatientName = patient_id, f"Phantom^{patient_id}"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Manufacturer, ds.ManufacturerModelName = "OsteoscanTest", "Factory-1"
    ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20260101", 1, 1
    return ds


def _set_pixels(ds: Dataset, frames: np.ndarray) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = frames.shape[-2], frames.shape[-1]
    bits = 8 if frames.dtype == np.uint8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PixelData = np.ascontiguousarray(frames).tobytes()


def _save(ds: Dataset, path: Path, transfer_syntax: str | None) -> Path:
    if transfer_syntax is not None and transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(transfer_syntax)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_nm_multiframe(
    path: str | Path,
    frames: list[np.ndarray],
    views: list[str | None],
    *,
    patient_id: str = "P001",
    study_uid: str | None = None,
    sct_codes: bool = False,
    spacing: tuple[float, float] = (2.4, 2.4),
    transfer_syntax: str | None = None,
    modality: str = "NM",
    extra: dict | None = None,
) -> Path:
    """Write an NM whole-body object with one frame per detector.

    Args:
        path: output file.
        frames: (rows, cols) uint16 (or uint8) views, in storage order.
        views: per frame "anterior"/"posterior" to write a ViewCodeSequence, or None for none.
        patient_id: PatientID.
        study_uid: StudyInstanceUID (new one when None).
        sct_codes: use SNOMED CT codes instead of the SRT (R-xxxxx) ones.
        spacing: PixelSpacing (row, col) in mm.
        transfer_syntax: e.g. pydicom.uid.RLELossless; None for explicit little endian.
        modality: Modality tag (to test wrong modalities).
        extra: more top-level attributes (keyword -> value).

    Returns:
        The path written.
    """
    ds = _base(NM_IMAGE_STORAGE, modality, patient_id, study_uid)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.NumberOfFrames = len(frames)
    ds.FrameIncrementPointer = 0x00540020  # DetectorVector
    ds.DetectorVector = list(range(1, len(frames) + 1))
    ds.NumberOfDetectors = len(frames)
    items = []
    for view in views:
        item = Dataset()
        item.StartAngle = 0
        if view is not None:
            item.ViewCodeSequence = Sequence([_code_item(view, sct_codes)])
        items.append(item)
    ds.DetectorInformationSequence = Sequence(items)
    ds.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
    ds.ScanLength, ds.ScanVelocity, ds.ActualFrameDuration = 1780, 12.0, 148000
    rp = Dataset()
    rp.Radiopharmaceutical, rp.RadionuclideTotalDose = "Tc99m MDP", 740
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    _set_pixels(ds, np.stack(frames))
    return _save(ds, Path(path), transfer_syntax)


def write_nm_single(
    path: str | Path,
    frame: np.ndarray,
    *,
    series_description: str | None = None,
    patient_id: str = "P001",
    study_uid: str | None = None,
    view: str | None = None,
    transfer_syntax: str | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a single-frame NM object (one view), e.g. SeriesDescription "WB POST".

    Args:
        path: output file.
        frame: (rows, cols) uint16 or uint8 view.
        series_description: SeriesDescription text, or None to leave it out.
        patient_id: PatientID.
        study_uid: StudyInstanceUID (new one when None).
        view: write a DetectorInformationSequence ViewCodeSequence for this view.
        transfer_syntax: transfer syntax UID or None.
        extra: more attributes.

    Returns:
        The path written.
    """
    ds = _base(NM_IMAGE_STORAGE, "NM", patient_id, study_uid)
    ds.NumberOfFrames = 1
    ds.PixelSpacing = ["2.4", "2.4"]
    if series_description is not None:
        ds.SeriesDescription = series_description
    if view is not None:
        item = Dataset()
        item.ViewCodeSequence = Sequence([_code_item(view)])
        ds.DetectorInformationSequence = Sequence([item])
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    _set_pixels(ds, frame[None])
    return _save(ds, Path(path), transfer_syntax)


def write_sc(
    path: str | Path,
    image: np.ndarray,
    *,
    patient_id: str = "P001",
    study_uid: str | None = None,
    extra: dict | None = None,
) -> Path:
    """Write a Secondary Capture object from a grey (rows, cols) or RGB (rows, cols, 3) image.

    Args:
        path: output file.
        image: uint8/uint16 grey or uint8 RGB pixels.
        patient_id: PatientID.
        study_uid: StudyInstanceUID.
        extra: more attributes.

    Returns:
        The path written.
    """
    ds = _base(str(SecondaryCaptureImageStorage), "OT", patient_id, study_uid)
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    if image.ndim == 3:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.Rows, ds.Columns = image.shape[:2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = np.ascontiguousarray(image, dtype=np.uint8).tobytes()
    else:
        _set_pixels(ds, image[None])
    return _save(ds, Path(path), None)
