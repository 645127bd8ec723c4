"""Write a site_x study as ONE NM multi-frame whole-body object, the way GE cameras do.

NM Image Storage (1.2.840.10008.5.1.4.1.1.20), ImageType ORIGINAL\\PRIMARY\\WHOLE BODY\\
EMISSION, NumberOfFrames 2, FrameIncrementPointer -> EnergyWindowVector and DetectorVector
(PS3.3 C.8.4.8.1.1, whole body), DetectorVector [1, 2], one DetectorInformationSequence
item per head with its ViewCodeSequence (CID 26 "Nuclear Medicine Projections": SRT
R-10206 antero-posterior, R-10214 postero-anterior, the legacy SNOMED-RT codes of
Xeleris-era files) and ImageOrientationPatient. The posterior frame is stored as acquired,
seen from behind (patient's right on the viewer's right). 16-bit unsigned counts,
MONOCHROME2, explicit VR little endian. UIDs derive from the seed, so files are
byte-identical for a seed.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
VIEW_CODES = (("R-10206", "antero-posterior"), ("R-10214", "postero-anterior"))


def code(value: str, scheme: str, meaning: str) -> Dataset:
    """A code sequence item."""
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def detector_item(view: int, cam) -> Dataset:
    """One DetectorInformationSequence item (view 0 anterior, 1 posterior)."""
    item = Dataset()
    item.ViewCodeSequence = Sequence([code(VIEW_CODES[view][0], "SRT", VIEW_CODES[view][1])])
    item.StartAngle = "0" if view == 0 else "180"
    item.RadialPosition = "250"
    item.CenterOfRotationOffset = "0"
    width = cam.cols * cam.pixel_mm
    x0 = f"{width / 2:.2f}"
    if view == 0:
        item.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        item.ImagePositionPatient = ["-" + x0, "0", "0"]
    else:
        item.ImageOrientationPatient = [-1, 0, 0, 0, 0, -1]
        item.ImagePositionPatient = [x0, "0", "0"]
    item.ZoomFactor = [1, 1]
    item.CollimatorType, item.CollimatorGridName = "PARA", "LEHR"

    return item


def energy_window() -> Dataset:
    """Tc-99m photopeak, 140 keV +- 10 %."""
    rng_item = Dataset()
    rng_item.EnergyWindowLowerLimit, rng_item.EnergyWindowUpperLimit = "126", "154"
    item = Dataset()
    item.EnergyWindowRangeSequence = Sequence([rng_item])
    item.EnergyWindowName = "Tc99m"
    return item


def radiopharmaceutical(mbq: float, start: str) -> Dataset:
    """99mTc-MDP injection record."""
    item = Dataset()
    item.Radiopharmaceutical = "Tc99m MDP"
    item.RadionuclideTotalDose = f"{mbq:.1f}"
    item.RadiopharmaceuticalStartTime = start
    item.RadionuclideCodeSequence = Sequence([code("C-163A8", "SRT", "^99m^Technetium")])
    item.RadiopharmaceuticalCodeSequence = Sequence([code("C-B1041", "SRT",
                                                          "Tc-99m Medronate")])
    return item


def _ids(ds: Dataset, key: str, date: dt.datetime, pat: dict) -> None:
    """Patient, study and series identification (deterministic UIDs)."""
    ds.PatientName, ds.PatientID = f"SITEX^{key}", key
    ds.PatientSex, ds.PatientAge = pat["sex"], f"{pat['age']:03d}Y"
    ds.PatientSize, ds.PatientWeight = f"{pat['height'] / 1000:.2f}", \
        f"{24.0 * pat['habitus'] ** 2 * (pat['height'] / 1000) ** 2:.0f}"
    ds.PatientBirthDate = f"{date.year - pat['age']:04d}0101"
    for attr in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                 "FrameOfReferenceUID"):
        setattr(ds, attr, generate_uid(entropy_srcs=["site_x", key, attr]))
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = date.strftime("%H%M%S")
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", "1", "1"
    ds.AccessionNumber, ds.ReferringPhysicianName = key[-8:], ""
    ds.StudyDescription, ds.SeriesDescription = "NM BONE WHOLE BODY", "WB Bone"


def _acquisition(ds: Dataset, cam, date: dt.datetime, mbq: float) -> None:
    """Camera, sweep and pharmaceutical attributes."""
    ds.Modality, ds.Manufacturer = "NM", "site_x phantom"
    ds.ManufacturerModelName, ds.StationName = "GE-like dual-head WB sweep", "SITEXNM1"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.BodyPartExamined = "WHOLEBODY"
    ds.NumberOfEnergyWindows, ds.EnergyWindowInformationSequence = 1, Sequence(
        [energy_window()])
    ds.EnergyWindowVector = [1, 1]
    ds.NumberOfDetectors = 2
    ds.DetectorVector = [1, 2]
    ds.DetectorInformationSequence = Sequence([detector_item(v, cam) for v in (0, 1)])
    ds.ScanVelocity = f"{cam.scan_mm / 900.0:.3f}"  # mm/s: a 15-minute sweep
    ds.ScanLength = f"{cam.scan_mm:.0f}"
    ds.WholeBodyTechnique = ["1PS", "PCN"]
    ds.ActualFrameDuration = 900000
    ds.PositionReferenceIndicator = ""
    orient = code("F-10450", "SRT", "recumbent")
    orient.PatientOrientationModifierCodeSequence = Sequence([code("F-10340", "SRT",
                                                                   "supine")])
    ds.PatientOrientationCodeSequence = Sequence([orient])
    ds.PatientGantryRelationshipCodeSequence = Sequence([code("F-10470", "SRT", "headfirst")])
    start = (date - dt.timedelta(hours=3)).strftime("%H%M%S")
    ds.RadiopharmaceuticalInformationSequence = Sequence([radiopharmaceutical(mbq, start)])


def _pixels(ds: Dataset, counts: np.ndarray, cam) -> None:
    """Image pixel module: two frames, anterior then posterior as acquired."""
    frames = np.stack([counts[0], counts[1][:, ::-1]]).astype("<u2")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = 2, frames.shape[1], frames.shape[2]
    ds.FrameIncrementPointer = [Tag(0x0054, 0x0010), Tag(0x0054, 0x0020)]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = [f"{cam.pixel_mm:.4f}", f"{cam.pixel_mm:.4f}"]
    ds.SmallestImagePixelValue, ds.LargestImagePixelValue = int(frames.min()), \
        int(frames.max())
    ds.CountsAccumulated = int(frames.sum())
    ds.PixelData = np.ascontiguousarray(frames).tobytes()


def study_bytes(counts: np.ndarray, cam, key: str, pat: dict, day: int, mbq: float) -> bytes:
    """The DICOM file of one study (``counts`` in anterior orientation, both views)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = NM_IMAGE_STORAGE
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = generate_uid(entropy_srcs=["site_x", "implementation"])
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = NM_IMAGE_STORAGE
    date = dt.datetime(2025, 1, 6, 9, 0) + dt.timedelta(days=day, minutes=17 * (day % 23))
    _ids(ds, key, date, pat)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    _acquisition(ds, cam, date, mbq)
    _pixels(ds, counts, cam)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
