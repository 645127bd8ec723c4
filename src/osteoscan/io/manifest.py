"""The dataset manifest: one CSV row per study (specification: docs/data-format.md).

Paths in the manifest are relative to the manifest's folder and must stay inside it, so a
dataset folder can be moved or shared as a whole and a manifest cannot reach other files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from osteoscan.artefacts import atomic_write_text
from osteoscan.csvsafe import neutralise_frame, restore_frame
from osteoscan.errors import InputError
from osteoscan.io.annotations import VIEWS, label_names, read_labelme
from osteoscan.io.guard import describe, reading
from osteoscan.io.manifest_checks import (
    REQUIRED_COLUMNS,
    RowProblem,
    lesion_count_value,
    validate_rows,
)
from osteoscan.io.study import load_study
from osteoscan.types import BoneScan, PictureMap, StudyLabel

log = logging.getLogger(__name__)

OPTIONAL_COLUMNS = ("label", "site", "primary", "lesion_count", "annotations", "split")
ANNOTATION_SEPARATOR = ";"


class Manifest:
    """A dataset manifest: a table of studies and the folder its paths are relative to.

    Args:
        frame: the table (all values strings; extra columns are kept).
        root: the folder holding the manifest.
        path: the manifest file, when read from disk.
    """

    def __init__(self, frame: pd.DataFrame, root: str | Path, path: str | Path | None = None):
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(path, f"manifest lacks required column(s) {missing}")
        self.frame = frame.reset_index(drop=True)
        self.root = Path(root).resolve()
        self.path = None if path is None else Path(path)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Manifest({len(self)} studies, root={str(self.root)!r})"

    def rows(self) -> Iterator[dict[str, str]]:
        """Each row as a dict of column -> string (empty string when blank)."""
        for record in self.frame.to_dict(orient="records"):
            yield {k: "" if pd.isna(v) else str(v) for k, v in record.items()}

    def value(self, i: int, column: str) -> str:
        """Row ``i``'s value in ``column`` ("" when blank or absent)."""
        if column not in self.frame.columns:
            return ""
        v = self.frame.at[i, column]
        return "" if pd.isna(v) else str(v).strip()

    def resolve(self, i: int, rel: str, column: str = "image") -> Path:
        """Resolve a manifest path: absolute paths are used as written; relative paths are
        relative to the manifest folder and may not leave it (docs/data-format.md, "Paths").

        Args:
            i: row index (for the message).
            rel: the path as written.
            column: column name (for the message).

        Returns:
            The absolute path.

        Raises:
            InputError: empty, relative but outside the manifest folder, or missing.
        """
        where = f"row {i + 2} ({column})"
        if not rel:
            raise InputError(self.path, f"{where}: empty path")
        absolute = Path(rel).is_absolute()  # what users have: accepted (issue 13, item 6)
        try:
            full = Path(rel) if absolute else (self.root / rel).resolve()
            if not absolute and not full.is_relative_to(self.root):
                raise InputError(self.path, f"{where}: {rel!r} points outside the manifest folder")
            if not full.exists():
                raise InputError(self.path, f"{where}: {rel!r} does not exist")
        except (OSError, ValueError) as exc:  # name too long, NUL byte, permission
            shown = rel if len(rel) <= 80 else f"{rel[:60]}...({len(rel)} characters)"
            problem = f"{where}: {shown!r} cannot be used ({describe(exc)})"
            raise InputError(self.path, problem) from None
        return full

    def image_path(self, i: int) -> Path:
        """Absolute path of row ``i``'s image (file or study folder)."""
        return self.resolve(i, self.value(i, "image"))

    def annotation_paths(self, i: int) -> list[tuple[str | None, Path]]:
        """Row ``i``'s annotation files as (view or None, path); entries ``[view:]path``."""
        out = []
        for entry in filter(
            None, (e.strip() for e in self.value(i, "annotations").split(ANNOTATION_SEPARATOR))
        ):
            view, _, rel = (
                entry.partition(":") if entry.split(":", 1)[0] in VIEWS else ("", "", entry)
            )
            out.append((view or None, self.resolve(i, rel.strip(), "annotations")))
        return out

    def study_label(self, i: int, image_shape: tuple[int, int] | None = None, *,
                    picture: PictureMap | None = None,
                    label_map: Mapping[str, str] | None = None) -> StudyLabel:
        """Row ``i``'s labels, reading its annotation files.

        Args:
            i: row index.
            image_shape: the study's (rows, cols), to check the annotations against.
            picture: the scan's ``source.picture``: shapes drawn on the whole capture are
                mapped into view coordinates.
            label_map: label name -> malignant/benign/ignore (default: the built-in names).

        Returns:
            The labels.
        """
        count = self.value(i, "lesion_count")
        anns = []
        for view, path in self.annotation_paths(i):
            anns += read_labelme(path, image_shape=image_shape, view=view, picture=picture,
                                 label_map=label_map)
        return StudyLabel(
            label=self.value(i, "label") or None,
            primary=self.value(i, "primary") or None,
            lesion_count=lesion_count_value(self.path, i, count),
            annotations=tuple(anns),
            site=self.value(i, "site") or None,
        )

    def load_scan(self, i: int) -> BoneScan:
        """Load row ``i``'s scan only (ids from the manifest; annotation files not read).

        Args:
            i: 0-based row index.

        Returns:
            The scan.

        Raises:
            InputError: bad path or unreadable image.
        """
        if not 0 <= i < len(self):
            raise IndexError(f"manifest has {len(self)} rows, asked for row {i}")
        return load_study(
            self.image_path(i),
            patient_id=self.value(i, "patient_id"),
            study_id=self.value(i, "study_id"),
        )

    def load(self, i: int, *, label_map: Mapping[str, str] | None = None
             ) -> tuple[BoneScan, StudyLabel]:
        """Load row ``i``: the scan (ids from the manifest) and its labels.

        Args:
            i: 0-based row index.
            label_map: label name -> malignant/benign/ignore (default: the built-in names).

        Returns:
            (scan, labels).

        Raises:
            InputError: bad paths, unreadable images or annotations.
        """
        scan = self.load_scan(i)
        label = self.study_label(i, image_shape=scan.shape, picture=scan.source.picture,
                                 label_map=label_map)
        return scan, label

    def unknown_labels(self, label_map: Mapping[str, str]) -> dict[str, str]:
        """Label names in the annotation files that ``label_map`` lacks -> a file using each.

        Reads only the JSON files (no image), so a whole cohort is checked before loading.
        """
        known = {k.strip().lower() for k in label_map}
        unknown: dict[str, str] = {}
        for i in range(len(self)):
            for _, path in self.annotation_paths(i):
                for name in label_names(path):
                    if name.strip().lower() not in known:
                        unknown.setdefault(name, path.name)
        return unknown

    def validate(self, *, classes: set[str] | None = None) -> list[RowProblem]:
        """Check every row without loading images (see :func:`validate_rows`)."""
        with reading(self.path, "CSV manifest"):
            return validate_rows(self, classes=classes)


def read_manifest(path: str | Path, *, validate: bool = True) -> Manifest:
    """Read a manifest CSV.

    Args:
        path: the CSV file.
        validate: raise on the first row with an error (paths, ids, counts); without it,
            call :meth:`Manifest.validate` to list every problem.

    Returns:
        The manifest.

    Raises:
        InputError: unreadable CSV, missing columns, or (with ``validate``) a bad row.

    Example:
        >>> m = read_manifest("data/manifest.csv")  # doctest: +SKIP
        >>> scan, label = m.load(0)  # doctest: +SKIP
    """
    path = Path(path)
    with reading(path, "CSV manifest"):
        if not path.is_file():
            raise InputError(path, "no such manifest file")
        frame = _read_csv(path)
        frame.columns = [str(c).strip() for c in frame.columns]
        manifest = Manifest(restore_frame(frame), path.parent, path)
        if validate:
            _raise_first_error(path, manifest)
    return manifest


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputError(path, f"not a readable CSV manifest ({describe(exc)})") from exc


def _raise_first_error(path: Path, manifest: Manifest) -> None:
    errors = [p for p in manifest.validate() if p.severity == "error"]
    if errors:
        more = (
            f" (and {len(errors) - 1} more problem(s); run `osteoscan dataset check`)"
            if len(errors) > 1
            else ""
        )
        raise InputError(path, f"{errors[0]}{more}")


def write_manifest(table: pd.DataFrame | Manifest, path: str | Path) -> Path:
    """Write a manifest CSV atomically (temporary file in the same folder, then rename).

    Args:
        table: a DataFrame with at least the required columns, or a Manifest.
        path: the output file.

    Returns:
        The path written.

    Raises:
        InputError: required columns missing.
    """
    frame = table.frame if isinstance(table, Manifest) else table
    path = Path(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, f"manifest lacks required column(s) {missing}")
    order = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in frame.columns]
    frame = frame[order + [c for c in frame.columns if c not in order]]
    return atomic_write_text(path, neutralise_frame(frame).to_csv(index=False, lineterminator="\n"))
