"""DICOM NM whole-body objects written the way each site's scanner writes them.

Styles (osteoscan.simulate.sites): one multi-frame object with a frame per detector
(FrameIncrementPointer -> DetectorVector), with or without a ViewCodeSequence, anterior or
posterior frame first; or two single-frame objects in separate series "WB ANT" / "WB POST".
The posterior frame is stored as acquired, i.e. mirrored left-right relative to BoneScan.
UIDs derive from the study id and the cohort seed, and dates are fixed, so files are
byte-identical for the same seed.
"""

from __future__ import annotations

import datetime as _dt
import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

from osteoscan.simulate.sites import SiteProfile

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
_VIEW_CODES = {"anterior": ("399348003", "antero-posterior"),
               "posterior": ("399198008", "postero-anterior")}
_BASE_DATE = _dt.date(2025, 1, 6)


def uid(*parts: object) -> str:
    """A deterministic UID from the given parts (pydicom's hash-based generator)."""
    return generate_uid(entropy_srcs=[str(p) for p in parts])


def dicom_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file (preamble, file meta), in memory."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _detector_item(view: str, site: SiteProfile) -> Dataset:
    item = Dataset()
    item.StartAngle = 0.0 if view == "anterior" else 180.0
    item.RadialPosition = 250.0
    if site.view_codes:
        value, meaning = _VIEW_CODES[view]
        item.ViewCodeSequence = DicomSequence([_code(value, "SCT", meaning)])
    return item


def radiopharmaceutical_sequence(mbq: float) -> DicomSequence:
    """RadiopharmaceuticalInformationSequence for 99mTc-MDP at the given activity."""
    item = Dataset()
    item.Radiopharmaceutical = "Tc99m MDP"
    item.RadionuclideTotalDose = f"{mbq:.1f}"
    item.RadionuclideCodeSequence = DicomSequence([_code("C-163A8", "SRT", "^99m^Technetium")])
    item.RadiopharmaceuticalCodeSequence = DicomSequence(
        [_code("C-B1043", "SRT", "Tc-99m medronate")])
    item.RadiopharmaceuticalStartTime = "080000"
    return DicomSequence([item])


def energy_window_sequence() -> DicomSequence:
    """EnergyWindowInformationSequence: the 126-154 keV 99mTc photopeak."""
    rng = Dataset()
    rng.EnergyWindowLowerLimit, rng.EnergyWindowUpperLimit = "126", "154"
    item = Dataset()
    item.EnergyWindowRangeSequence = DicomSequence([rng])
    item.EnergyWindowName = "Tc99m"
    return DicomSequence([item])


def patient_study_module(ds: Dataset, patient_id: str, study_id: str, visit: int,
                         seed: int) -> None:
    """Patient and General Study modules; UIDs from (seed, study_id), so series of one study
    (planar NM, CT, SPECT) share them."""
    ds.PatientName = f"SIM^{patient_id}"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19550101"
    ds.PatientSex = "O"
    date = (_BASE_DATE + _dt.timedelta(days=120 * visit)).strftime("%Y%m%d")
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "110000"
    ds.StudyInstanceUID = uid(seed, study_id, "study")
    ds.StudyID = study_id[-16:]
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "NM WHOLE BODY BONE SCAN"


def nm_dataset(frames: list[tuple[str, np.ndarray]], site: SiteProfile, *, patient_id: str,
               study_id: str, series: str, visit: int, seed: int, acq: dict) -> Dataset:
    """Build one NM Image Storage object holding the given frames.

    Args:
        frames: (view, uint16 image as acquired) per frame, in storage order.
        site: the site profile (vendor tags, view codes).
        patient_id: PatientID.
        study_id: the study's id (also the seed of its UIDs).
        series: SeriesDescription (also distinguishes the series UID).
        visit: 0 for baseline; shifts the study date.
        seed: cohort seed mixed into the UIDs.
        acq: "scan_length_mm", "frame_duration_ms", "velocity_mm_s", "mbq".
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = NM_IMAGE_STORAGE
    ds.SOPInstanceUID = uid(seed, study_id, series, "instance")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID = NM_IMAGE_STORAGE
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    patient_study_module(ds, patient_id, study_id, visit, seed)
    ds.Modality = "NM"
    ds.Manufacturer, ds.ManufacturerModelName = site.manufacturer, site.model
    ds.StationName, ds.InstitutionName = site.station, f"Simulated {site.name}"
    ds.SeriesInstanceUID = uid(seed, study_id, series, "series")
    ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = series, 1, 1
    ds.FrameOfReferenceUID = uid(seed, study_id, "for")
    _pixels(ds, frames, site)
    _nm_modules(ds, frames, site, acq)
    return ds


def _pixels(ds: Dataset, frames: list[tuple[str, np.ndarray]], site: SiteProfile) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = site.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = [f"{site.spacing_mm:.2f}", f"{site.spacing_mm:.2f}"]
    ds.NumberOfFrames = len(frames)
    ds.FrameIncrementPointer = Tag(0x0054, 0x0020)
    stack = np.stack([f for _, f in frames]).astype("<u2")
    ds.PixelData = stack.tobytes()
    ds.SmallestImagePixelValue = int(stack.min())
    ds.LargestImagePixelValue = int(stack.max())


def _nm_modules(ds: Dataset, frames, site: SiteProfile, acq: dict) -> None:
    n = len(frames)
    ds.DetectorVector = list(range(1, n + 1))
    ds.NumberOfDetectors = n
    ds.DetectorInformationSequence = DicomSequence([_detector_item(v, site) for v, _ in frames])
    ds.EnergyWindowVector = [1] * n
    ds.NumberOfEnergyWindows = 1
    ds.EnergyWindowInformationSequence = energy_window_sequence()
    ds.RadiopharmaceuticalInformationSequence = radiopharmaceutical_sequence(acq["mbq"])
    ds.ScanLength = int(round(acq["scan_length_mm"]))
    ds.ScanVelocity = f"{acq['velocity_mm_s']:.3f}"
    ds.ActualFrameDuration = int(acq["frame_duration_ms"])
    ds.CountsAccumulated = int(sum(int(f.sum()) for _, f in frames))
    ds.PatientPosition = "HFS"
    ds.CollimatorGridName, ds.CollimatorType = "LEHR", "PARA"
    ds.WholeBodyTechnique = "1PS"
