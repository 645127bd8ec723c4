"""Picture files: name the format from the magic bytes and decode PNG, JPEG and TIFF.

Pillow and tifffile decode; this module only checks sizes from the header before decoding
(:mod:`osteoscan.io.limits`), turns their many exception types into one ``InputError`` that
names the file, and gives the pixels one layout. The clean-up of a screen export is
:mod:`osteoscan.io.images`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.guard import reading

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


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
