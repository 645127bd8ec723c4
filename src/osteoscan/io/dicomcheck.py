"""Header checks of a DICOM image, before any pixel is decoded.

A header that lies makes pydicom decode the wrong thing without complaint: ``Rows`` one short
on a two-frame file shifts the second view by a row, an unknown photometric interpretation is
read as grey, and a compressed file claiming 64 frames of 8192 x 8192 allocates 8 GB. These
checks refuse such files with a message naming the file and the value at fault; the limits are
in :mod:`osteoscan.io.limits` (docs/robustness.md lists every check).
"""

from __future__ import annotations

import math
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.pixels.common import PhotometricInterpretation
from pydicom.uid import AllTransferSyntaxes, UID

from osteoscan.errors import InputError
from osteoscan.io import dicomtags as tags
from osteoscan.io import limits

GREY_PHOTOMETRIC = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"})
"""Photometric interpretations of NM images (PS3.3 C.8.4.7.1.1 allows the first three)."""
COLOUR_PHOTOMETRIC = frozenset(
    p.value for p in PhotometricInterpretation if p.value.startswith(("RGB", "YBR"))
)
"""Colour interpretations accepted for Secondary Capture (retired HSV/ARGB/CMYK are not)."""
BITS_ALLOCATED = frozenset({1, 8, 16, 32})
_KNOWN_SYNTAXES = frozenset(str(uid) for uid in AllTransferSyntaxes)


def check_transfer_syntax(ds: Dataset, path: Path) -> None:
    """Refuse a TransferSyntaxUID pydicom does not know (it would guess the encoding)."""
    meta = getattr(ds, "file_meta", None)
    syntax = tags.text(meta, tags.TRANSFER_SYNTAX).strip() if meta is not None else ""
    if syntax and syntax not in _KNOWN_SYNTAXES:
        raise InputError(path, f"unknown transfer syntax {syntax[:64]!r}")


def check_photometric(ds: Dataset, path: Path, kind: str) -> None:
    """Refuse an unknown PhotometricInterpretation, or colour in an NM image."""
    value = tags.text(ds, tags.PHOTOMETRIC).strip().upper()
    if not value:
        return  # absent: read as MONOCHROME2, like pydicom's native handler
    allowed = GREY_PHOTOMETRIC if kind == "nm" else GREY_PHOTOMETRIC | COLOUR_PHOTOMETRIC
    if value not in allowed:
        raise InputError(
            path,
            f"PhotometricInterpretation {value[:32]!r} is not one of {sorted(allowed)}",
        )


def check_bits(ds: Dataset, path: Path) -> None:
    """Refuse impossible BitsAllocated/BitsStored/PixelRepresentation/SamplesPerPixel."""
    allocated = tags.number(ds, tags.BITS_ALLOCATED, 16)
    stored = tags.number(ds, tags.BITS_STORED, allocated)
    representation = tags.value(ds, tags.PIXEL_REPRESENTATION, 0)
    samples = tags.number(ds, tags.SAMPLES_PER_PIXEL, 1)
    if allocated not in BITS_ALLOCATED:
        raise InputError(path, f"BitsAllocated {allocated} is not one of {sorted(BITS_ALLOCATED)}")
    if not 1 <= stored <= allocated:
        raise InputError(path, f"BitsStored {stored} does not fit BitsAllocated {allocated}")
    if representation not in (None, "", 0, 1):
        raise InputError(path, f"PixelRepresentation {representation!r} is not 0 or 1")
    if samples not in (1, 3):
        raise InputError(path, f"SamplesPerPixel {samples} is not 1 or 3")


def check_size(ds: Dataset, path: Path) -> tuple[int, int, int]:
    """(rows, cols, frames) from the header, within :mod:`osteoscan.io.limits`."""
    rows, cols = tags.number(ds, tags.ROWS, 0), tags.number(ds, tags.COLUMNS, 0)
    frames = tags.number(ds, tags.NUMBER_OF_FRAMES, 1)
    limits.check_dimensions(path, rows, cols, frames)
    limits.check_view_size(path, rows, cols)
    return rows, cols, frames


def check_header(ds: Dataset, path: str | Path, kind: str) -> None:
    """Every header check: transfer syntax, photometric, bits, size, spacing.

    Args:
        ds: the dataset (pixel data not needed).
        path: its file, for messages.
        kind: "nm" or "sc" (see :func:`osteoscan.io.dicom.dicom_kind`).

    Raises:
        InputError: the first check that fails, naming the file and the value.
    """
    path = Path(path)
    check_transfer_syntax(ds, path)
    check_photometric(ds, path, kind)
    check_bits(ds, path)
    check_size(ds, path)
    spacing_of(ds, path)


def spacing_of(ds: Dataset, path: str | Path) -> tuple[float, float] | None:
    """(row, col) PixelSpacing (else ImagerPixelSpacing) in mm; None when absent or empty.

    A single value is taken as square pixels.

    Raises:
        InputError: present but not one or two numbers, or not finite, positive and plausible.
    """
    value = tags.value(ds, tags.PIXEL_SPACING) or tags.value(ds, 0x00181164)
    if value is None or value == "":
        return None
    parts = [value] if isinstance(value, (str, bytes, int, float)) else list(value)
    try:
        numbers = [float(v) for v in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) not in (1, 2):
        raise InputError(path, f"PixelSpacing {str(value)[:40]!r} is not two numbers")
    row, col = numbers[0], numbers[-1]
    return limits.check_spacing(path, (row, col))


def check_pixel_length(ds: Dataset, path: Path, rows: int, cols: int, frames: int) -> None:
    """Uncompressed pixel data must hold exactly Rows x Columns x Frames x Samples x Bits / 8.

    One byte of padding (odd lengths are padded to even) is allowed. Compressed data is
    checked by the decoder, frame by frame.
    """
    raw = tags.value(ds, tags.PIXEL_DATA)
    meta = getattr(ds, "file_meta", None)
    syntax = tags.text(meta, tags.TRANSFER_SYNTAX).strip() if meta is not None else ""
    if not isinstance(raw, bytes) or (syntax and UID(syntax).is_encapsulated):
        return
    samples = tags.number(ds, tags.SAMPLES_PER_PIXEL, 1)
    bits = tags.number(ds, tags.BITS_ALLOCATED, 16)
    expected = math.ceil(rows * cols * frames * samples * bits / 8)
    if len(raw) not in (expected, expected + 1):
        raise InputError(
            path,
            f"pixel data holds {len(raw)} bytes; the header (Rows {rows} x Columns {cols} x "
            f"{frames} frame(s) x {samples} sample(s) x {bits} bits) needs {expected}",
        )
