"""One CSV cell neutraliser for every CSV osteoscan writes (formula injection, CWE-1236).

Ids come from users (DICOM PatientID, manifest ``study_id``, file names). A spreadsheet
opening ``worklist.csv`` runs a cell such as ``=HYPERLINK(...)`` or ``@SUM(1)`` as a
formula. Following the OWASP rule, every writer passes its cells through :func:`neutralise`:
a text cell starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'``
(spreadsheets show it as text). Plain numbers (``-0.5``, ``+3``) are left alone: a
spreadsheet reads them as numbers, not formulas. A cell that already starts with ``'``
before one of those characters gets one more ``'``, so that :func:`restore` (used by every
osteoscan reader of these files) gives back exactly the original text: reading back a
neutralised id gives the id. Written by hand: the rule is six lines and no maintained
library implements it with a reader-side inverse (docs/results-layout.md, "CSV cells").
"""

from __future__ import annotations

import re
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(cell: Any) -> Any:
    """``cell`` safe to open in a spreadsheet (non-strings are returned unchanged).

    Example:
        >>> [neutralise(c) for c in ("=1+2", "@SUM(1)", "-0.5", "P001", "'=x")]
        ["'=1+2", "'@SUM(1)", '-0.5', 'P001', "''=x"]
    """
    if not isinstance(cell, str) or not cell:
        return cell
    quoted = cell.startswith("'")
    if not cell.lstrip("'").startswith(TRIGGERS) or (not quoted and _NUMBER.fullmatch(cell)):
        return cell
    return "'" + cell


def restore(cell: Any) -> Any:
    """The original text of a cell written through :func:`neutralise`.

    Example:
        >>> [restore(neutralise(c)) for c in ("=1+2", "'=x", "'plain")]
        ['=1+2', "'=x", "'plain"]
    """
    if isinstance(cell, str) and cell.startswith("'") and cell.lstrip("'").startswith(TRIGGERS):
        return cell[1:]
    return cell


def _text_columns(frame: Any) -> list:
    import pandas as pd

    return [c for c in frame.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]


def neutralise_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame with every text cell (and column name) neutralised."""
    out = frame.copy()
    for col in _text_columns(out):
        out[col] = out[col].map(neutralise, na_action="ignore")
    return out.rename(columns=lambda c: neutralise(c) if isinstance(c, str) else c)


def restore_frame(frame: Any) -> Any:
    """Undo :func:`neutralise_frame` after ``pandas.read_csv`` (text columns and names)."""
    frame = frame.rename(columns=lambda c: restore(c) if isinstance(c, str) else c)
    for col in _text_columns(frame):
        frame[col] = frame[col].map(restore, na_action="ignore")
    return frame


def neutralise_row(row: dict) -> dict:
    """A ``csv.DictWriter`` row with every text value neutralised."""
    return {k: neutralise(v) for k, v in row.items()}
