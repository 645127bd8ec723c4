"""Limits the readers enforce before decoding, so a bad header fails fast and clearly.

Every limit is a plain constant so that callers and the docs (docs/ingest.md) quote one value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from osteoscan.errors import InputError

MAX_ROWS = 8192
"""Largest number of image rows accepted (a whole-body view is ~1024)."""

MAX_COLS = 8192
"""Largest number of image columns accepted (a whole-body view is ~256; exports up to ~2000)."""

MAX_FRAMES = 64
"""Largest number of frames in one NM object (whole body: 1 or 2; per energy window: a few)."""

MAX_FILES_PER_STUDY = 512
"""Largest number of DICOM files read for one study folder."""

MIN_SIDE = 8
"""Smallest side, in pixels, of a usable view."""


def check_dimensions(path: str | Path, rows: int, cols: int, frames: int = 1) -> None:
    """Raise :class:`InputError` when a header announces an unusable image size.

    Args:
        path: the file, for the message.
        rows: number of rows announced.
        cols: number of columns announced.
        frames: number of frames announced.

    Raises:
        InputError: zero-size, too small, or absurdly large images.
    """
    if rows <= 0 or cols <= 0 or frames <= 0:
        raise InputError(path, f"zero-size image ({frames} frame(s) of {rows} x {cols} pixels)")
    if rows < MIN_SIDE or cols < MIN_SIDE:
        raise InputError(
            path, f"image of {rows} x {cols} pixels is too small (min side {MIN_SIDE})"
        )
    if rows > MAX_ROWS or cols > MAX_COLS:
        raise InputError(
            path, f"image of {rows} x {cols} pixels exceeds the limit of {MAX_ROWS} x {MAX_COLS}"
        )
    if frames > MAX_FRAMES:
        raise InputError(path, f"{frames} frames exceeds the limit of {MAX_FRAMES}")


def check_finite(path: str | Path, arr: np.ndarray) -> None:
    """Raise :class:`InputError` when a float array holds NaN or infinite values.

    Args:
        path: the file, for the message.
        arr: the decoded pixels.

    Raises:
        InputError: NaN or inf present.
    """
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise InputError(path, f"pixel data holds {n_bad} NaN or infinite value(s)")


def check_non_negative(path: str | Path, arr: np.ndarray) -> None:
    """Raise :class:`InputError` when counts are negative (counts cannot be).

    Args:
        path: the file, for the message.
        arr: the decoded pixels (after any rescale).

    Raises:
        InputError: any negative value.
    """
    if arr.dtype.kind in "fi" and arr.size and float(arr.min()) < 0:
        raise InputError(path, f"pixel data holds negative values (min {float(arr.min()):g})")
