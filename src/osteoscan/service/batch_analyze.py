"""Batch analysis behind ``osteoscan analyze`` and ``osteoscan demo``: inputs -> outputs folder.

Inputs are files, folders or manifest CSVs (:func:`discover`). Studies run in a process
pool (``spawn``; each worker loads the model once and uses one torch thread, so two
workers keep two cores busy without oversubscription). A study that fails is recorded
and the batch goes on. Outputs (all written atomically)::

    OUT/studies/<key>.json     everything about one study (schema in docs/analyze.md)
    OUT/reports/<key>.html     the per-study report
    OUT/worklist.csv|.html     all studies sorted by probability (triage order)
    OUT/analysis.json          run summary: model, counts, failures
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from osteoscan.errors import InputError, OsteoscanError

log = logging.getLogger(__name__)

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


@dataclass
class BatchResult:
    """What a batch produced.

    Attributes:
        out_dir: the outputs folder.
        records: one summary dict per analysed study (the worklist rows).
        failures: {"input", "error"} per failed study.
        seconds: wall time.
        worklist: (csv, html) paths.
    """

    out_dir: Path
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    worklist: tuple[Path, Path] | None = None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "study"


def _is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv"


def _manifest_tasks(path: Path) -> list[StudyTask]:
    from osteoscan.io import read_manifest

    manifest = read_manifest(path)
    ids = [str(r.get("study_id", i)) for i, r in enumerate(_manifest_rows(manifest))]
    return [StudyTask(_safe(sid), f"{path.name}#{i + 1} ({sid})", str(path), index=i)
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
    for parent, _uid in groups:
        per_parent[parent] = per_parent.get(parent, 0) + 1
    for (parent, uid), files in groups.items():
        if len(files) == 1:
            tasks.append(StudyTask(_safe(files[0].stem), str(files[0]), str(files[0])))
        else:
            sid = uid if per_parent[parent] > 1 else None
            tasks.append(StudyTask(_safe(parent.name if sid is None else uid), str(parent), str(parent), sid))
    pics = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES
            and not p.name.startswith(".")]
    tasks += [StudyTask(_safe(p.stem), str(p), str(p)) for p in pics]
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
            tasks.append(StudyTask(_safe(path.stem), str(path), str(path)))
    seen: dict[str, int] = {}
    unique = []
    for t in tasks:
        n = seen.get(t.key, 0)
        seen[t.key] = n + 1
        unique.append(t if n == 0 else StudyTask(f"{t.key}-{n + 1}", t.label, t.path, t.study_id, t.index))
    return unique


# --- worker side -------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def init_worker(model: str | None, threads: int, options: dict | None = None) -> None:
    """Load the predictor once per process (``model`` None: the bundled reference)."""
    import torch

    from osteoscan.inference import Predictor

    if threads > 0:
        torch.set_num_threads(threads)
    _WORKER["predictor"] = Predictor.default() if model is None else Predictor.from_path(model)
    if _WORKER["predictor"].lesion_analyzer is None and (options or {}).get("lesions", True):
        from osteoscan.lesions.analyzer import bundled_or_none  # hotspots + BSI (docs/lesions.md)

        _WORKER["predictor"].lesion_analyzer = bundled_or_none()
    _WORKER["options"] = dict(options or {})


def load_task(task: StudyTask) -> Any:
    """Load the scan of one task."""
    from osteoscan.io import load_study, read_manifest

    if task.index is not None:
        cache = _WORKER.setdefault("manifests", {})
        if task.path not in cache:
            cache[task.path] = read_manifest(task.path)
        scan, _label = cache[task.path].load(task.index)
        return scan
    return load_study(task.path, study_id=task.study_id)


def run_task(task: StudyTask, out_dir: str) -> dict:
    """Analyze one study in a worker; returns the worklist record or {"error": ...}."""
    from osteoscan.io.redact import NoRedaction
    from osteoscan.reporting.html import write_report
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.reporting.results import dumps, study_record

    t0 = time.perf_counter()
    opts = _WORKER.get("options", {})
    red = opts.get("redactor") or NoRedaction()  # --no-phi: one redaction step before any writer
    try:
        scan = red.scan(load_task(task))
        t1 = time.perf_counter()
        result = red.prediction(_WORKER["predictor"].predict(scan))
        out = Path(out_dir)
        key = red.label(task.key)
        rel_report, rel_json = f"reports/{key}.html", f"studies/{key}.json"
        if opts.get("reports", True):
            write_report(scan, result, out / rel_report)
        t2 = time.perf_counter()
        rec = study_record(scan, result, masks=bool(opts.get("masks", False)), input=red.label(task.label),
                           report=rel_report if opts.get("reports", True) else "", json=rel_json)
        rec["timings_s"].update(load=round(t1 - t0, 4), total=round(t2 - t0, 4))
        atomic_write_text(out / rel_json, dumps(rec))
    except OsteoscanError as exc:
        return {"input": task.label, "error": str(exc)}
    except Exception as exc:  # keep the batch going; the message names the input
        log.debug("unexpected failure on %s", task.label, exc_info=True)
        return {"input": task.label, "error": f"{type(exc).__name__}: {exc}"}
    return {k: rec.get(k) for k in ("patient_id", "study_id", "probability", "decision", "positive",
                                    "threshold", "bsi", "report", "json", "input")} | {
        "n_hotspots": len(rec["hotspots"]) if result.lesions is not None else None,
        "seconds": rec["timings_s"]["total"]}


# --- parent side -------------------------------------------------------------------------

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, label)`` after each study."""


def _run_serial(tasks: list[StudyTask], out_dir: Path, init: tuple, progress: Progress | None):
    init_worker(*init)
    for i, task in enumerate(tasks, 1):
        res = run_task(task, str(out_dir))
        if progress:
            progress(i, len(tasks), task.label)
        yield res


def _run_pool(tasks: list[StudyTask], out_dir: Path, init: tuple, workers: int,
              progress: Progress | None):
    ctx = get_context("spawn")  # fork after torch/OpenMP start-up is not safe
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker, initargs=init) as pool:
        futures = {pool.submit(run_task, t, str(out_dir)): t for t in tasks}
        for i, fut in enumerate(as_completed(futures), 1):
            task = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # a worker died (e.g. out of memory) or init failed
                res = {"input": task.label, "error": f"{type(exc).__name__}: {exc}"}
            if progress:
                progress(i, len(tasks), task.label)
            yield res


def check_model(model: str | None) -> str:
    """Fail fast (ModelError) in the parent when the model cannot be found; returns a label."""
    from osteoscan.artefacts import read_card, require_reference

    if model is None:
        return f"{read_card(require_reference()).architecture} (bundled reference)"
    return f"{read_card(model).architecture} ({Path(model).name})"


def analyze_batch(
    tasks: list[StudyTask], out_dir: str | Path, *, model: str | None = None, workers: int = 2,
    threads: int | None = None, reports: bool = True, masks: bool = False,
    progress: Progress | None = None, redactor: Any = None,
) -> BatchResult:
    """Analyze studies into ``out_dir`` (see the module docstring for the layout).

    Args:
        tasks: from :func:`discover`.
        out_dir: outputs folder (created).
        model: run folder / checkpoint / card path; None for the bundled reference model.
        workers: processes (1: in this process).
        threads: torch threads per worker (default: 1 with several workers, else all cores).
        reports: write per-study HTML reports.
        masks: include hotspot masks (RLE) in the JSON.
        progress: callback after each study.
        redactor: an :class:`osteoscan.io.redact.Redactor` for the no-PHI mode (None: normal).

    Returns:
        :class:`BatchResult` (failures listed, never raised).
    """
    from osteoscan.reporting.html import write_worklist

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = check_model(model)
    workers = max(1, min(int(workers), len(tasks) or 1))
    n_threads = threads if threads is not None else (1 if workers > 1 else (os.cpu_count() or 1))
    init = (None if model is None else str(model), n_threads,
            {"reports": reports, "masks": masks, "redactor": redactor})
    t0 = time.perf_counter()
    run = _run_serial(tasks, out, init, progress) if workers == 1 else \
        _run_pool(tasks, out, init, workers, progress)
    result = BatchResult(out)
    for res in run:
        if "error" in res:
            result.failures.append(res if redactor is None else redactor.failure(res))
        else:
            result.records.append(res)
    result.seconds = time.perf_counter() - t0
    result.worklist = write_worklist(result.records, out, failures=result.failures, model=label)
    _write_summary(result, label, len(tasks), workers, n_threads)
    return result


def _write_summary(result: BatchResult, label: str, n: int, workers: int, threads: int) -> None:
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.reporting.results import dumps

    summary = {"schema": "osteoscan.analysis/1", "model": label, "n_studies": n,
               "n_ok": len(result.records), "n_failed": len(result.failures),
               "workers": workers, "threads_per_worker": threads,
               "seconds": round(result.seconds, 3), "failures": result.failures,
               "worklist": ["worklist.csv", "worklist.html"]}
    atomic_write_text(result.out_dir / "analysis.json", dumps(summary))
