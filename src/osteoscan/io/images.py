"""Read whole-body scans exported as pictures: PNG, JPEG, TIFF (and the pixels of DICOM SC).

Pillow and tifffile decode; scipy labels connected regions. What no library does is the
clean-up of a screen export, written here by hand:

1. colour pixels (colour bars, coloured annotations) are dropped;
2. an inverted display (dark uptake on a white background, detected from the border) is
   undone;
3. burned-in text, frames and grey bars are removed: connected regions that are thin frames,
   solid rectangles, or small and outside every body's box are zeroed, then the picture is
   cropped to the bodies (only when something was removed, so clean count images keep
   their size);
4. two bodies side by side are split into two views; the pixel rule says which is the
   posterior (the left body is taken as anterior when the rule cannot tell).

Every step taken is recorded in ``StudySource.notes``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.display import restore_saturation
from osteoscan.io.frames import ViewFrame, scan_from_frames
from osteoscan.io.guard import reading
from osteoscan.io.viewrule import decide_posterior
from osteoscan.types import BoneScan, StudySource

log = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
CHROMA_LIMIT = 0.08
"""A pixel whose channel spread exceeds this fraction of the value range is colour."""
COMPOSITE_ASPECT = 0.4
"""A single body region wider than this fraction of its height holds two fused views."""
_SMOOTH = 5
_MIN_BODY_FRACTION = 0.15  # a body region holds at least this share of the largest region


def picture_format(path: str | Path) -> str | None:
    """Name the picture format from the magic bytes ("png", "jpeg", "tiff"), else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    return format_of_head(head)


def format_of_head(head: bytes) -> str | None:
    """Name the picture format from a file's first 8 bytes ("png", "jpeg", "tiff"), else None."""
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    return None


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            rows, cols = int(page.imagelength), int(page.imagewidth)
            limits.check_dimensions(path, rows, cols, max(int(page.imagedepth), 1))
            if rows * cols * max(int(page.samplesperpixel), 1) > limits.MAX_PIXELS * 4:
                raise InputError(path, f"{page.samplesperpixel} samples per pixel is too many")
            return page.asarray()
    except InputError:
        raise
    except Exception as exc:  # tifffile raises many types on corrupt files
        raise InputError(path, f"cannot decode TIFF: {exc}") from exc


def _read_pil(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                cols, rows = img.size
                limits.check_dimensions(path, rows, cols)
                img.load()
                if img.mode in ("P", "PA", "LA", "CMYK", "YCbCr", "1"):
                    img = img.convert("RGB")
                return np.asarray(img)
    except InputError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise InputError(path, f"cannot decode image: {exc}") from exc


def read_picture(path: str | Path) -> np.ndarray:
    """Decode a PNG, JPEG or TIFF file to an array (grey 2-D or RGB(A) 3-D).

    Args:
        path: the file.

    Returns:
        The pixels, in the file's dtype.

    Raises:
        InputError: unknown format, corrupt file, bad size, NaN/inf.
    """
    path = Path(path)
    fmt = picture_format(path)
    if fmt is None:
        raise InputError(path, "not a PNG, JPEG or TIFF picture")
    with reading(path, f"{fmt.upper()} picture"):
        arr = _read_tiff(path) if fmt == "tiff" else _read_pil(path)
        return _layout(path, arr)


def _layout(path: Path, arr: np.ndarray) -> np.ndarray:
    """Pixels as (rows, cols) grey or (rows, cols, channels), checked."""
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar TIFF
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InputError(path, f"unsupported picture layout {arr.shape}")
    if arr.dtype.kind not in "buif":
        raise InputError(path, f"unsupported pixel type {arr.dtype}")
    limits.check_finite(path, arr)
    return arr


def _to_grey(arr: np.ndarray, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Grey float32 picture and the mask of colour pixels."""
    if arr.ndim == 2:
        return arr.astype(np.float32), np.zeros(arr.shape, bool)
    rgb = arr[..., :3].astype(np.float32)
    span = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else max(float(rgb.max()), 1e-6)
    chroma = rgb.max(axis=-1) - rgb.min(axis=-1)
    colour = chroma > CHROMA_LIMIT * span
    if colour.any():
        notes.append(f"dropped {int(colour.sum())} colour pixels (colour bars or annotations)")
    return rgb.mean(axis=-1), colour


def _undo_inversion(grey: np.ndarray, notes: list[str]) -> np.ndarray:
    ring = max(2, min(grey.shape) // 50)
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    lo, hi = float(grey.min()), float(grey.max())
    if hi > lo and float(np.median(border)) > lo + 0.5 * (hi - lo):
        notes.append("inverted display (light background) undone")
        return hi - grey
    return grey


@dataclass(frozen=True)
class _Region:
    label: int
    box: tuple[slice, slice]
    area: int

    @property
    def fill(self) -> float:
        r, c = self.box
        return self.area / max((r.stop - r.start) * (c.stop - c.start), 1)


def _regions(grey: np.ndarray) -> tuple[np.ndarray, list[_Region]]:
    smooth = ndimage.uniform_filter(grey, _SMOOTH)
    top = float(np.percentile(smooth, 99.5))
    mask = smooth > max(0.04 * top, 1e-6)
    labels, n = ndimage.label(mask)
    if n > limits.MAX_REGIONS:
        raise InputError(None, f"{n} separate bright regions: noise, not a whole-body picture")
    boxes = ndimage.find_objects(labels)
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    return labels, [_Region(i + 1, boxes[i], int(areas[i + 1])) for i in range(n)]


def _is_artefact(reg: _Region, shape: tuple[int, int]) -> str | None:
    r, c = reg.box
    h, w = r.stop - r.start, c.stop - c.start
    if h > 0.9 * shape[0] and w > 0.9 * shape[1] and reg.fill < 0.25:
        return "border"
    if reg.fill > 0.9 and min(h, w) >= 3 and reg.area > 200:
        return "bar"
    return None


def _inside(reg: _Region, bodies: list[_Region], margin: int) -> bool:
    r, c = reg.box
    for body in bodies:
        br, bc = body.box
        if (
            r.start >= br.start - margin
            and r.stop <= br.stop + margin
            and c.start >= bc.start - margin
            and c.stop <= bc.stop + margin
        ):
            return True
    return False


def _clean(
    grey: np.ndarray, colour: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, list[_Region]]:
    """Zero colour pixels, frames, bars and stray text; return the picture and the bodies."""
    grey = np.where(colour, 0.0, grey).astype(np.float32)
    labels, regions = _regions(grey)
    kinds = {reg.label: _is_artefact(reg, grey.shape) for reg in regions}
    candidates = [reg for reg in regions if kinds[reg.label] is None]
    if not candidates:
        raise InputError(None, "no body found in the picture")
    largest = max(reg.area for reg in candidates)
    bodies = [reg for reg in candidates if reg.area >= _MIN_BODY_FRACTION * largest]
    margin = max(3, grey.shape[0] // 100)
    drop = [
        reg
        for reg in regions
        if kinds[reg.label] or not (reg in bodies or _inside(reg, bodies, margin))
    ]
    for kind in ("border", "bar"):
        if any(kinds[reg.label] == kind for reg in drop):
            notes.append(f"removed {kind}(s)")
    text = [reg for reg in drop if not kinds[reg.label]]
    if text:
        notes.append(f"removed {len(text)} small region(s) outside the bodies (burned-in text)")
    if drop:
        grey[np.isin(labels, [reg.label for reg in drop])] = 0.0
    return grey, bodies


def _crop_to(grey: np.ndarray, bodies: list[_Region], margin: int) -> np.ndarray:
    r0 = max(min(b.box[0].start for b in bodies) - margin, 0)
    r1 = min(max(b.box[0].stop for b in bodies) + margin, grey.shape[0])
    c0 = max(min(b.box[1].start for b in bodies) - margin, 0)
    c1 = min(max(b.box[1].stop for b in bodies) + margin, grey.shape[1])
    return grey[r0:r1, c0:c1]


def _split_columns(grey: np.ndarray) -> int | None:
    """Column where two side-by-side bodies separate, or None for one body."""
    smooth = ndimage.uniform_filter(grey, _SMOOTH)
    occupied = (smooth > 0.04 * float(np.percentile(smooth, 99.5))).any(axis=0)
    runs, start = [], None
    for c, on in enumerate(np.append(occupied, False)):
        if on and start is None:
            start = c
        elif not on and start is not None:
            runs.append((start, c))
            start = None
    mass = [float(grey[:, a:b].sum()) for a, b in runs]
    if len(runs) < 2:
        return None
    order = np.argsort(mass)[::-1][:2]
    (a0, a1), (b0, b1) = sorted(runs[i] for i in order)
    if min(mass[i] for i in order) < 0.25 * max(mass):
        return None
    return (a1 + b0) // 2


def _reduce(arr: np.ndarray, notes: list[str]) -> np.ndarray:
    """A picture above :data:`limits.MAX_CLEANUP_PIXELS`, reduced by an integer block mean."""
    rows, cols = arr.shape[:2]
    if rows * cols <= limits.MAX_CLEANUP_PIXELS:
        return arr
    k = math.ceil(math.sqrt(rows * cols / limits.MAX_CLEANUP_PIXELS))
    h, w = rows // k * k, cols // k * k
    small = arr[:h, :w].reshape(h // k, k, w // k, k, *arr.shape[2:]).mean(axis=(1, 3))
    notes.append(f"reduced from {rows} x {cols} pixels by a {k} x {k} block mean")
    return small.astype(arr.dtype) if arr.dtype.kind in "uib" else small.astype(np.float32)


def _pad_pair(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    width = max(left.shape[1], right.shape[1])

    def pad(a: np.ndarray) -> np.ndarray:
        extra = width - a.shape[1]
        return np.pad(a, ((0, 0), (extra // 2, extra - extra // 2)))

    return pad(left), pad(right)


def frames_from_picture(arr: np.ndarray, path: str | Path, *, restore: bool = False,
                        tol: float = 0.0) -> tuple[list[ViewFrame], list[str]]:
    """Clean a picture and cut it into view frames (one, or two side by side).

    Args:
        arr: decoded picture (grey or RGB).
        path: its file.
        restore: rebuild the peaks a display window saturated
            (:func:`osteoscan.io.display.restore_saturation`). Off by default: measured on
            simulated exports it moved the detector further from the DICOM answer
            (docs/robustness.md).
        tol: grey levels below the top still counted as saturated (JPEG).

    Returns:
        (frames with views decided where the picture allows, notes).

    Raises:
        InputError: no body found, negative values.
    """
    frames, notes = _frames(arr, Path(path))
    if restore:
        top = max(float(f.pixels.max()) for f in frames)  # the window top, shared by the views
        rebuilt = [restore_saturation(f.pixels, top=top, tol=tol) for f in frames]
        frames = [replace(f, pixels=px) for f, (px, _) in zip(frames, rebuilt)]
        if sum(n for _, n in rebuilt):
            notes.append(f"{sum(n for _, n in rebuilt)} saturated plateau(s) (display window) "
                         "rebuilt as peaks (osteoscan.io.display)")
    return frames, notes


def _frames(arr: np.ndarray, path: Path) -> tuple[list[ViewFrame], list[str]]:
    """:func:`frames_from_picture` up to the rebuild of saturated peaks."""
    limits.check_view_size(path, arr.shape[0], arr.shape[1] if arr.ndim > 1 else 0)
    limits.check_not_blank(path, arr)
    notes: list[str] = []
    arr = _reduce(arr, notes)
    grey, colour = _to_grey(arr, notes)
    limits.check_non_negative(path, grey)
    grey = _undo_inversion(grey, notes)
    try:
        cleaned, bodies = _clean(grey, colour, notes)
    except InputError as exc:
        raise InputError(path, exc.problem) from None
    if len(notes) > 0:
        cleaned = _crop_to(cleaned, bodies, max(2, grey.shape[0] // 200))
        notes.append(f"cropped to the bodies: {cleaned.shape[0]} x {cleaned.shape[1]} pixels")
    split = _split_columns(cleaned)
    if split is None:
        return [_single(cleaned, path, notes)], notes
    left, right = _pad_pair(cleaned[:, :split], cleaned[:, split:])
    notes.append(f"two bodies side by side split at column {split}")
    return list(_side_by_side(left, right, path)), notes


def _single(grey: np.ndarray, path: Path, notes: list[str]) -> ViewFrame:
    smooth = ndimage.uniform_filter(grey, _SMOOTH)
    mask = smooth > 0.04 * float(np.percentile(smooth, 99.5))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if (
        rows.size
        and cols.size
        and (cols[-1] - cols[0] + 1) > COMPOSITE_ASPECT * (rows[-1] - rows[0] + 1)
    ):
        detail = (
            f"body region {cols[-1] - cols[0] + 1} wide for {rows[-1] - rows[0] + 1} tall: "
            "two views fused, kept as one composite picture"
        )
        notes.append("composite picture (views could not be split)")
        return ViewFrame(grey, path, None, "composite", "pixels", 0.5, detail)
    return ViewFrame(grey, path, None)


def _side_by_side(left: np.ndarray, right: np.ndarray, path: Path) -> tuple[ViewFrame, ViewFrame]:
    post, conf, detail = decide_posterior(left, right)
    if conf <= 0.55:
        post, conf = 1, 0.5
        detail += "; inconclusive, layout used: left body taken as anterior (usual display)"
    else:
        detail += f"; layout: {'left' if post == 0 else 'right'} body is the posterior"
    views = ("posterior", "anterior") if post == 0 else ("anterior", "posterior")
    return (
        ViewFrame(left, path, 0, views[0], "pixels", conf, detail),
        ViewFrame(right, path, 1, views[1], "pixels", conf, detail),
    )


def scan_from_picture(
    path: str | Path, *, patient_id: str | None = None, study_id: str | None = None,
    restore: bool = False,
) -> BoneScan:
    """Load a PNG/JPEG/TIFF export as a :class:`BoneScan` (``spacing_mm`` is None).

    Args:
        path: the picture.
        patient_id: patient id (default: the file stem).
        study_id: study id (default: the file stem).
        restore: rebuild saturated peaks (:func:`frames_from_picture`; off by default).

    Returns:
        The scan; ``source.notes`` lists the clean-up steps.

    Raises:
        InputError: unreadable or unusable picture.
    """
    path = Path(path)
    arr = read_picture(path)
    with reading(path, "picture"):
        frames, notes = frames_from_picture(arr, path, restore=restore,
                                            tol=3.0 if picture_format(path) == "jpeg" else 0.0)
    if arr.dtype.itemsize == 1:
        notes.insert(0, "8-bit picture: display values, not counts")
    source = StudySource(files=(str(path.resolve()),), format="image", notes=tuple(notes))
    return scan_from_frames(
        frames,
        patient_id=patient_id or path.stem,
        study_id=study_id or path.stem,
        spacing_mm=None,
        source=source,
        meta={"picture_dtype": str(arr.dtype), "picture_shape": "x".join(map(str, arr.shape))},
    )
