"""Read and write NIfTI-1 volumes (``.nii``, ``.nii.gz``) through nibabel, as :class:`Volume`.

The conversion is exact:

* NIfTI voxel ``(i, j, k)`` is our voxel ``(k, j, i)``: ``array = data.transpose(2, 1, 0)``.
* NIfTI's world is RAS+ (x towards the patient's right, y anterior, z superior), DICOM's and
  ours LPS (x towards the patient's left, y posterior), so ``LPS = diag(-1, -1, 1) @ RAS``.

The affine is the one nibabel chooses (sform when its code is set, else qform, else the voxel
sizes alone). NIfTI has no FrameOfReferenceUID: volumes read from it carry None, and
:func:`osteoscan.io.resample.check_same_frame` lets them combine with any frame. Written files
carry sform and qform (code 1, scanner) and mm units; masks keep their integer dtype.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_bytes
from osteoscan.errors import InputError
from osteoscan.io.guard import reading
from osteoscan.io.volume import Volume, VolumeSource
from osteoscan.io.volumecheck import check_shape, check_spacing, check_values

_REVERSE = np.eye(3)[::-1]  # (i, j, k) <-> (k, j, i)
_RAS_TO_ZYX = _REVERSE @ np.diag([-1.0, -1.0, 1.0])  # RAS (x, y, z) -> LPS (z, y, x)
NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: str | Path) -> bool:
    """Whether a path names a NIfTI file by its suffix."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def _shape(path: Path, img) -> tuple[int, int, int]:
    dims = tuple(int(n) for n in img.shape)
    while len(dims) > 3 and dims[-1] == 1:  # a 4-D file of one volume
        dims = dims[:-1]
    if len(dims) > 3:
        raise InputError(path, f"{len(dims)}-D NIfTI {dims}: one 3-D volume is expected "
                         "(split the series first)")
    check_shape(path, dims[::-1])
    return dims  # type: ignore[return-value]


def _geometry(path: Path, affine: np.ndarray):
    """(spacing, origin, direction), all (z, y, x), from a NIfTI (i, j, k) -> RAS affine."""
    a = np.asarray(affine, dtype=float)
    if a.shape != (4, 4) or not np.all(np.isfinite(a)):
        raise InputError(path, "NIfTI affine is missing or not finite")
    m = _RAS_TO_ZYX @ a[:3, :3] @ _REVERSE  # (k, j, i) -> (z, y, x) LPS
    steps = np.linalg.norm(m, axis=0)
    if np.any(steps == 0) or abs(np.linalg.det(m)) < 1e-9 * float(np.prod(steps)):
        raise InputError(path, "NIfTI affine is singular (two axes point the same way)")
    spacing = check_spacing(path, steps)
    return spacing, tuple(_RAS_TO_ZYX @ a[:3, 3]), (m / steps).T


def read_nifti(path: str | Path, modality: str = "CT", *, dtype=np.float32) -> Volume:
    """Read a NIfTI-1/2 file as a volume.

    Args:
        path: ``.nii`` or ``.nii.gz``.
        modality: what the values are ("CT": HU, "NM": counts); NIfTI does not say.
        dtype: voxel dtype of the returned array (scaling slope/intercept applied).

    Returns:
        The volume (frame of reference None).

    Raises:
        InputError: not a readable NIfTI, not 3-D, implausible geometry or values.
    """
    import nibabel as nib  # a few hundred ms; only when a NIfTI is read

    path = Path(path)
    with reading(path, "NIfTI file"):
        img = nib.load(str(path))
        dims = _shape(path, img)
        if img.get_data_dtype().kind not in "biuf":
            raise InputError(path, f"NIfTI voxel type {img.get_data_dtype()} is not numeric")
        spacing, origin, direction = _geometry(path, img.affine)
        data = np.asarray(img.dataobj, dtype=dtype).reshape(dims)
    arr = np.ascontiguousarray(data.transpose(2, 1, 0))
    check_values(path, arr, modality)
    return Volume(arr, spacing, origin, direction, modality, None,
                  VolumeSource(str(path), "nifti"))


def nifti_affine(volume: Volume) -> np.ndarray:
    """The NIfTI (i, j, k) -> RAS affine of a volume."""
    a = np.eye(4)
    ours = volume.affine()  # (k, j, i) -> (z, y, x) LPS
    back = _RAS_TO_ZYX.T  # the inverse of a signed permutation is its transpose
    a[:3, :3] = back @ ours[:3, :3] @ _REVERSE
    a[:3, 3] = back @ ours[:3, 3]
    return a


def nifti_bytes(volume: Volume) -> bytes:
    """The volume as an uncompressed NIfTI-1 file in memory (array dtype kept)."""
    import nibabel as nib

    data = volume.array.transpose(2, 1, 0)  # F-ordered view: no copy
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    img = nib.Nifti1Image(data, nifti_affine(volume))
    img.header.set_xyzt_units("mm")
    img.set_sform(nifti_affine(volume), code=1)
    img.set_qform(nifti_affine(volume), code=1)
    return img.to_bytes()


def write_nifti(volume: Volume, path: str | Path) -> Path:
    """Write a volume (or a mask on its grid: ``ct.with_array(mask)``) as NIfTI, atomically.

    ``.nii.gz`` is gzip-compressed (level 1: 3-4x faster than 6, a few % larger); ``.nii`` is not.

    Returns:
        The path written.
    """
    path = Path(path)
    if not is_nifti(path):
        raise ValueError(f"{path.name}: a NIfTI file name ends in .nii or .nii.gz")
    raw = nifti_bytes(volume)
    if str(path).lower().endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    return atomic_write_bytes(path, raw)
