"""The volume domain object (CT, SPECT) and its geometry; numpy only, no torch.

Conventions (docs/volumes.md): **everything is in array order (z, y, x)**.

* ``array`` is indexed ``(z, y, x)`` = (slice, row, column), float32: Hounsfield units for CT,
  counts per voxel for NM (SPECT).
* Patient coordinates are DICOM's LPS (+x towards the patient's left, +y posterior, +z
  superior), written as ``(z, y, x)`` triples: ``origin_mm`` is the position of voxel
  ``(0, 0, 0)``'s centre, i.e. ImagePositionPatient reversed.
* ``spacing_mm`` is ``(z, y, x)``: slice step, row step, column step.
* ``direction[a]`` is the unit vector along array axis ``a``, in ``(z, y, x)`` components:
  ``direction[2]`` is the row direction of ImageOrientationPatient (columns increase),
  ``direction[1]`` its column direction (rows increase), ``direction[0]`` the way slices
  follow (the slice normal unless the gantry was tilted). An axial series stacked from feet
  to head has ``direction == eye(3)``.

So the position of voxel ``(k, j, i)`` is
``origin + k*sz*direction[0] + j*sy*direction[1] + i*sx*direction[2]`` (:func:`Volume.affine`);
:func:`lps` and :func:`zyx` convert a triple between DICOM's (x, y, z) order and ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

MODALITIES = ("CT", "NM")
"""Volume modalities: CT (Hounsfield units) and NM (SPECT counts)."""


@dataclass(frozen=True)
class VolumeSource:
    """Where a volume came from.

    Attributes:
        path: the file or folder read ("" for a volume made in memory).
        kind: "dicom-ct-series", "dicom-nm-tomo", "nifti" or "simulated".
        series_uid: SeriesInstanceUID of a DICOM source (None otherwise).
        skipped: files of a folder that were not used, as "name: reason".
    """

    path: str = ""
    kind: str = "simulated"
    series_uid: str | None = None
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # arrays do not compare as one bool: identity equality
class Volume:
    """One 3-D image with its patient geometry (see the module docstring for conventions).

    Attributes:
        array: (z, y, x) float32 voxel values (HU for CT, counts for NM).
        spacing_mm: (z, y, x) voxel steps in mm (all > 0).
        origin_mm: (z, y, x) LPS position of voxel (0, 0, 0) in mm.
        direction: 3x3; row ``a`` is the unit vector along array axis ``a`` ((z, y, x)
            components; eye(3) for an axial series stacked feet to head).
        modality: "CT" or "NM".
        frame_of_reference_uid: DICOM FrameOfReferenceUID (None when the source has none,
            e.g. NIfTI).
        source: provenance.
    """

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "CT"
    frame_of_reference_uid: str | None = None
    source: VolumeSource = field(default_factory=VolumeSource)

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"a volume is 3-D, got shape {self.array.shape}")
        if self.modality not in MODALITIES:
            raise ValueError(f"modality {self.modality!r}: expected one of {MODALITIES}")
        if len(self.spacing_mm) != 3 or min(self.spacing_mm) <= 0:
            raise ValueError(f"spacing {self.spacing_mm}: three positive values expected")
        d = np.asarray(self.direction, dtype=float)
        if d.shape != (3, 3) or abs(np.linalg.det(d)) < 1e-6:
            raise ValueError("direction must be an invertible 3x3 matrix")
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "spacing_mm", tuple(float(s) for s in self.spacing_mm))
        object.__setattr__(self, "origin_mm", tuple(float(o) for o in self.origin_mm))

    @property
    def shape(self) -> tuple[int, int, int]:
        """(z, y, x) voxel counts."""
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    def affine(self) -> np.ndarray:
        """4x4 matrix taking a homogeneous (k, j, i, 1) voxel index to (z, y, x, 1) LPS mm."""
        a = np.eye(4)
        a[:3, :3] = (self.direction * np.asarray(self.spacing_mm)[:, None]).T
        a[:3, 3] = self.origin_mm
        return a

    def position(self, index) -> np.ndarray:
        """(z, y, x) LPS position in mm of one (k, j, i) voxel index (fractional allowed)."""
        return (self.affine() @ np.append(np.asarray(index, dtype=float), 1.0))[:3]

    def index_of(self, point_mm) -> np.ndarray:
        """Fractional (k, j, i) index of a (z, y, x) LPS point in mm."""
        return (np.linalg.inv(self.affine()) @ np.append(np.asarray(point_mm, float), 1.0))[:3]

    def with_array(self, array: np.ndarray, modality: str | None = None) -> Volume:
        """The same geometry holding another array (a mask, a windowed copy, ...)."""
        if array.shape != self.array.shape:
            raise ValueError(f"shape {array.shape} differs from the volume's {self.array.shape}")
        return replace(self, array=array, modality=modality or self.modality)

    def describe(self) -> str:
        """One line: modality, shape, spacing and source (for logs and messages)."""
        sp = "x".join(f"{s:.2f}" for s in self.spacing_mm)
        name = Path(self.source.path).name or self.source.kind
        return f"{self.modality} {self.shape} voxels of {sp} mm from {name}"


def lps(zyx) -> np.ndarray:
    """A (z, y, x) triple in DICOM's (x, y, z) order (and back: the same reversal)."""
    return np.asarray(zyx, dtype=float)[::-1].copy()


zyx = lps


def orientation_of(direction: np.ndarray) -> list[float]:
    """ImageOrientationPatient (row cosines, then column cosines, LPS x y z) of a direction."""
    d = np.asarray(direction, dtype=float)
    return [float(v) for v in (*lps(d[2]), *lps(d[1]))]


def slice_normal(iop) -> np.ndarray:
    """The slice normal (row x column) of ImageOrientationPatient, (z, y, x) components."""
    v = np.asarray([float(x) for x in iop], dtype=float)
    return zyx(np.cross(v[:3], v[3:]))


def direction_from_orientation(iop, stack: np.ndarray | None = None) -> np.ndarray:
    """The direction matrix from ImageOrientationPatient and the slice stacking direction.

    Args:
        iop: six cosines (row direction, column direction), LPS (x, y, z) as in DICOM.
        stack: unit vector along which slices follow, (z, y, x) (default: the normal).

    Returns:
        3x3 direction matrix, rows: slice, row-step and column-step directions in (z, y, x).

    Raises:
        ValueError: the cosines are not two unit, orthogonal vectors.
    """
    v = np.asarray([float(x) for x in iop], dtype=float)
    if v.shape != (6,) or not np.all(np.isfinite(v)):
        raise ValueError("ImageOrientationPatient must hold six numbers")
    row, col = v[:3], v[3:]
    if abs(np.linalg.norm(row) - 1) > 1e-2 or abs(np.linalg.norm(col) - 1) > 1e-2 \
            or abs(row @ col) > 1e-2:
        raise ValueError(f"ImageOrientationPatient {list(v)} is not two orthogonal unit vectors")
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    normal = zyx(np.cross(row, col))
    return np.stack([normal if stack is None else np.asarray(stack, float), zyx(col), zyx(row)])
