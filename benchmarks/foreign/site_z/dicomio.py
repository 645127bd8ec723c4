"""DICOM NM whole-body objects for two camera models of this site.

* ``anyscan`` (Mediso AnyScan-like): one NM Image Storage object with NumberOfFrames = 2,
  FrameIncrementPointer -> DetectorVector (0054,0020), one DetectorInformationSequence item
  per head carrying a ViewCodeSequence with the SNOMED CT codes 399348003 (antero-posterior)
  and 399198008 (postero-anterior), 1024 x 256 matrix.
* ``symbia`` (Siemens Symbia-like): two single-frame NM objects per study in one folder,
  SeriesDescription "WB ANT" / "WB POST", legacy SRT view codes R-10206 / R-10214 in the
  detector item, ImageID "ANT"/"POST", 512 x 128 matrix with 4 mm pixels.

The posterior is stored as acquired: the posterior head sees the patient's right on the
viewer's right, so its frame is the mirror of the anterior-orientation rendering. UIDs are
derived from the seed (hash-based 2.25 UIDs), and no date or time comes from the
clock, so a seed always gives the same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
CAMERAS = {
    "anyscan": {"manufacturer": "Mediso", "model": "AnyScan SC (site_z phantom)",
                "rows": 1024, "cols": 256, "pix_mm": (2.0, 2.21, 2.4)},
    "symbia": {"manufacturer": "SIEMENS NM", "model": "Symbia T (site_z phantom)",
               "rows": 512, "cols": 128, "pix_mm": (3.9, 4.0)},
}
VIEW_CODES = {"anyscan": {"anterior": ("399348003", "SCT", "antero-posterior"),
                          "posterior": ("399198008", "SCT", "postero-anterior")},
              "symbia": {"anterior": ("R-10206", "SRT", "antero-posterior"),
                         "posterior": ("R-10214", "SRT", "postero-anterior")}}


def uid(seed: int, *parts) -> str:
    """A UID fixed by the seed and the object's role: 2.25 + 128 bits of a SHA-256 (PS3.5
    B.2 allows UUID-derived 2.25 UIDs; the hash makes it reproducible)."""
    h = hashlib.sha256("/".join(["site_z", str(seed), *map(str, parts)]).encode()).digest()
    return f"2.25.{int.from_bytes(h[:16], 'big')}"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    d = Dataset()
    d.CodeValue, d.CodingSchemeDesignator, d.CodeMeaning = value, scheme, meaning
    return d


def _detector(cam: str, view: str, pix: float) -> Dataset:
    d = Dataset()
    d.ViewCodeSequence = Sequence([_code(*VIEW_CODES[cam][view])])
    d.StartAngle = "0" if view == "anterior" else "180"
    d.ZoomFactor = ["1", "1"]
    if cam == "symbia":
        d.ImageID = "ANT" if view == "anterior" else "POST"
    return d


def _base(meta: dict, cam: str, seed: int, sid: str, pix: float) -> Dataset:
    """Patient, study, equipment and acquisition attributes shared by every object."""
    ds = Dataset()
    ds.SOPClassUID = NM_STORAGE
    ds.Modality = "NM"
    ds.PatientName = f"SITEZ^{meta['patient_id']}"
    ds.PatientID = meta["patient_id"]
    ds.PatientSex = meta["sex"]
    ds.PatientAge = f"{int(meta['age']):03d}Y"
    ds.PatientSize = f"{meta['height_cm'] / 100:.2f}"
    ds.StudyInstanceUID = uid(seed, sid, "study")
    ds.StudyID = sid[-8:]
    ds.StudyDate, ds.StudyTime = "20261001", "100000"
    ds.AccessionNumber = sid[-10:]
    ds.StudyDescription = "Bone Scan Whole Body"
    ds.Manufacturer = CAMERAS[cam]["manufacturer"]
    ds.ManufacturerModelName = CAMERAS[cam]["model"]
    ds.InstitutionName = "site_z"
    ds.FrameOfReferenceUID = uid(seed, sid, "for")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.PixelSpacing = [f"{pix:.4g}", f"{pix:.4g}"]
    ds.ScanLength = f"{meta['scan_length_mm']:.0f}"
    ds.ScanVelocity = f"{meta['scan_velocity']:.0f}"
    ds.ActualFrameDuration = int(meta["duration_ms"])
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfEnergyWindows, ds.NumberOfDetectors = 1, 2
    ew = Dataset()
    rng = Dataset()
    rng.EnergyWindowLowerLimit, rng.EnergyWindowUpperLimit = "126", "154"
    ew.EnergyWindowRangeSequence = Sequence([rng])
    ew.EnergyWindowName = "Tc99m"
    ds.EnergyWindowInformationSequence = Sequence([ew])
    rp = Dataset()
    rp.Radiopharmaceutical = "Tc99m Medronate"
    rp.RadionuclideTotalDose = f"{meta['dose_mbq']:.0f}"
    rp.RadionuclideCodeSequence = Sequence([_code("C-163A8", "SRT", "^99m^Technetium")])
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    return ds


def _finish(ds: Dataset, path: Path) -> None:
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = fm
    ds.preamble = b"\0" * 128
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_study(out: Path, rel: str, cam: str, seed: int, meta: dict, pix: float,
                ant: np.ndarray, post: np.ndarray) -> str:
    """Write the study's file(s) under ``out/rel``; return the manifest's image path."""
    sid = meta["study_id"]
    post_acq = np.ascontiguousarray(post[:, ::-1])          # posterior as the head sees it
    if cam == "anyscan":
        ds = _base(meta, cam, seed, sid, pix)
        ds.SeriesInstanceUID = uid(seed, sid, "series")
        ds.SOPInstanceUID = uid(seed, sid, "image")
        ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = "WB Bone", 1, 1
        ds.NumberOfFrames = 2
        ds.FrameIncrementPointer = 0x00540020
        ds.DetectorVector = [1, 2]
        ds.EnergyWindowVector = [1, 1]
        ds.DetectorInformationSequence = Sequence(
            [_detector(cam, v, pix) for v in ("anterior", "posterior")])
        ds.Rows, ds.Columns = ant.shape
        ds.PixelData = np.stack([ant, post_acq]).astype("<u2").tobytes()
        path = out / f"{rel}.dcm"
        _finish(ds, path)
        return path.relative_to(out).as_posix()
    folder = out / rel
    for n, (view, img) in enumerate((("anterior", ant), ("posterior", post_acq)), 1):
        ds = _base(meta, cam, seed, sid, pix)
        ds.SeriesInstanceUID = uid(seed, sid, "series", view)
        ds.SOPInstanceUID = uid(seed, sid, "image", view)
        ds.SeriesDescription = "WB ANT" if view == "anterior" else "WB POST"
        ds.SeriesNumber, ds.InstanceNumber = n, 1
        ds.NumberOfFrames = 1
        ds.FrameIncrementPointer = 0x00540020
        ds.DetectorVector = [1]
        ds.EnergyWindowVector = [1]
        ds.DetectorInformationSequence = Sequence([_detector(cam, view, pix)])
        ds.Rows, ds.Columns = img.shape
        ds.PixelData = img.astype("<u2").tobytes()
        _finish(ds, folder / ("ANT.dcm" if view == "anterior" else "POST.dcm"))
    return folder.relative_to(out).as_posix()
