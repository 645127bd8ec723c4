"""Read an NM tomographic SPECT (one multi-frame NM Image Storage object) as a Volume.

The NM IOD stores reconstructed slices as frames (ImageType value 3 ``RECON TOMO``,
FrameIncrementPointer -> SliceVector), the position and orientation of the first frame in the
DetectorInformationSequence (many vendors also at the top level; both are read), and the
slice step as SpacingBetweenSlices, which NM allows to be negative (slices stacked against the
normal). Planar (WHOLE BODY, STATIC, DYNAMIC) and projection (TOMO without RECON) objects are
refused with a message saying which they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io.dicom import read_dataset
from osteoscan.io.dicomcheck import check_pixel_length
from osteoscan.io.dicomgeom import (
    PLANAR_NM_TYPES,
    check_grey_header,
    floats,
    pixel_spacing,
    plane,
    rescaled,
)
from osteoscan.io.guard import reading
from osteoscan.io.volume import Volume, VolumeSource, direction_from_orientation
from osteoscan.io.volumecheck import check_shape, check_spacing, check_values



def _check_kind(ds: Dataset, path: Path) -> None:
    modality = tags.text(ds, tags.MODALITY).strip().upper()
    if modality == "CT":
        raise InputError(path, "a single CT slice: give the folder holding the whole CT series")
    if modality not in ("NM", "PT"):
        raise InputError(path, f"Modality {modality or 'missing'}: expected an NM SPECT")
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    kind = image_type[2] if len(image_type) > 2 else ""
    if kind in PLANAR_NM_TYPES:
        raise InputError(path, f"planar NM image (ImageType {kind}), not a reconstructed SPECT")
    if kind == "TOMO":
        raise InputError(path, "SPECT projections (ImageType TOMO), not reconstructed slices "
                         "(RECON TOMO): reconstruct them first")


def _slice_step(ds: Dataset, path: Path) -> float:
    """Signed slice step: SpacingBetweenSlices, else SliceThickness."""
    for name in ("SpacingBetweenSlices", "SliceThickness"):
        value = ds.get(name)
        if value not in (None, ""):
            step = float(floats([value], 1, path, name)[0])
            if step != 0:
                return step
    raise InputError(path, "no SpacingBetweenSlices or SliceThickness: slice step unknown")


def read_nm_spect(path: str | Path) -> Volume:
    """Read one NM RECON TOMO object (multi-frame) as a SPECT volume in counts.

    Args:
        path: the DICOM file.

    Returns:
        The volume (modality "NM"), frames in stored order along ``direction[0]``.

    Raises:
        InputError: not an NM reconstructed SPECT, impossible geometry, unreadable pixels.
    """
    path = Path(path)
    ds = read_dataset(path, header_only=True)
    with reading(path, "NM SPECT header"):
        _check_kind(ds, path)
        rows, cols = check_grey_header(ds, path)
        frames = tags.number(ds, tags.NUMBER_OF_FRAMES, 1)
        check_shape(path, (frames, rows, cols))
        ipp, iop = plane(ds, path)
        srow, scol = pixel_spacing(ds, path)
        step = _slice_step(ds, path)
        spacing = check_spacing(path, (abs(step), srow, scol))
        normal = direction_from_orientation(iop)[0]
        direction = direction_from_orientation(iop, normal * np.sign(step))
    full = read_dataset(path)
    with reading(path, "NM SPECT pixel data"):
        check_pixel_length(full, path, rows, cols, frames)
        arr = rescaled(full, path).reshape(frames, rows, cols)
    check_values(path, arr, "NM")
    for_uid = str(ds.get("FrameOfReferenceUID", "")) or None
    return Volume(np.ascontiguousarray(arr), spacing, tuple(ipp), direction, "NM", for_uid,
                  VolumeSource(str(path), "dicom-nm-tomo", str(ds.get("SeriesInstanceUID", ""))
                               or None))
