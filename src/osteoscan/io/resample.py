"""Put one volume on another's voxel grid from their patient geometry (SPECT onto CT).

The mapping comes only from each volume's DICOM geometry (origin, direction, spacing;
:meth:`osteoscan.io.volume.Volume.affine`): for every voxel of the reference grid, its patient
position is mapped back into the moving volume's index space and interpolated there by
``scipy.ndimage.affine_transform`` (one matrix, no per-voxel Python; beyond the moving
volume's edge values blend into ``fill`` over one voxel, ``mode="grid-constant"``). Two
volumes can only be combined in this way when they share a frame of reference; different
FrameOfReferenceUIDs mean their patient coordinates are unrelated, which is an
:class:`InputError`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.errors import InputError
from osteoscan.io.volume import Volume


def check_same_frame(moving: Volume, reference: Volume) -> None:
    """Raise when two volumes' FrameOfReferenceUIDs are both known and differ.

    A volume without one (NIfTI) is taken to share the other's frame: NIfTI has no such notion,
    its coordinates are the scanner's.

    Raises:
        InputError: naming the moving volume's file and both UIDs.
    """
    a, b = moving.frame_of_reference_uid, reference.frame_of_reference_uid
    if a and b and a != b:
        raise InputError(
            moving.source.path or None,
            f"FrameOfReferenceUID {a} does not match the reference volume's {b} "
            f"({Path(reference.source.path).name or 'in memory'}); the two were not acquired in "
            "one patient coordinate system, so they cannot be overlaid")


def index_map(moving: Volume, reference: Volume) -> np.ndarray:
    """4x4 matrix taking a reference voxel index to the moving volume's (fractional) index."""
    return np.linalg.inv(moving.affine()) @ reference.affine()


def resample_to(moving: Volume, reference: Volume, *, order: int = 1,
                fill: float = 0.0, dtype=None) -> Volume:
    """The moving volume's values on the reference volume's grid.

    Args:
        moving: the volume to resample (e.g. SPECT).
        reference: the grid to resample onto (e.g. CT); its array is not read.
        order: spline order (0 nearest, for label maps; 1 linear, the default).
        fill: value outside the moving volume's field of view.
        dtype: output dtype (default: the moving array's for ``order=0``, so label maps
            stay integers; else float32).

    Returns:
        A volume with the reference's geometry and frame of reference and the moving volume's
        modality and source. Values are interpolated, not re-binned: NM counts stay counts per
        moving-grid voxel.

    Raises:
        InputError: the frames of reference differ.
    """
    check_same_frame(moving, reference)
    m = index_map(moving, reference)
    near = np.abs(m - np.round(m)) < 1e-6  # float noise of the inverse: -1e-15 is index 0
    m[near] = np.round(m[near])
    src = moving.array if order == 0 else moving.array.astype(np.float32, copy=False)
    if dtype is None:
        dtype = moving.array.dtype if order == 0 else np.float32
    out = np.empty(reference.shape, dtype=dtype)
    if np.allclose(m[:3, :3], np.eye(3)) and np.allclose(m[:3, 3], np.round(m[:3, 3])):
        _integer_shift(src, m[:3, 3].round().astype(int), out, fill)
    else:
        ndimage.affine_transform(src, m[:3, :3], offset=m[:3, 3], output_shape=reference.shape,
                                 output=out, order=order, mode="grid-constant", cval=fill,
                                 prefilter=order > 1)
    return replace(moving, array=out, spacing_mm=reference.spacing_mm,
                   origin_mm=reference.origin_mm, direction=reference.direction,
                   frame_of_reference_uid=reference.frame_of_reference_uid
                   or moving.frame_of_reference_uid)


def _integer_shift(src: np.ndarray, shift: np.ndarray, out: np.ndarray, fill: float) -> None:
    """out[p] = src[p + shift] (same spacing and axes): a copy, no interpolation."""
    out.fill(fill)
    dst_sl, src_sl = [], []
    for n_out, n_src, s in zip(out.shape, src.shape, shift):
        lo, hi = max(0, -s), min(n_out, n_src - s)
        if hi <= lo:
            return
        dst_sl.append(slice(lo, hi))
        src_sl.append(slice(lo + s, hi + s))
    out[tuple(dst_sl)] = src[tuple(src_sl)]


def regrid(volume: Volume, spacing_mm, *, order: int = 1, fill: float = 0.0) -> Volume:
    """The volume on a grid of another spacing over the same extent and axes.

    The new grid keeps the origin (voxel 0's centre) and direction and covers the old field
    of view: ``n_new = round((n - 1) * old / new) + 1`` voxels per axis. Use it to bring a
    CT to a model's spacing and :func:`resample_to` (``order=0``) to put a predicted mask back
    onto the original grid.

    Args:
        volume: the volume.
        spacing_mm: (z, y, x) new voxel steps in mm.
        order: spline order (0 for label maps).
        fill: value outside the volume.
    """
    new = np.asarray(spacing_mm, dtype=float)
    if new.shape != (3,) or not np.all(new > 0):
        raise ValueError(f"spacing {spacing_mm}: three positive values expected")
    old = np.asarray(volume.spacing_mm)
    shape = tuple(int(round((n - 1) * o / s)) + 1 for n, o, s in zip(volume.shape, old, new))
    grid = replace(volume, array=np.broadcast_to(np.zeros((), np.uint8), shape),  # no memory
                   spacing_mm=tuple(new))
    return resample_to(volume, grid, order=order, fill=fill)
