"""DICOM geometry and pixel helpers shared by the volume readers (CT series, NM SPECT).

Placement in the patient comes from ImagePositionPatient and ImageOrientationPatient (at the
top level, or in the first DetectorInformationSequence item where the NM IOD puts them) and
PixelSpacing; pixels are decoded by pydicom and rescaled by RescaleSlope/Intercept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io.dicomcheck import check_bits, check_photometric, check_transfer_syntax
from osteoscan.io.volume import direction_from_orientation, zyx


PLANAR_NM_TYPES = ("WHOLE BODY", "STATIC", "DYNAMIC", "GATED")
"""ImageType value 3 of planar NM images (not slices of a volume)."""


def floats(value, n: int, path: Path, name: str) -> np.ndarray:
    """n finite numbers from a multi-valued element, or an InputError naming it."""
    try:
        out = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        out = np.array([])
    if out.shape != (n,) or not np.all(np.isfinite(out)):
        raise InputError(path, f"{name} {str(value)[:60]!r} is not {n} numbers")
    return out


def plane(ds: Dataset, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(position, ImageOrientationPatient): top level, else the first detector item.

    The position is ImagePositionPatient in our (z, y, x) order; the orientation stays as
    DICOM writes it (for :func:`~osteoscan.io.volume.direction_from_orientation`).
    """
    src = ds
    if "ImagePositionPatient" not in ds or "ImageOrientationPatient" not in ds:
        det = ds.get("DetectorInformationSequence") or [None]
        src = det[0] if det[0] is not None else ds
    if "ImagePositionPatient" not in src or "ImageOrientationPatient" not in src:
        raise InputError(path, "no ImagePositionPatient/ImageOrientationPatient: the slices "
                         "cannot be placed in the patient")
    ipp = floats(src.ImagePositionPatient, 3, path, "ImagePositionPatient")
    iop = floats(src.ImageOrientationPatient, 6, path, "ImageOrientationPatient")
    try:
        direction_from_orientation(iop)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
    return zyx(ipp), iop


def pixel_spacing(ds: Dataset, path: Path) -> tuple[float, float]:
    """(row step, column step) of PixelSpacing in mm."""
    value = ds.get("PixelSpacing")
    if value is None:
        raise InputError(path, "no PixelSpacing: voxel size unknown")
    row, col = floats(value, 2, path, "PixelSpacing")
    return float(row), float(col)


def check_grey_header(ds: Dataset, path: Path) -> tuple[int, int]:
    """Transfer syntax, photometric, bits and one sample per pixel; returns (rows, cols)."""
    check_transfer_syntax(ds, path)
    check_photometric(ds, path, "nm")
    check_bits(ds, path)
    rows, cols = tags.number(ds, tags.ROWS, 0), tags.number(ds, tags.COLUMNS, 0)
    if tags.number(ds, tags.SAMPLES_PER_PIXEL, 1) != 1:
        raise InputError(path, "colour pixels: a CT or SPECT slice is grey")
    return rows, cols


def rescaled(ds: Dataset, path: Path) -> np.ndarray:
    """Decoded pixels times RescaleSlope plus RescaleIntercept, float32."""
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if not (np.isfinite(slope) and np.isfinite(intercept)) or slope == 0:
        raise InputError(path, f"RescaleSlope {slope:g} / RescaleIntercept {intercept:g} unusable")
    arr = ds.pixel_array.astype(np.float32)
    if slope != 1:
        arr *= np.float32(slope)
    if intercept:
        arr += np.float32(intercept)
    return arr
