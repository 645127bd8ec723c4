"""Turn command-line inputs (files, folders, manifest CSVs) into study tasks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osteoscan.errors import InputError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass(frozen=True)
class StudyTask:
    """One study to analyze: where to load it from and the key naming its outputs.

    Attributes:
        key: file-name-safe unique name for the outputs.
        label: what the user gave (shown in the failure list).
        path: a file or folder for ``load_study``; or a manifest CSV with ``index``.
        study_id: selects one study in a folder holding several.
        index: row index when ``path`` is a manifest.
    """

    key: str
    label: str
    path: str
    study_id: str | None = None
    index: int | None = None


def safe_key(name: str) -> str:
    """A file-name-safe output key made from an id or a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "study"


def _is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv"


def _manifest_tasks(path: Path) -> list[StudyTask]:
    from osteoscan.io import read_manifest

    manifest = read_manifest(path)
    ids = [str(r.get("study_id", i)) for i, r in enumerate(_manifest_rows(manifest))]
    return [StudyTask(safe_key(sid), f"{path.name}#{i + 1} ({sid})", str(path), index=i)
            for i, sid in enumerate(ids)]


def _manifest_rows(manifest: Any) -> list[dict]:
    return list(manifest.rows())


def _folder_tasks(folder: Path) -> list[StudyTask]:
    """A folder is one study when its DICOM files hold one StudyInstanceUID; otherwise
    every picture file, single-file study and multi-file study group is a study."""
    import pydicom

    from osteoscan.io.study import study_files

    if (folder / "manifest.csv").is_file():
        return _manifest_tasks(folder / "manifest.csv")
    groups: dict[tuple[Path, str], list[Path]] = {}
    for p in study_files(folder):
        try:
            uid = str(pydicom.dcmread(p, stop_before_pixels=True,
                                      specific_tags=["StudyInstanceUID"]).get("StudyInstanceUID", ""))
        except Exception:  # unreadable: let load_study report it as a failed study
            uid = f"?{p.name}"
        groups.setdefault((p.parent, uid), []).append(p)
    tasks = []
    per_parent: dict[Path, int] = {}
    readable = {parent for parent, uid in groups if not uid.startswith("?")}
    # an unreadable file beside a readable study is listed by that study's loader
    # (scan.source.skipped) instead of failing as a study of its own
    groups = {k: v for k, v in groups.items() if not (k[1].startswith("?") and k[0] in readable)}
    for parent, _uid in groups:
        per_parent[parent] = per_parent.get(parent, 0) + 1
    for (parent, uid), files in groups.items():
        if len(files) == 1:
            tasks.append(StudyTask(safe_key(files[0].stem), str(files[0]), str(files[0])))
        else:
            sid = uid if per_parent[parent] > 1 else None
            tasks.append(StudyTask(safe_key(parent.name if sid is None else uid), str(parent), str(parent), sid))
    pics = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES
            and not p.name.startswith(".")]
    tasks += [StudyTask(safe_key(p.stem), str(p), str(p)) for p in pics]
    return tasks


def discover(inputs: list[str | Path]) -> list[StudyTask]:
    """Turn command-line inputs into study tasks with unique output keys.

    Args:
        inputs: files (DICOM or pictures: one study each), folders (searched recursively;
            a folder holding ``manifest.csv`` is that manifest) or manifest CSVs.

    Returns:
        The tasks, in input order.

    Raises:
        InputError: an input does not exist, or a folder holds nothing readable.
    """
    tasks: list[StudyTask] = []
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if _is_manifest(path):
            tasks += _manifest_tasks(path)
        elif path.is_dir():
            found = _folder_tasks(path)
            if not found:
                raise InputError(path, "no DICOM files or pictures in this folder")
            tasks += found
        else:
            tasks.append(StudyTask(safe_key(path.stem), str(path), str(path)))
    seen: dict[str, int] = {}
    unique = []
    for t in tasks:
        n = seen.get(t.key, 0)
        seen[t.key] = n + 1
        unique.append(t if n == 0 else StudyTask(f"{t.key}-{n + 1}", t.label, t.path, t.study_id, t.index))
    return unique
