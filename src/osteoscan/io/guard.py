"""The readers' boundary: nothing but :class:`~osteoscan.errors.OsteoscanError` leaves a reader.

Third-party parsers (pydicom, Pillow, tifffile, pandas, json, yaml) raise whatever type their
code happens to hit on a malformed file: ``NotImplementedError`` for an unknown VR,
``BytesLengthException`` for a value of the wrong length, ``struct.error``, ``OSError`` for a
path too long, ``RecursionError`` for deep nesting. Listing them all is impossible (the fuzz
benchmark, ``benchmarks/bench_fuzz.py``, found new ones each time), so every public reader runs
its parsing inside :func:`reading`, which turns any of them into an error naming the file
(Ctrl-C and ``SystemExit`` pass through). The
original exception stays chained (``__cause__``) and is logged at debug level with its
traceback, so a real bug in osteoscan is not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from osteoscan.errors import InputError, OsteoscanError

log = logging.getLogger(__name__)

_MAX_DETAIL = 160
NOT_OURS = (KeyboardInterrupt, SystemExit, GeneratorExit)
"""BaseExceptions that are never about the file: they pass through :func:`reading`. Other
BaseExceptions are converted: pylibjpeg-rle (Rust, pyo3) raises ``PanicException``, a
BaseException, on a corrupt RLE segment."""


@dataclass(frozen=True)
class Skipped:
    """A file a reader did not use, and why.

    Attributes:
        file: the file (as found in the folder).
        reason: what is wrong with it, in words.
    """

    file: str
    reason: str

    def __str__(self) -> str:
        return f"{Path(self.file).name}: {self.reason}"


def describe(exc: BaseException) -> str:
    """A short, one-line account of a third-party exception (no file name repeated)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _input_error(path: Path | None, problem: str) -> OsteoscanError:
    return InputError(path, problem)


@contextmanager
def reading(
    path: str | Path | None,
    what: str = "file",
    error: Callable[[Path | None, str], OsteoscanError] = _input_error,
) -> Iterator[None]:
    """Run a reader's parsing; any exception that is not an OsteoscanError becomes one.

    Args:
        path: the file being read (named in the message).
        what: what the file should be ("DICOM file", "LabelMe JSON", ...), for the message.
        error: builds the error from (path, problem); default :class:`InputError`.

    Raises:
        OsteoscanError: unchanged when the reader raised one; else ``error(path, ...)``.

    Example:
        >>> with reading("x.dcm", "DICOM file"):  # doctest: +SKIP
        ...     ds = pydicom.dcmread("x.dcm")
    """
    where = None if path is None else Path(path)
    try:
        yield
    except (OsteoscanError, *NOT_OURS):
        raise
    except MemoryError:
        raise error(where, f"{what} too large to read into memory") from None
    except BaseException as exc:  # noqa: BLE001 - the boundary: see the module docstring
        log.debug("%s: %s raised while reading", where, type(exc).__name__, exc_info=True)
        raise error(where, f"malformed {what} ({describe(exc)})") from exc
