"""Row checks of a dataset manifest that need no image decoding."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from osteoscan.errors import InputError

if TYPE_CHECKING:
    from osteoscan.io.manifest import Manifest, RowProblem


def _row_problems(m: Manifest, i: int, classes: set[str] | None) -> list[RowProblem]:
    from osteoscan.io.manifest import REQUIRED_COLUMNS, RowProblem, _int_or_none

    out = [RowProblem(i, c, "empty value") for c in REQUIRED_COLUMNS if not m.value(i, c)]
    checks = [("image", m.image_path), ("annotations", m.annotation_paths)]
    checks.append(("lesion_count", lambda j: _int_or_none(m.path, j, m.value(j, "lesion_count"))))
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

    Errors: empty required values, absolute paths or paths outside the manifest folder,
    missing files, bad lesion counts, duplicate (patient_id, study_id), one study_id under
    two patients, one image listed twice, labels outside ``classes``.
    Warnings: missing labels.

    Args:
        m: the manifest.
        classes: allowed study labels (None: any).

    Returns:
        The problems, in row order.
    """
    from osteoscan.io.manifest import RowProblem

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
