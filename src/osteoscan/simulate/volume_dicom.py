"""DICOM files of a SPECT/CT: a CT Image Storage series (one file per slice) and an NM
Image Storage RECON TOMO object (one multi-frame file on the camera's own grid).

Geometry comes from the :class:`~osteoscan.io.volume.Volume`: ImagePositionPatient per slice
(CT) or of the first frame (NM, in the DetectorInformationSequence where the NM IOD puts it,
and at the top level as GE and Siemens also do), ImageOrientationPatient, PixelSpacing (row
step, column step), SliceThickness and SpacingBetweenSlices. CT pixels are int16 HU (slope 1,
intercept 0); NM pixels are uint16 counts, with a RescaleSlope when the values are not whole
numbers within 0..65535. UIDs derive from (seed, study id), so both series of a study share
StudyInstanceUID and FrameOfReferenceUID and a rerun writes identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from osteoscan.artefacts import atomic_write_bytes
from osteoscan.io.volume import Volume, lps, orientation_of
from osteoscan.simulate.dicom_nm import (
    NM_IMAGE_STORAGE,
    dicom_bytes,
    energy_window_sequence,
    patient_study_module,
    radiopharmaceutical_sequence,
    uid,
)

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@dataclass(frozen=True)
class SeriesIds:
    """Who and what a written series belongs to.

    Attributes:
        patient_id: PatientID.
        study_id: the study's id (seeds its UIDs with ``seed``).
        seed: mixed into every UID.
        manufacturer, model: Manufacturer / ManufacturerModelName.
        institution: InstitutionName.
    """

    patient_id: str
    study_id: str
    seed: int = 0
    manufacturer: str = "osteoscan"
    model: str = "simulator"
    institution: str = "Simulated"


def _base(ids: SeriesIds, sop_class: str, modality: str, series: str, instance: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid(ids.seed, ids.study_id, series, "instance", instance)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SpecificCharacterSet = "ISO_IR 100"
    patient_study_module(ds, ids.patient_id, ids.study_id, 0, ids.seed)
    ds.StudyDescription = "SPECT/CT BONE"
    ds.Modality = modality
    ds.Manufacturer, ds.ManufacturerModelName = ids.manufacturer, ids.model
    ds.InstitutionName = ids.institution
    ds.SeriesInstanceUID = uid(ids.seed, ids.study_id, series, "series")
    ds.SeriesDescription = series
    ds.SeriesNumber = 2 if modality == "NM" else 1
    ds.InstanceNumber = instance
    ds.FrameOfReferenceUID = uid(ids.seed, ids.study_id, "for")
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "CHESTABDPELVIS"  # unpaired: no Laterality
    if modality == "CT":
        ds.PatientPosition = "HFS"  # NM says it with PatientOrientationCodeSequence instead
    return ds


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    return item


def _grey(ds: Dataset, rows: int, cols: int, signed: bool) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1 if signed else 0


def _ds(value: float) -> str:
    """A DS value (at most 16 characters)."""
    return f"{value:.10g}"[:16]


def ct_slice(ct: Volume, k: int, ids: SeriesIds, for_uid: str | None = None) -> Dataset:
    """The CT Image Storage object of slice k (HU stored as int16)."""
    ds = _base(ids, CT_IMAGE_STORAGE, "CT", "CT", k + 1)
    if for_uid:
        ds.FrameOfReferenceUID = for_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.KVP, ds.AcquisitionNumber = "120", 1
    ds.ImagePositionPatient = [_ds(v) for v in lps(ct.position((k, 0, 0)))]
    ds.ImageOrientationPatient = [_ds(v) for v in orientation_of(ct.direction)]
    ds.PixelSpacing = [_ds(ct.spacing_mm[1]), _ds(ct.spacing_mm[2])]
    ds.SliceThickness = _ds(ct.spacing_mm[0])
    ds.SpacingBetweenSlices = _ds(ct.spacing_mm[0])
    ds.SliceLocation = _ds(float(ct.position((k, 0, 0)) @ ct.direction[0]))
    _grey(ds, ct.shape[1], ct.shape[2], signed=True)
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    pixels = np.clip(np.rint(ct.array[k]), -32768, 32767).astype("<i2")
    ds.PixelData = pixels.tobytes()
    return ds


def write_ct_series(ct: Volume, folder: str | Path, ids: SeriesIds) -> list[Path]:
    """Write a CT volume as one file per slice, ``CT_0001.dcm``.. (atomically each).

    Returns:
        The files written, in slice order.
    """
    folder = Path(folder)
    out = []
    for k in range(ct.shape[0]):
        path = folder / f"CT_{k + 1:04d}.dcm"
        atomic_write_bytes(path, dicom_bytes(ct_slice(ct, k, ids, ct.frame_of_reference_uid)))
        out.append(path)
    return out


def _counts(array: np.ndarray) -> tuple[np.ndarray, float]:
    """uint16 pixels and the RescaleSlope that gives back the values."""
    a = np.clip(array, 0, None)
    top = float(a.max()) if a.size else 0.0
    if top <= 65535 and np.array_equal(a, np.rint(a)):
        return a.astype("<u2"), 1.0
    slope = max(top, 1e-12) / 65535.0
    return np.rint(a / slope).astype("<u2"), slope


def _nm_geometry(spect: Volume) -> tuple[np.ndarray, float]:
    """The frames in stored order and the signed SpacingBetweenSlices along the normal."""
    normal = lps(np.cross(lps(spect.direction[2]), lps(spect.direction[1])))
    along = float(spect.direction[0] @ normal)
    if abs(abs(along) - 1.0) > 1e-4:
        raise ValueError("an NM tomographic object cannot hold tilted slices")
    return spect.array, spect.spacing_mm[0] * np.sign(along)


def nm_tomo_dataset(spect: Volume, ids: SeriesIds, mbq: float = 740.0) -> Dataset:
    """The NM Image Storage RECON TOMO object of a SPECT volume."""
    frames, step = _nm_geometry(spect)
    ds = _base(ids, NM_IMAGE_STORAGE, "NM", "SPECT RECON", 1)
    if spect.frame_of_reference_uid:
        ds.FrameOfReferenceUID = spect.frame_of_reference_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    pixels, slope = _counts(frames)
    _grey(ds, spect.shape[1], spect.shape[2], signed=False)
    ds.NumberOfFrames = ds.NumberOfSlices = spect.shape[0]
    ds.FrameIncrementPointer = Tag(0x0054, 0x0080)
    ds.SliceVector = list(range(1, spect.shape[0] + 1))
    ds.PixelSpacing = [_ds(spect.spacing_mm[1]), _ds(spect.spacing_mm[2])]
    ds.SliceThickness = _ds(spect.spacing_mm[0])
    ds.SpacingBetweenSlices = _ds(step)
    if slope != 1.0:
        ds.RescaleSlope, ds.RescaleIntercept = _ds(slope), "0"
    ds.CountsAccumulated = int(min(float(frames.sum()), 2**32 - 1))
    ds.PatientOrientationCodeSequence = DicomSequence([_code("102538003", "recumbent")])
    ds.PatientOrientationCodeSequence[0].PatientOrientationModifierCodeSequence = \
        DicomSequence([_code("40199007", "supine")])
    ds.PatientGantryRelationshipCodeSequence = DicomSequence([_code("102540008", "headfirst")])
    det = Dataset()
    det.CollimatorType = "PARA"
    det.ImagePositionPatient = [_ds(v) for v in lps(spect.origin_mm)]
    det.ImageOrientationPatient = [_ds(v) for v in orientation_of(spect.direction)]
    ds.DetectorInformationSequence = DicomSequence([det])
    # also at the top level, as GE and Siemens write it (dciodvfy: "Standard Extended")
    ds.ImagePositionPatient, ds.ImageOrientationPatient = det.ImagePositionPatient, \
        det.ImageOrientationPatient
    ds.NumberOfDetectors, ds.NumberOfEnergyWindows = 1, 1
    ds.EnergyWindowInformationSequence = energy_window_sequence()
    ds.RadiopharmaceuticalInformationSequence = radiopharmaceutical_sequence(mbq)
    rot = Dataset()
    rot.StartAngle, rot.AngularStep, rot.RotationDirection = "0", "3", "CW"
    rot.ScanArc, rot.NumberOfFramesInRotation, rot.ActualFrameDuration = "360", 120, 20000
    ds.RotationInformationSequence = DicomSequence([rot])
    ds.NumberOfRotations = 1
    ds.CorrectedImage = ["DECY"]
    ds.PixelData = pixels.tobytes()
    return ds


def write_nm_spect(spect: Volume, path: str | Path, ids: SeriesIds) -> Path:
    """Write a SPECT volume as one NM RECON TOMO multi-frame file (atomically)."""
    return atomic_write_bytes(path, dicom_bytes(nm_tomo_dataset(spect, ids)))
