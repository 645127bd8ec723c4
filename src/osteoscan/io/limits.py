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
"""Smallest side, in pixels, of any picture read (masks included)."""

MAX_PIXELS = 1 << 24
"""Largest Rows x Columns x Frames of one file (16.8 M: 4096 x 4096, or 64 frames of 512 x 512;
a whole-body pair is 2 x 1024 x 256 = 0.5 M). Keeps a decoded file, and its float copies,
well under 1 GB whatever its header claims."""

MAX_CLEANUP_PIXELS = 1 << 22
"""Largest picture (rows x columns, 4.2 M: 2048 x 2048) the picture clean-up works on; a larger
one is first reduced by an integer block mean (noted), which keeps every input under ~5 s."""

MAX_REGIONS = 20_000
"""Most separate bright regions in a picture (a whole-body export has tens: bodies, text,
bars); more is noise, not a scan, and labelling them all costs seconds."""

MAX_TEXT_BYTES = 64 << 20
"""Largest manifest, LabelMe JSON, model card or YAML config read (64 MiB; real ones are KBs,
a LabelMe file with the image embedded a few MB)."""

MAX_TREE_DEPTH = 64
"""Deepest nesting of a parsed JSON/YAML document (real cards and configs: < 8)."""

MAX_TREE_NODES = 100_000
"""Most values in a parsed JSON/YAML document, counting every alias expansion (a YAML
"billion laughs" document is a few hundred bytes and billions of values once walked)."""

MIN_VIEW_ROWS = 64
"""Fewest rows of a whole-body view (real ones have 512-2048); smaller pictures are icons or
thumbnails, not scans."""

MIN_VIEW_COLS = 16
"""Fewest columns of a whole-body view (real ones have 128-1024)."""

MIN_SPACING_MM = 0.1
"""Smallest plausible pixel spacing (mm) of a planar whole-body view (gamma cameras: 1-5 mm)."""

MAX_SPACING_MM = 20.0
"""Largest plausible pixel spacing (mm): a 2 m body in 100 rows."""


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
    if rows * cols * frames > MAX_PIXELS:
        raise InputError(
            path,
            f"{frames} frame(s) of {rows} x {cols} pixels exceeds the limit of "
            f"{MAX_PIXELS} pixels per file",
        )


def check_file_size(path: str | Path, limit: int) -> None:
    """Raise :class:`InputError` when a file is larger than ``limit`` bytes.

    Args:
        path: the file.
        limit: the largest size accepted, in bytes.

    Raises:
        InputError: the file is larger.
        OSError: the file cannot be stat'ed (callers report it).
    """
    size = Path(path).stat().st_size
    if size > limit:
        raise InputError(path, f"{size} bytes exceeds the limit of {limit} bytes for this file")


def check_tree(path: str | Path | None, tree: object) -> None:
    """Raise :class:`InputError` when a parsed document is too deep or too large to walk.

    Walks iteratively (no recursion), counting shared (aliased) subtrees each time they are
    reached, and stops at the first limit passed.

    Args:
        path: the file, for the message.
        tree: the parsed JSON/YAML value.

    Raises:
        InputError: more than :data:`MAX_TREE_DEPTH` levels or :data:`MAX_TREE_NODES` values.
    """
    stack, seen = [(tree, 1)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_TREE_NODES:
            raise InputError(path, f"more than {MAX_TREE_NODES} values (aliases expanded)")
        if depth > MAX_TREE_DEPTH:
            raise InputError(path, f"nested deeper than {MAX_TREE_DEPTH} levels")
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def check_view_size(path: str | Path, rows: int, cols: int) -> None:
    """Raise :class:`InputError` when an image is too small to be a whole-body view.

    Args:
        path: the file, for the message.
        rows: rows of the view (or picture).
        cols: columns.

    Raises:
        InputError: fewer than :data:`MIN_VIEW_ROWS` rows or :data:`MIN_VIEW_COLS` columns.
    """
    if rows < MIN_VIEW_ROWS or cols < MIN_VIEW_COLS:
        raise InputError(
            path,
            f"image of {rows} x {cols} pixels is too small for a whole-body view "
            f"(min {MIN_VIEW_ROWS} x {MIN_VIEW_COLS})",
        )


def check_spacing(path: str | Path, spacing: tuple[float, float]) -> tuple[float, float]:
    """Return a (row, col) pixel spacing in mm, or raise when it is not plausible.

    Args:
        path: the file, for the message.
        spacing: the values read from the header.

    Returns:
        The spacing, unchanged.

    Raises:
        InputError: NaN, infinite, zero, negative, or outside
            :data:`MIN_SPACING_MM`..:data:`MAX_SPACING_MM`.
    """
    ok = all(np.isfinite(v) and MIN_SPACING_MM <= v <= MAX_SPACING_MM for v in spacing)
    if not ok:
        shown = " x ".join(f"{v:g}" for v in spacing)
        raise InputError(
            path,
            f"PixelSpacing {shown} mm is not plausible for a whole-body view "
            f"(expected {MIN_SPACING_MM:g}..{MAX_SPACING_MM:g} mm)",
        )
    return spacing


def check_not_blank(path: str | Path, arr: np.ndarray) -> None:
    """Raise :class:`InputError` when every pixel has the same value (one pass, no copy).

    Args:
        path: the file, for the message.
        arr: the decoded pixels.

    Raises:
        InputError: a blank image.
    """
    if arr.size and float(arr.min()) == float(arr.max()):
        raise InputError(path, f"blank image: every pixel is {float(arr.min()):g}")


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
