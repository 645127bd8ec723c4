"""Row checks of a dataset manifest that need no image decoding.

Below :mod:`osteoscan.io.manifest` (which re-exports :class:`RowProblem` and
:data:`REQUIRED_COLUMNS`); it never imports it at run time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dataclasses import dataclass
from pathlib import Path

from osteoscan.errors import InputError

if TYPE_CHECKING:
    from osteoscan.io.manifest import Manifest

REQUIRED_COLUMNS = ("patient_id", "study_id", "image")


@dataclass(frozen=True)
class RowProblem:
    """One problem found in a manifest row.

    Attributes:
        row: 0-based data row index (the CSV line is ``row + 2``).
        column: the column at fault.
        problem: what is wrong.
        severity: "error" (the row cannot be used) or "warning".
    """

    row: int
    column: str
    problem: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"row {self.row + 2} ({self.column}): {self.problem}"


def lesion_count_value(path: Path | None, i: int, text: str) -> int | None:
    """The ``lesion_count`` of data row ``i``: None when empty, else a count.

    Raises:
        InputError: not a number, or not a non-negative integer (names the file and row).
    """
    if not text:
        return None
    try:
        value = int(float(text))
    except (ValueError, OverflowError):  # "abc", "nan"; "inf"
        raise InputError(path, f"row {i + 2} (lesion_count): {text!r} is not a number") from None
    if value < 0 or value != float(text):
        raise InputError(path, f"row {i + 2} (lesion_count): {text!r} is not a count")
    return value


def _row_problems(m: Manifest, i: int, classes: set[str] | None) -> list[RowProblem]:
    out = [RowProblem(i, c, "empty value") for c in REQUIRED_COLUMNS if not m.value(i, c)]
    checks = [("image", m.image_path), ("annotations", m.annotation_paths)]
    checks.append(
        ("lesion_count", lambda j: lesion_count_value(m.path, j, m.value(j, "lesion_count")))
    )
    for column, check in checks:
        if column != "image" and column not in m.frame.columns:
            continue
        try:
            check(i)
        except InputError as exc:
            out.append(RowProblem(i, column, exc.problem.split(": ", 1)[-1]))
    label = m.value(i, "label")
    if "label" in m.frame.columns and not label:
        out.append(RowProblem(i, "label", "missing label", "warning"))
    elif classes is not None and label and label not in classes:
        out.append(
            RowProblem(i, "label", f"unknown label {label!r}; expected one of {sorted(classes)}")
        )
    return out


def validate_rows(m: Manifest, *, classes: set[str] | None = None) -> list[RowProblem]:
    """Check every row of a manifest: values, paths, counts, duplicates, labels.

    Errors: empty required values, relative paths leaving the manifest folder,
    missing files, bad lesion counts, duplicate (patient_id, study_id), one study_id under
    two patients, one image listed twice, labels outside ``classes``.
    Warnings: missing labels.

    Args:
        m: the manifest.
        classes: allowed study labels (None: any).

    Returns:
        The problems, in row order.
    """
    problems: list[RowProblem] = []
    seen_ids: dict[tuple[str, str], int] = {}
    seen_study: dict[str, tuple[str, int]] = {}
    seen_image: dict[str, int] = {}
    for i in range(len(m)):
        problems += _row_problems(m, i, classes)
        pid, sid = m.value(i, "patient_id"), m.value(i, "study_id")
        image = os.path.normpath(m.value(i, "image")) if m.value(i, "image") else ""
        if (pid, sid) in seen_ids:
            problems.append(RowProblem(i, "study_id", f"duplicate of row {seen_ids[pid, sid] + 2}"))
        elif sid in seen_study and seen_study[sid][0] != pid:
            problems.append(
                RowProblem(
                    i,
                    "study_id",
                    f"study {sid!r} also listed under patient {seen_study[sid][0]!r} "
                    f"(row {seen_study[sid][1] + 2})",
                )
            )
        if image and image in seen_image:
            problems.append(RowProblem(i, "image", f"same image as row {seen_image[image] + 2}"))
        seen_ids.setdefault((pid, sid), i)
        seen_study.setdefault(sid, (pid, i))
        seen_image.setdefault(image, i)
    return problems
