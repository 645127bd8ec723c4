"""A table of studies (ids, patients, sites, labels) plus a way to load each one.

Training needs the labels and patient ids of every study up front (to split by patient and
weight classes) but the pixels only when a batch asks for them. :class:`StudyTable` keeps
the two apart: a pandas frame with one row per study and a ``load(i) -> BoneScan`` callable.
It is built from a manifest CSV (through ``osteoscan.io.read_manifest``) or from studies
already in memory (simulated cohorts, ``(BoneScan, StudyLabel)`` pairs). No torch here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from osteoscan.csvsafe import restore_frame
from osteoscan.errors import ConfigError, InputError
from osteoscan.types import BoneScan

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class StudyTable:
    """Studies as rows, pixels on demand.

    Attributes:
        frame: one row per study with at least ``study_id``, ``patient_id``, ``site``
            (may be empty strings) and the label column(s); ``split`` when the manifest has one.
        load: ``load(i)`` returns the :class:`~osteoscan.types.BoneScan` of row ``i``.
        source: the manifest path, or "memory".
        digest: SHA-256 of the manifest file (or of the in-memory ids), for the model card.
    """

    frame: pd.DataFrame
    load: Callable[[int], BoneScan]
    source: str
    digest: str

    def __len__(self) -> int:
        return len(self.frame)

    def labels(self, column: str) -> np.ndarray:
        """Class names of every row from ``column`` (missing labels as "")."""
        if column not in self.frame.columns:
            raise ConfigError(
                f"data.label_column: {column!r} is not a column of {Path(self.source).name} "
                f"(columns: {list(self.frame.columns)})"
            )
        return self.frame[column].fillna("").astype(str).to_numpy()

    def column(self, name: str) -> np.ndarray | None:
        """A column as strings, or None when absent or empty."""
        if name not in self.frame.columns or self.frame[name].isna().all():
            return None
        return self.frame[name].fillna("").astype(str).to_numpy()

    def summary(self, column: str, parts: dict[str, np.ndarray] | None = None) -> dict:
        """Counts per class and site (overall and per part) for the model card."""
        labels, sites = self.labels(column), self.frame["site"].astype(str).to_numpy()
        out: dict[str, Any] = {"source": self.source, "sha256": self.digest, "n_studies": len(self),
                               "n_patients": int(self.frame["patient_id"].nunique())}
        for name, ix in (parts or {"all": np.arange(len(self))}).items():
            out[name] = {"n": int(len(ix)),
                         "classes": pd.Series(labels[ix]).value_counts().sort_index().to_dict(),
                         "sites": pd.Series(sites[ix]).value_counts().sort_index().to_dict()}
        return out


class CompactScan:
    """A decoded study stored compactly: float16 views plus the scan's metadata.

    Counts below 2048 are exact in float16; above, the relative error is < 0.05 %, far
    below Poisson noise. :meth:`scan` rebuilds the float32 :class:`BoneScan`.
    """

    __slots__ = ("template", "anterior", "posterior")

    def __init__(self, scan: BoneScan):
        tiny = np.zeros((1, 1), np.float32)
        self.template = dataclasses.replace(
            scan, anterior=tiny, posterior=None if scan.posterior is None else tiny
        )
        self.anterior = scan.anterior.astype(np.float16)
        self.posterior = None if scan.posterior is None else scan.posterior.astype(np.float16)

    def scan(self) -> BoneScan:
        """The study as float32 counts."""
        post = None if self.posterior is None else self.posterior.astype(np.float32)
        return dataclasses.replace(self.template, anterior=self.anterior.astype(np.float32),
                                   posterior=post)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_from_manifest(path: str | Path) -> StudyTable:
    """Read a manifest CSV (docs/data-format.md) into a :class:`StudyTable`.

    Raises:
        InputError: the file is missing, unreadable, or lacks study_id/patient_id.
    """
    from osteoscan.io import read_manifest  # io owns the manifest format and study loading

    path = Path(path)
    manifest = read_manifest(path)
    try:
        frame = restore_frame(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})") from exc
    missing = [c for c in ("study_id", "patient_id") if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    if "site" not in frame.columns:
        frame["site"] = ""
    frame["site"] = frame["site"].fillna("")

    def load(i: int) -> BoneScan:
        return manifest.load_scan(i)  # pixels only: annotation files are not needed here

    return StudyTable(frame.reset_index(drop=True), load, str(path), _sha256(path))


def _row_of(item: Any) -> tuple[BoneScan, dict]:
    """(scan, row) for a SimulatedStudy-like object or a (BoneScan, StudyLabel) pair."""
    if isinstance(item, tuple):
        scan, label = item
        row = {"label": label.label, "site": label.site or "", "primary": label.primary,
               "lesion_count": label.lesion_count}
    else:
        scan, label = item.scan, item.label
        row = {"label": label.label, "site": getattr(item, "site", None) or label.site or "",
               "multiclass_label": getattr(item, "multiclass_label", None),
               "primary": label.primary, "lesion_count": label.lesion_count}
    row.update(study_id=str(scan.study_id), patient_id=str(scan.patient_id))
    return scan, row


def table_from_studies(studies: Iterable[Any], *, compact: bool = False) -> StudyTable:
    """Wrap in-memory studies (SimulatedStudy objects or (BoneScan, StudyLabel) pairs).

    Args:
        studies: the studies (an iterator is consumed once).
        compact: keep only float16 views of each study (half the memory of float32, and
            the simulator's masks and ground truth are dropped); else keep references.
    """
    scans, rows = [], []
    for item in studies:
        scan, row = _row_of(item)
        scans.append(CompactScan(scan) if compact else scan)
        rows.append(row)
    if not rows:
        raise ConfigError("data: no studies")
    frame = pd.DataFrame(rows)
    digest = hashlib.sha256("\n".join(frame["study_id"]).encode()).hexdigest()
    load = (lambda i: scans[i].scan()) if compact else scans.__getitem__
    return StudyTable(frame, load, "memory", digest)
