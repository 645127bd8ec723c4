"""Limits and checks of the volume readers (CT series, NM SPECT, NIfTI), before decoding.

A header that announces an impossible volume fails fast with a message naming the file; the
limits are plain constants quoted by docs/volumes.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osteoscan.errors import InputError

MAX_VOXELS = 1 << 28
"""Largest volume read (268 M voxels: 1 GiB as float32; a 512 x 512 x 1000 CT is 262 M)."""

MAX_SLICES = 4096
"""Most slices (files of a CT series, frames of an NM object, the third NIfTI axis)."""

MIN_SLICES = 2
"""Fewest slices of a volume (one slice is a picture, not a volume)."""

MIN_SIDE = 4
"""Fewest rows or columns of a slice."""

MIN_VOXEL_MM = 0.05
"""Smallest plausible voxel step (mm)."""

MAX_VOXEL_MM = 50.0
"""Largest plausible voxel step (mm): a 64-slice SPECT of the trunk has 7-9 mm."""


def check_shape(path: str | Path, shape: tuple[int, ...]) -> None:
    """Raise when a (z, y, x) shape is empty, too small or too large."""
    if len(shape) != 3:
        raise InputError(path, f"{len(shape)}-D image {tuple(shape)}: a 3-D volume is expected")
    z, y, x = (int(n) for n in shape)
    if min(y, x) < MIN_SIDE or z < MIN_SLICES:
        raise InputError(path, f"volume of {z} slice(s) of {y} x {x} voxels is too small "
                         f"(at least {MIN_SLICES} slices of {MIN_SIDE} x {MIN_SIDE})")
    if z > MAX_SLICES:
        raise InputError(path, f"{z} slices: more than the {MAX_SLICES} a volume may have")
    if z * y * x > MAX_VOXELS:
        raise InputError(path, f"volume of {z} x {y} x {x} voxels is larger than the "
                         f"{MAX_VOXELS:,} voxels osteoscan reads")


def check_spacing(path: str | Path, spacing) -> tuple[float, float, float]:
    """Return the (z, y, x) spacing as floats, or raise when one value is implausible."""
    values = tuple(float(v) for v in spacing)
    if len(values) != 3 or not all(np.isfinite(v) and MIN_VOXEL_MM <= v <= MAX_VOXEL_MM
                                   for v in values):
        shown = " x ".join(f"{v:g}" for v in values)
        raise InputError(path, f"voxel spacing {shown} mm is not plausible (expected "
                         f"{MIN_VOXEL_MM:g}..{MAX_VOXEL_MM:g} mm per axis)")
    return values  # type: ignore[return-value]


def check_values(path: str | Path, arr: np.ndarray, modality: str) -> None:
    """Raise on NaN or infinite voxels, or on negative SPECT counts."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise InputError(path, f"voxel data holds {n_bad} NaN or infinite value(s)")
    if modality == "NM" and arr.size and float(arr.min()) < 0:
        raise InputError(path, f"SPECT counts cannot be negative (min {float(arr.min()):g})")
