"""Writing a study as a Siemens Symbia-like camera stores a whole-body bone scan: two
single-frame NM Image Storage objects (anterior, posterior) in one study folder, sharing the
StudyInstanceUID, one series each.

Conventions (DICOM PS3.3 C.8.4 NM Image IOD):
- ImageType ``ORIGINAL\\PRIMARY\\WHOLE BODY\\EMISSION`` (value 3 WHOLE BODY, value 4 EMISSION);
- NM Multi-frame: NumberOfFrames 1, FrameIncrementPointer -> EnergyWindowVector (0054,0010)
  and DetectorVector (0054,0020), the enumerated pair for WHOLE BODY (C.8.4.8.1.1);
- NM Detector: one DetectorInformationSequence item with the ViewCodeSequence from CID 26
  "Nuclear Medicine Projections": (399321004, SCT, "Anterior projection") /
  (399001007, SCT, "Posterior projection"), the collimator (LEHR, PARA), StartAngle 0/180;
- SeriesDescription "WB Anterior" / "WB Posterior" (the vendor's protocol names);
- PatientOrientation ``L\\F`` (anterior) and ``R\\F`` (posterior, stored as acquired, i.e.
  seen from behind: the patient's right on the image's right);
- PatientOrientationCodeSequence recumbent / supine, PatientGantryRelationship headfirst;
- PixelSpacing row\\col, 16-bit unsigned counts, MONOCHROME2, Explicit VR Little Endian.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
VIEW_CODES = {"anterior": ("399321004", "Anterior projection"),
              "posterior": ("399001007", "Posterior projection")}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    d = Dataset()
    d.CodeValue, d.CodingSchemeDesignator, d.CodeMeaning = value, scheme, meaning
    return d


def uid(*parts) -> str:
    """A deterministic UID from the given parts (same seed -> same bytes)."""
    return generate_uid(entropy_srcs=["osteoscan-foreign-site_y", *map(str, parts)])


def _detector_item(view: str, info: dict) -> Dataset:
    item = Dataset()
    item.ViewCodeSequence = Sequence([_code(VIEW_CODES[view][0], "SCT", VIEW_CODES[view][1])])
    item.CollimatorGridName = "LEHR"
    item.CollimatorType = "PARA"
    item.StartAngle = "0" if view == "anterior" else "180"
    item.RadialPosition = f"{info['gap_' + view[:3]] + 150:.1f}"
    item.ZoomFactor = "1\\1"
    item.ImagePositionPatient = [f"{-info['centre_mm']:.2f}", "0", f"{info['top_mm']:.2f}"]
    item.ImageOrientationPatient = ["1", "0", "0", "0", "0", "-1"] if view == "anterior" else \
        ["-1", "0", "0", "0", "0", "-1"]
    return item


def _patient_study(ds: Dataset, info: dict) -> None:
    ds.PatientName = f"SITEY^{info['patient_id']}"
    ds.PatientID = info["patient_id"]
    ds.PatientSex = "F" if info["female"] else "M"
    ds.PatientSize = f"{info['height_mm'] / 1000:.2f}"
    ds.PatientBirthDate = ""
    ds.StudyInstanceUID = info["study_uid"]
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = info["date"]
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Bone Scan Whole Body"
    ds.Manufacturer = "SIEMENS NM"
    ds.ManufacturerModelName = "Symbia T2"
    ds.InstitutionName = "Site Y Nuclear Medicine"
    ds.FrameOfReferenceUID = uid(info["study_uid"], "for")
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "WHOLEBODY"
    rp = Dataset()
    rp.Radiopharmaceutical = "Tc99m MDP"
    rp.RadiopharmaceuticalStartTime = "071500"
    rp.RadionuclideTotalDose = f"{info['dose_mbq']:.0f}"
    rp.RadionuclideCodeSequence = Sequence([_code("44588005", "SCT", "^99m^Technetium")])
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    rng_ = Dataset()
    rng_.EnergyWindowLowerLimit, rng_.EnergyWindowUpperLimit = "129.5", "150.5"
    ew = Dataset()
    ew.EnergyWindowRangeSequence = Sequence([rng_])
    ew.EnergyWindowName = "Tc99m"
    ds.EnergyWindowInformationSequence = Sequence([ew])
    po = _code("102538003", "SCT", "recumbent")
    po.PatientOrientationModifierCodeSequence = Sequence([_code("40199007", "SCT", "supine")])
    ds.PatientOrientationCodeSequence = Sequence([po])
    ds.PatientGantryRelationshipCodeSequence = Sequence([_code("102540008", "SCT", "headfirst")])


def build_view(pixels: np.ndarray, view: str, info: dict) -> Dataset:
    """The NM dataset of one view; ``pixels`` as acquired (posterior: seen from behind)."""
    ds = Dataset()
    _patient_study(ds, info)
    ds.SOPClassUID = NM_STORAGE
    ds.SOPInstanceUID = uid(info["study_uid"], view, "sop")
    ds.SeriesInstanceUID = uid(info["study_uid"], view, "series")
    ds.Modality = "NM"
    ds.SeriesNumber = 1 if view == "anterior" else 2
    ds.InstanceNumber = 1
    ds.SeriesDescription = "WB Anterior" if view == "anterior" else "WB Posterior"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.PatientOrientation = ["L", "F"] if view == "anterior" else ["R", "F"]
    ds.NumberOfFrames = 1
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]  # WHOLE BODY: energy window, detector
    ds.NumberOfEnergyWindows = 1
    ds.EnergyWindowVector = [1]
    ds.DetectorVector = [1]
    ds.NumberOfDetectors = 1
    ds.DetectorInformationSequence = Sequence([_detector_item(view, info)])
    ds.PixelSpacing = [f"{info['pixel_mm']:.4f}"] * 2
    ds.ScanLength = f"{pixels.shape[0] * info['pixel_mm']:.0f}"
    ds.ScanVelocity = f"{info['scan_speed']:.0f}"
    ds.ActualFrameDuration = str(int(ds.ScanLength) * 60000 // int(ds.ScanVelocity))
    ds.WholeBodyTechnique = ["1PS"]
    ds.CountsAccumulated = int(pixels.sum(dtype=np.int64))
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = NM_STORAGE, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = uid("impl")
    meta.ImplementationVersionName = "SITEY_SIM_1"
    ds.file_meta = meta
    return ds


def write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then move the file into place (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_view(path: Path, pixels: np.ndarray, view: str, info: dict) -> None:
    """Write one view's NM file atomically."""
    ds = build_view(pixels, view, info)
    write_atomic(path, lambda p: pydicom.dcmwrite(p, ds, enforce_file_format=True))
