"""Read CT series, NM tomographic SPECT and NIfTI as :class:`~osteoscan.io.volume.Volume`.

* :func:`read_ct_series`: a folder of CT Image Storage files, one per slice (localizers and
  other series are skipped and listed). Slices are sorted by their ImagePositionPatient along
  the slice normal; the spacing comes from the positions (not SliceThickness) and must be even
  (a gap means a missing file); gantry tilt is kept in ``direction[0]``.
* :func:`read_nm_spect` (:mod:`osteoscan.io.nmtomo`): one NM object of reconstructed slices
  (ImageType ``RECON TOMO``), ImagePositionPatient/ImageOrientationPatient at the top level or
  in the DetectorInformationSequence, slices SpacingBetweenSlices apart (negative: against the
  normal), RescaleSlope applied. Planar and projection data are refused with a message.
* :func:`read_slice_series`: the same for NM slices exported one per file (some software
  writes a SPECT so).
* :func:`read_volume`: any of these and NIfTI, by what the path is.
* :func:`read_spect_ct`: a CT and a SPECT, the SPECT resampled onto the CT grid from their
  DICOM geometry; different FrameOfReferenceUIDs are an :class:`InputError` that says so.

pydicom parses and decodes; every failure of a file becomes an ``InputError`` naming it.
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
    pixel_spacing,
    plane,
    rescaled,
)
from osteoscan.io.guard import reading
from osteoscan.io.nifti import is_nifti, read_nifti
from osteoscan.io.nmtomo import read_nm_spect
from osteoscan.io.resample import check_same_frame, resample_to
from osteoscan.io.volume import Volume, VolumeSource, direction_from_orientation
from osteoscan.io.volumecheck import MAX_SLICES, check_shape, check_spacing, check_values

CT_STORAGE = ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1")
_TILT_TOLERANCE = 1e-3  # |cos| deviation of the stacking direction from the normal


# ---------------------------------------------------------------- CT series


SERIES_MODALITIES = ("CT", "NM")


def _headers(folder: Path) -> tuple[list[tuple[Path, Dataset, str]], list[str]]:
    """(file, header, modality) of every readable DICOM file in a folder, and the others."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if len(files) > 4 * MAX_SLICES:
        raise InputError(folder, f"{len(files)} files: more than a series folder holds")
    entries, skipped = [], []
    for path in files:
        try:
            ds = read_dataset(path, header_only=True)
        except InputError as exc:
            skipped.append(f"{path.name}: {exc.problem}")
            continue
        entries.append((path, ds, tags.text(ds, tags.MODALITY).strip().upper()))
    return entries, skipped


def _why_not(ds: Dataset, modality: str, wanted: str) -> str | None:
    """Why a file is not a slice of a ``wanted`` series (None when it is one)."""
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    if modality != wanted:
        return f"Modality {modality or 'missing'}, not {wanted}"
    if "LOCALIZER" in image_type:
        return "a localizer (scout), not an axial slice"
    if len(image_type) > 2 and image_type[2] in PLANAR_NM_TYPES:
        return f"a planar image (ImageType {image_type[2]}), not a slice"
    if tags.number(ds, tags.NUMBER_OF_FRAMES, 1) > 1:
        return (f"multi-frame (enhanced) {wanted} is not supported; export the series as one "
                "file per slice" if wanted == "CT" else "a multi-frame object: read it alone")
    return None


def _slices(entries, skipped, modality: str | None) -> tuple[str, list]:
    """The modality read (CT when the folder has CT slices, else NM) and its slices."""
    if modality is None:
        present = {m for _, _, m in entries}
        modality = "CT" if "CT" in present or "NM" not in present else "NM"
    found = []
    for path, ds, mod in entries:
        why = _why_not(ds, mod, modality)
        if why:
            skipped.append(f"{path.name}: {why}")
        else:
            found.append((path, ds))
    return modality, found


def _one_series(found, skipped, folder: Path, modality: str):
    """The largest series of the folder (the others are listed as skipped)."""
    series: dict[str, list] = {}
    for path, ds in found:
        series.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((path, ds))
    if not series:
        raise InputError(folder, f"no {modality} image files found" + (
            f" ({len(skipped)} other file(s), e.g. {skipped[0]})" if skipped else ""))
    uid, chosen = max(series.items(), key=lambda kv: len(kv[1]))
    for other, items in series.items():
        if other != uid:
            skipped += [f"{p.name}: another series ({other or 'no SeriesInstanceUID'})"
                        for p, _ in items]
    return uid, chosen


def _same(path: Path, what: str, value, first, first_path: Path) -> None:
    if value != first:
        raise InputError(path, f"{what} {value} differs from {first} in {first_path.name}: "
                         "not one volume")


def _stack(chosen, folder: Path):
    """Sorted (path, ds) and the geometry: origin, direction, spacing."""
    p0, d0 = chosen[0]
    with reading(p0, "slice header"):
        rows, cols = check_grey_header(d0, p0)
        _, iop = plane(d0, p0)
        spacing_rc = pixel_spacing(d0, p0)
    normal = direction_from_orientation(iop)[0]
    placed = []
    for path, ds in chosen:
        with reading(path, "slice header"):
            placed.append(_placed(path, ds, (iop, rows, cols, spacing_rc, normal), p0, d0))
    placed.sort(key=lambda t: t[0])
    return placed, iop, (rows, cols), spacing_rc


def _placed(path: Path, ds: Dataset, first, p0: Path, d0: Dataset):
    """(position along the normal, ImagePositionPatient, path, ds) of one slice that matches
    the first slice's orientation, size, spacing and frame of reference."""
    iop, rows, cols, spacing_rc, normal = first
    ipp, own = plane(ds, path)
    _same(path, "ImageOrientationPatient", tuple(np.round(own, 4)), tuple(np.round(iop, 4)), p0)
    _same(path, "Rows x Columns", (tags.number(ds, tags.ROWS, 0),
                                   tags.number(ds, tags.COLUMNS, 0)), (rows, cols), p0)
    _same(path, "PixelSpacing", tuple(np.round(pixel_spacing(ds, path), 4)),
          tuple(np.round(spacing_rc, 4)), p0)
    _same(path, "FrameOfReferenceUID", ds.get("FrameOfReferenceUID"),
          d0.get("FrameOfReferenceUID"), p0)
    return float(ipp @ normal), ipp, path, ds


def _slice_step(placed, folder: Path) -> tuple[float, np.ndarray]:
    """The even step between slices (mm) and the unit stacking direction."""
    if len(placed) < 2:
        raise InputError(folder, "one slice is not a volume (a series needs 2 or more)")
    ipp = np.stack([p[1] for p in placed])
    gaps = np.linalg.norm(np.diff(ipp, axis=0), axis=1)
    k = int(np.argmin(gaps))
    if gaps[k] < 1e-3:
        raise InputError(placed[k + 1][2], f"at the same position as {placed[k][2].name}: "
                         "two slices cannot share a place (two series mixed?)")
    step = float(np.median(gaps))
    k = int(np.argmax(np.abs(gaps - step)))
    if abs(gaps[k] - step) > max(0.05 * step, 0.01):
        raise InputError(placed[k + 1][2], f"{gaps[k]:.2f} mm from the slice before "
                         f"({placed[k][2].name}) where the series steps {step:.2f} mm: "
                         "a slice is missing or the spacing is uneven")
    stack = (ipp[-1] - ipp[0]) / np.linalg.norm(ipp[-1] - ipp[0])
    return step, stack


def read_ct_series(folder: str | Path) -> Volume:
    """Read a folder of CT slices (one file each) as one volume in HU.

    Args:
        folder: the series folder (searched recursively; other files are skipped).

    Returns:
        The CT volume; ``source.skipped`` lists the files not used and why.

    Raises:
        InputError: no CT slices, slices that do not form one evenly spaced volume, or a
            slice that cannot be read (each naming the file).
    """
    return read_slice_series(folder, "CT")


def read_slice_series(folder: str | Path, modality: str | None = None) -> Volume:
    """Read a folder of single-slice files (CT, or NM slices as some software exports a
    SPECT) as one volume; see :func:`read_ct_series`.

    Args:
        folder: the series folder.
        modality: "CT" or "NM"; default CT when the folder holds CT slices, else NM.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder: give the folder holding the series")
    if modality not in (None, *SERIES_MODALITIES):
        raise InputError(folder, f"modality {modality}: a slice series is CT or NM")
    entries, skipped = _headers(folder)
    modality, found = _slices(entries, skipped, modality)
    uid, chosen = _one_series(found, skipped, folder, modality)
    placed, iop, (rows, cols), (srow, scol) = _stack(chosen, folder)
    step, stack = _slice_step(placed, folder)
    shape = (len(placed), rows, cols)
    check_shape(folder, shape)
    spacing = check_spacing(folder, (step, srow, scol))
    normal = direction_from_orientation(iop)[0]
    tilted = abs(abs(float(stack @ normal)) - 1.0) > _TILT_TOLERANCE
    direction = direction_from_orientation(iop, stack if tilted else normal)
    arr = np.empty(shape, dtype=np.float32)
    for k, (_, _, path, _) in enumerate(placed):
        arr[k] = _slice_pixels(path, rows, cols)
    check_values(folder, arr, modality)
    for_uid = str(placed[0][3].get("FrameOfReferenceUID", "")) or None
    return Volume(arr, spacing, tuple(placed[0][1]), direction, modality, for_uid,
                  VolumeSource(str(folder), f"dicom-{modality.lower()}-series", uid or None,
                               tuple(skipped)))


def _slice_pixels(path: Path, rows: int, cols: int) -> np.ndarray:
    ds = read_dataset(path)
    with reading(path, "slice"):
        if tags.number(ds, tags.NUMBER_OF_FRAMES, 1) != 1:
            raise InputError(path, "more than one frame in a file of a slice series")
        check_pixel_length(ds, path, rows, cols, 1)
        arr = rescaled(ds, path)
        if arr.shape != (rows, cols):
            raise InputError(path, f"pixel data of shape {arr.shape}, expected {rows} x {cols}")
    return arr


# ---------------------------------------------------------------- any volume, SPECT/CT


def read_volume(path: str | Path, modality: str | None = None) -> Volume:
    """Read a CT series folder, an NM SPECT file or a NIfTI file.

    Args:
        path: a folder (a CT series, or NM slices one per file), a ``.nii``/``.nii.gz``
            file, or a DICOM NM file (multi-frame SPECT).
        modality: for NIfTI, what the values are ("CT" or "NM"; default "CT"); for DICOM,
            the modality expected (a mismatch is an error).

    Raises:
        InputError: unreadable, or not the modality expected.
    """
    path = Path(path)
    if is_nifti(path):
        return read_nifti(path, modality or "CT")
    if path.is_dir():
        vol = read_slice_series(path, modality)
    elif not path.exists():
        raise InputError(path, "no such file or folder")
    else:
        vol = read_nm_spect(path)
    if modality and vol.modality != modality:
        raise InputError(path, f"holds {vol.modality}, expected {modality}")
    return vol


def read_spect_ct(ct_path: str | Path, spect_path: str | Path, *,
                  order: int = 1) -> tuple[Volume, Volume]:
    """Read a CT and a SPECT and put the SPECT on the CT grid.

    Args:
        ct_path: the CT (series folder or NIfTI).
        spect_path: the SPECT (NM file or NIfTI).
        order: interpolation order (1 linear).

    Returns:
        (ct, spect on the CT grid).

    Raises:
        InputError: either unreadable, different frames of reference, or no overlap.
    """
    ct = read_volume(ct_path, "CT")
    spect = read_volume(spect_path, "NM")
    check_same_frame(spect, ct)
    on_ct = resample_to(spect, ct, order=order)
    if not on_ct.array.any() and spect.array.any():
        raise InputError(spect_path, f"the SPECT does not overlap the CT ({Path(ct_path).name})"
                         ": their positions in the patient share no voxel")
    return ct, on_ct
