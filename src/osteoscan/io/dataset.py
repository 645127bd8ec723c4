"""Build a manifest from a folder of DICOM files, and check a manifest study by study.

The ``osteoscan dataset`` commands are thin layers over :func:`build_manifest` and
:func:`check_manifest`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.errors import ConfigError, InputError, OsteoscanError
from osteoscan.io.dicom import classify, read_dataset
from osteoscan.io.folder import list_folder
from osteoscan.io.guard import reading
from osteoscan.io.manifest import Manifest, RowProblem
from osteoscan.io.study import load_study

log = logging.getLogger(__name__)


def _relative(path: Path, root: Path) -> str:
    path, root = path.resolve(), root.resolve()
    if not path.is_relative_to(root):
        raise ConfigError(
            f"{path} is outside {root}: put the manifest in the data folder or one of its parents "
            "(manifest paths are relative and must stay inside the manifest's folder)"
        )
    return path.relative_to(root).as_posix() or "."


def _headers(
    folder: Path,
) -> tuple[dict[tuple[str, str], list[tuple[Path, dict[str, str]]]], list[tuple[Path, str]]]:
    studies: dict[tuple[str, str], list] = defaultdict(list)
    listing = list_folder(folder)
    skipped: list[tuple[Path, str]] = [(p, "empty file") for p in listing.empty]
    for p in listing.dicom:
        try:
            ds = read_dataset(p, header_only=True)
            classify(ds, p)
            with reading(p, "DICOM header"):
                key = (
                    str(ds.get("PatientID", "") or p.parent.name),
                    str(ds.get("StudyInstanceUID", "") or p.stem),
                )
                facts = {
                    "modality": str(ds.get("Modality", "")),
                    "study_date": str(ds.get("StudyDate", "") or ""),
                }
        except InputError as exc:
            skipped.append((p, exc.problem))
            continue
        studies[key].append((p, facts))
    skipped += [(p, "picture, not DICOM: add it to the manifest by hand") for p in listing.pictures]
    return studies, skipped


def build_manifest(
    folder: str | Path, manifest_path: str | Path
) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """Make one manifest row per DICOM study found under ``folder``.

    Files are grouped by PatientID and StudyInstanceUID. A study in one file is listed by
    that file; a study in several files by the folder holding them (``load_study`` then
    picks the study by its StudyInstanceUID when the folder holds others).

    Args:
        folder: the data folder (searched recursively).
        manifest_path: where the manifest will be written (paths are relative to its folder,
            which must contain ``folder``).

    Returns:
        (the table, files skipped with the reason).

    Raises:
        ConfigError: the manifest's folder does not contain the data folder.
        InputError: the folder does not exist.
    """
    folder, root = Path(folder), Path(manifest_path).resolve().parent
    if not folder.is_dir():
        raise InputError(folder, "no such folder")
    _relative(folder, root)
    studies, skipped = _headers(folder)
    rows = []
    for (pid, sid), items in sorted(studies.items()):
        paths = [p for p, _ in items]
        where = paths[0] if len(paths) == 1 else Path(os.path.commonpath([p.parent for p in paths]))
        facts0 = items[0][1]
        rows.append(
            {
                "patient_id": pid,
                "study_id": sid,
                "image": _relative(where, root),
                "label": "",
                "site": "",
                "n_files": len(paths),
                **facts0,
            }
        )
    columns = [
        "patient_id",
        "study_id",
        "image",
        "label",
        "site",
        "n_files",
        "modality",
        "study_date",
    ]
    return pd.DataFrame(rows, columns=columns), skipped


@dataclass
class CheckReport:
    """What :func:`check_manifest` found.

    Attributes:
        n_rows: rows in the manifest.
        n_loaded: rows whose study loaded.
        problems: errors and warnings, by row.
        class_counts: studies per (site, label) among loaded rows.
        multi_study_patients: patient_id -> number of studies, for patients with several.
        layouts: for pictures (screen captures): (row, file name, layout found, what was
            discarded), one per loaded picture.
    """

    n_rows: int
    n_loaded: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    class_counts: pd.DataFrame = field(default_factory=pd.DataFrame)
    multi_study_patients: dict[str, int] = field(default_factory=dict)
    layouts: list[tuple[int, str, str, str]] = field(default_factory=list)

    @property
    def n_errors(self) -> int:
        """Number of problems of severity "error"."""
        return sum(p.severity == "error" for p in self.problems)


def _pixel_hash(scan) -> str:
    h = hashlib.sha1(np.ascontiguousarray(scan.anterior).tobytes())
    if scan.posterior is not None:
        h.update(np.ascontiguousarray(scan.posterior).tobytes())
    return h.hexdigest()


def _layout_row(i: int, scan) -> tuple[int, str, str, str]:
    pm = scan.source.picture
    views = ", ".join(f"{v.view} by {v.rule} ({v.confidence:.2f})" for v in scan.views)
    gone = "; ".join(f"{kind} ({why})" for kind, why in pm.discarded) or "nothing"
    return (i, Path(scan.source.files[0]).name, f"{pm.layout}; {views}", gone)


def _check_row(m: Manifest, i: int, seen: dict[str, int], report: CheckReport,
               label_map: Mapping[str, str] | None = None) -> bool:
    try:
        scan = load_study(
            m.image_path(i), patient_id=m.value(i, "patient_id"), study_id=m.value(i, "study_id")
        )
    except OsteoscanError as exc:
        report.problems.append(RowProblem(i, "image", str(exc)))
        return False
    if scan.source.picture is not None:
        report.layouts.append(_layout_row(i, scan))
    try:
        m.study_label(i, image_shape=scan.shape, picture=scan.source.picture, label_map=label_map)
    except OsteoscanError as exc:
        report.problems.append(RowProblem(i, "annotations", str(exc)))
    keys = [f"pixels:{_pixel_hash(scan)}"]
    keys += [f"uid:{u}" for u in str(scan.meta.get("sop_instance_uids", "")).split(";") if u]
    for key in keys:
        if key in seen and seen[key] != i:
            what = "identical pixels" if key.startswith("pixels") else f"SOPInstanceUID {key[4:]}"
            report.problems.append(
                RowProblem(i, "image", f"duplicate: {what} as row {seen[key] + 2}")
            )
            break
    for key in keys:
        seen.setdefault(key, i)
    return True


def check_manifest(
    m: Manifest,
    *,
    classes: set[str] | None = None,
    on_row: Callable[[int], None] | None = None,
    label_map: Mapping[str, str] | None = None,
) -> CheckReport:
    """Check every study of a manifest, continuing past bad rows.

    Finds: bad values and paths (see :meth:`Manifest.validate`), unreadable studies and
    annotations, duplicate images (same SOPInstanceUID or identical pixels), missing or
    unknown labels; counts classes per site and patients with several studies.

    Args:
        m: the manifest.
        classes: allowed study labels (None: any).
        on_row: called after each row (progress).
        label_map: label name -> malignant/benign/ignore for the annotation files.

    Returns:
        The report.
    """
    report = CheckReport(n_rows=len(m))
    report.problems = m.validate(classes=classes)
    broken = {
        p.row
        for p in report.problems
        if p.severity == "error" and p.column in ("image", "annotations")
    }
    seen: dict[str, int] = {}
    loaded = []
    for i in range(len(m)):
        if i not in broken and _check_row(m, i, seen, report, label_map):
            loaded.append(i)
        if on_row:
            on_row(i)
    report.n_loaded = len(loaded)
    report.problems.sort(key=lambda p: (p.row, p.severity != "error"))
    frame = m.frame.iloc[loaded]
    site = (
        frame["site"].replace("", "(none)")
        if "site" in frame
        else pd.Series("(none)", index=frame.index)
    )
    label = (
        frame["label"].replace("", "(missing)")
        if "label" in frame
        else pd.Series("(missing)", index=frame.index)
    )
    report.class_counts = (
        pd.crosstab(site.rename("site"), label.rename("label")) if len(frame) else pd.DataFrame()
    )
    counts = m.frame.groupby("patient_id")["study_id"].nunique()
    report.multi_study_patients = {str(k): int(v) for k, v in counts[counts > 1].items()}
    return report
