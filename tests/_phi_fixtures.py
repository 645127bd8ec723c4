"""DICOM studies full of PHI, and a scanner that finds PHI in output folders.

Not a test module (no ``test_`` prefix); imported by the privacy tests.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.io.dicom_factory import phantom, write_nm_multiframe

PATIENT_ID = "MRN-9911223"
PHI = {
    "PatientName": "Doe^Jane^Q",
    "PatientBirthDate": "19480229",
    "PatientAddress": "12 Privet Drive, Little Whinging",
    "OtherPatientIDs": "OTHER-77821",
    "AccessionNumber": "ACC-556677",
    "InstitutionName": "Saint Hypothetical Hospital",
    "InstitutionAddress": "1 Hospital Road, Nowhere",
    "ReferringPhysicianName": "House^Gregory",
    "OperatorsName": "Tech^Tina",
    "StudyDescription": "WB bone scan Jane Doe follow-up",
    "SeriesDescription": "WB ANT POST Jane Doe",
    "ImageComments": "called patient on 0612345678",
    "StudyID": "SID-4242",
    "StationName": "NMCAM-WARD7",
    "StudyDate": "20250314",
    "SeriesDate": "20250315",
    "AcquisitionDate": "20250316",
    "ContentDate": "20250317",
    "StudyTime": "101530",
}
DATES = ["20250314", "20250315", "20250316", "20250317", "20250318", "19480229"]
NAMES = ["Doe^Jane", "Jane Doe", "Doe_Jane", "Privet Drive", "Hypothetical", "House^Gregory",
         "Tech^Tina", "0612345678", "PRIVATE-SECRET"]
"""Distinctive enough not to occur by chance in the base64 images of a report."""


def write_phi_study(path: Path, *, seed: int = 3, rows: int = 256, cols: int = 64) -> Path:
    """An anterior/posterior NM file with PHI in the basic-profile attributes, a private tag,
    and a date and a name nested in sequences."""
    ph = phantom(rows, cols, seed=seed)
    write_nm_multiframe(path, [ph.anterior, ph.posterior], ["anterior", "posterior"],
                        patient_id=PATIENT_ID, extra=PHI)
    ds = pydicom.dcmread(path)
    ds.private_block(0x0009, "ACME NM 1.0", create=True).add_new(0x01, "LO", "PRIVATE-SECRET")
    ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = "20250318083000"
    req = Dataset()
    req.RequestedProcedureDescription = "Jane Doe bone scan"
    ds.RequestAttributesSequence = Sequence([req])
    ds.save_as(path, enforce_file_format=True)
    return path


def secrets_of(path: Path) -> list[str]:
    """Every identifier of a PHI study file: ids, names, dates (both forms), UIDs, its path."""
    ds = pydicom.dcmread(path)
    dashed = [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in DATES]
    return [PATIENT_ID, *NAMES, *DATES, *dashed, str(ds.StudyInstanceUID), str(ds.SOPInstanceUID),
            str(ds.SeriesInstanceUID), str(path.resolve()), str(path.resolve().parent), path.stem]


def leaks(out_dir: Path, secrets: list[str]) -> list[str]:
    """``"file: secret"`` for each secret found in any output file's text or relative path."""
    found = []
    for p in sorted(out_dir.rglob("*")):
        if not p.is_file():
            continue
        text = str(p.relative_to(out_dir)) + "\n" + p.read_bytes().decode("utf-8", "ignore")
        found += [f"{p.relative_to(out_dir)}: {s}" for s in secrets if s and s in text]
    return found
