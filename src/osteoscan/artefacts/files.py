"""The one atomic writer and the one JSON sanitiser of the package.

Every file osteoscan writes goes through :func:`atomic_write`: the content goes to a
temporary file in the destination folder, is flushed to disk (``fsync``), gets the usual file
mode, and only then replaces the destination with ``os.replace``. A reader never sees a
half-written file; on any failure (including KeyboardInterrupt) the temporary file is removed
and the destination is left as it was.

Example:
    >>> atomic_write_json(tmp / "metrics.json", {"auc": np.float32(0.9), "p": float("nan")})
    ...                                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _fsync_file(path: str) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename durable; not every platform/file system allows opening a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` to fill a temporary file, then move it onto ``path``.

    Use this form for libraries that write to a path themselves (safetensors, matplotlib).

    Args:
        path: destination; parent folders are created.
        write: fills the given temporary path (same folder, same file system).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:  # the temporary file is removed whatever stops the write, Ctrl-C included
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(Path(tmp))
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (no newline translation)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


_AS_IS = (str, int, bool, type(None))
"""Exact types returned unchanged (checked first: most values of a record are these)."""


def to_jsonable(obj: Any) -> Any:
    """Recursively make ``obj`` JSON-safe.

    NaN and infinities become None; numpy scalars and arrays become Python numbers and
    lists; paths become strings; dict keys become strings. Other objects are returned as
    they are (``json.dumps`` then decides).
    """
    kind = type(obj)
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind in _AS_IS:
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps_json(obj: Any, *, sort_keys: bool = False,
               default: Callable[[Any], Any] | None = None, one_line: Sequence[str] = ()) -> str:
    """Indented JSON text of :func:`to_jsonable` ``(obj)``; NaN/inf are written as null.

    ``one_line`` names top-level keys of a dict whose list items are written one per line
    (compact), for long lists of records: a study's 300 hotspots with their features, indented,
    were 380 kB and 12 ms of the standard library's pure-Python indenting encoder; one line each,
    the C encoder writes them in a quarter of the time and half the size. The parsed value is
    the same.
    """
    clean = to_jsonable(obj)
    opts = {"allow_nan": False, "sort_keys": sort_keys, "default": default}
    lines: dict[str, list[str]] = {}
    if isinstance(clean, dict):
        token = uuid.uuid4().hex  # a placeholder no user text can spell
        for key in one_line:
            items = clean.get(key)
            if isinstance(items, list) and items:
                lines[key] = [json.dumps(x, **opts) for x in items]
                clean = {**clean, key: [f"{token}:{key}:{i}" for i in range(len(items))]}
    text = json.dumps(clean, indent=2, **opts)
    if not lines:
        return text
    return re.sub(f'"{token}:([^:"]+):([0-9]+)"', lambda m: lines[m[1]][int(m[2])], text)


def atomic_write_json(path: str | Path, obj: Any, *, sort_keys: bool = False,
                      default: Callable[[Any], Any] | None = None) -> Path:
    """Write :func:`dumps_json` ``(obj)`` plus a final newline to ``path`` atomically."""
    return atomic_write_text(path, dumps_json(obj, sort_keys=sort_keys, default=default) + "\n")
