"""Batch analysis behind ``osteoscan analyze`` and the demo: study tasks -> outputs folder.

Studies run in a process pool (``spawn``; each worker loads the model once and uses one
torch thread, so two workers keep two cores busy without oversubscription). A study that
fails is recorded and the batch goes on; a study analysed twice (same patient and study
ids, e.g. a duplicated file) is listed once in the worklist and the copies are listed as
failures. Outputs (every file written atomically: a reader never sees half a file)::

    OUT/studies/<key>.json     everything about one study (schema in docs/analyze.md)
    OUT/reports/<key>.html     the per-study report
    OUT/worklist.csv|.html     all studies sorted by probability (triage order)
    OUT/analysis.json          run summary: model, counts, failures, interrupted

Interruption (docs/analyze.md, "Interrupting a batch"): SIGINT (Ctrl-C) or SIGTERM stops
the workers (none is left running), writes the worklist and summary of the studies that
finished, and returns with ``interrupted`` set (the command exits 130). After ``kill -9``,
workers notice that their parent is gone and exit; a rerun into the same folder redoes
every study and gives the same worklist and study JSON as an uninterrupted run (only the
timings differ).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from osteoscan.errors import OsteoscanError
from osteoscan.workflows.discover import PICTURE_SUFFIXES, StudyTask, discover, safe_key

log = logging.getLogger(__name__)

__all__ = ["PICTURE_SUFFIXES", "BatchResult", "StudyTask", "analyze_batch", "check_model",
           "comparable_outputs", "discover", "safe_key"]


@dataclass
class BatchResult:
    """What a batch produced.

    Attributes:
        out_dir: the outputs folder.
        records: one summary dict per analysed study (the worklist rows).
        failures: {"input", "error"} per failed study, sorted by input.
        seconds: wall time.
        worklist: (csv, html) paths.
        interrupted: stopped by SIGINT/SIGTERM before every study was done.
        n_tasks: studies asked for.
    """

    out_dir: Path
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    worklist: tuple[Path, Path] | None = None
    interrupted: bool = False
    n_tasks: int = 0


# --- worker side -------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _exit_with_parent() -> None:
    """Worker thread: exit when the parent process is gone (e.g. ``kill -9``), instead of
    waiting forever for tasks that will never come."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


def init_worker(model: str | None, threads: int, options: dict | None = None) -> None:
    """Load the predictor once per process (``model`` None: the bundled reference)."""
    import torch

    from osteoscan.inference import Predictor

    if multiprocessing.parent_process() is not None:  # a pool worker, not the serial path
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
        threading.Thread(target=_exit_with_parent, daemon=True).start()
    if threads > 0:
        torch.set_num_threads(threads)
    # the lesion stage (hotspots + BSI, docs/lesions.md) is on unless options say lesions=False
    kw = {} if (options or {}).get("lesions", True) else {"lesion_analyzer": None}
    if kw == {} and (options or {}).get("lesion_models"):  # the user's own lesion stage
        from osteoscan.lesions.patient import load_lesion_stage

        stage = load_lesion_stage(options["lesion_models"], threads=None)
        # a hotspot detector decides the study, as the bundled one does in Predictor.default()
        kw = {"lesion_analyzer": stage, "lesion_decides": hasattr(stage, "decision_threshold")}
    _WORKER["predictor"] = Predictor.default(**kw) if model is None else Predictor.from_path(model, **kw)
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


def _rel_paths(task: StudyTask, redactor: Any) -> tuple[str, str]:
    """The study's report and JSON paths inside the output folder (pseudonymised keys in the
    no-PHI mode, so that file names carry no id either)."""
    key = task.key if redactor is None else redactor.label(task.key)
    return f"reports/{key}.html", f"studies/{key}.json"


def run_task(task: StudyTask, out_dir: str) -> dict:
    """Analyze one study in a worker; returns the worklist record or {"error": ...}."""
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.io.redact import NoRedaction
    from osteoscan.reporting.html import write_report
    from osteoscan.reporting.results import dumps, study_record

    t0 = time.perf_counter()
    opts = _WORKER.get("options", {})
    red = opts.get("redactor") or NoRedaction()  # --no-phi: one redaction step before any writer
    try:
        scan = red.scan(load_task(task))
        t1 = time.perf_counter()
        result = red.prediction(_WORKER["predictor"].predict(scan))
        out = Path(out_dir)
        rel_report, rel_json = _rel_paths(task, red)
        if opts.get("reports", True):
            write_report(scan, result, out / rel_report)
        t2 = time.perf_counter()
        rec = study_record(scan, result, masks=bool(opts.get("masks", False)),
                           input=red.label(task.label),
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
        "n_malignant": None if result.lesions is None else int(result.lesions.malignant_count),
        "seconds": rec["timings_s"]["total"],
        # files of the study's folder that were not used (already pseudonymised under --no-phi)
        "skipped": [list(pair) for pair in scan.source.skipped]}


# --- parent side -------------------------------------------------------------------------

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, label)`` after each study."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the batch runs, SIGINT and SIGTERM raise KeyboardInterrupt in the main thread
    (once; a second signal while the finished studies are being written is ignored, so
    that the worklist is complete). Outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        if fired:
            log.warning("signal %d ignored: already stopping, writing what finished", signum)
            return
        fired.append(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run_serial(tasks: list[StudyTask], out_dir: Path, init: tuple, progress: Progress | None):
    init_worker(*init)
    for i, task in enumerate(tasks, 1):
        res = run_task(task, str(out_dir))
        if progress:
            progress(i, len(tasks), task.label)
        yield res


def _stop_pool(pool: ProcessPoolExecutor, workers: list) -> None:
    """Cancel what has not started and end the pool's worker processes now."""
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()  # SIGTERM: a worker mid-study is not waited for
    for proc in workers:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def _run_pool(tasks: list[StudyTask], out_dir: Path, init: tuple, workers: int,
              progress: Progress | None):
    ctx = get_context("spawn")  # fork after torch/OpenMP start-up is not safe
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker, initargs=init)
    try:
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
    except BaseException:  # KeyboardInterrupt (SIGINT/SIGTERM) or the consumer stopped
        _stop_pool(pool, [p for p in multiprocessing.active_children() if p not in before])
        raise
    pool.shutdown()


def check_model(model: str | None) -> str:
    """Fail fast (ModelError) in the parent when the model cannot be found; returns a label."""
    from osteoscan.artefacts import read_card, require_reference

    if model is None:
        return f"{read_card(require_reference()).architecture} (bundled reference)"
    return f"{read_card(model).architecture} ({Path(model).name})"


def _clean_partial_files(out: Path) -> None:
    """Remove temporary files a killed run left behind (the atomic writer's ``.NAME.*.tmp``)."""
    for folder in (out, out / "studies", out / "reports"):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            tmp.unlink(missing_ok=True)


def _collect(result: BatchResult, results: Iterator[dict]) -> None:
    """Gather worker results; a signal stops the batch and keeps what finished."""
    try:
        for res in results:
            (result.failures if "error" in res else result.records).append(res)
    except KeyboardInterrupt:
        result.interrupted = True
        log.warning("interrupted: %d of %d studies finished", len(result.records) + len(result.failures),
                    result.n_tasks)
    finally:
        results.close()  # stops the pool when the signal arrived outside the generator


def _drop_uncollected(result: BatchResult, tasks: list[StudyTask], redactor: Any) -> None:
    """After an interruption, remove the outputs a worker wrote for a study whose result never
    reached the parent, so that the folder holds exactly the studies the worklist lists."""
    done = {r.get("json") for r in result.records}
    for task in tasks:
        rel_report, rel_json = _rel_paths(task, redactor)
        if rel_json not in done:
            (result.out_dir / rel_json).unlink(missing_ok=True)
            (result.out_dir / rel_report).unlink(missing_ok=True)


def _drop_duplicates(result: BatchResult) -> None:
    """Keep one worklist row per (patient, study); list the other copies as failures."""
    first: dict[tuple, dict] = {}
    kept = []
    for rec in sorted(result.records, key=lambda r: str(r.get("input", ""))):
        key = (rec.get("patient_id"), rec.get("study_id"))
        if key in first:
            result.failures.append({"input": rec["input"], "error": (
                f"duplicate of study {rec.get('study_id')} ({first[key]['input']}); not in the worklist")})
        else:
            first[key] = rec
            kept.append(rec)
    result.records = kept
    result.failures.sort(key=lambda f: str(f["input"]))


def analyze_batch(
    tasks: list[StudyTask], out_dir: str | Path, *, model: str | None = None, workers: int = 2,
    threads: int | None = None, reports: bool = True, masks: bool = False,
    lesions: bool = True, progress: Progress | None = None, redactor: Any = None,
    lesion_models: str | Path | None = None,
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
        lesions: run the bundled lesion stage (hotspots, BSI).
        progress: callback after each study.
        lesion_models: a folder of your own lesion stage used instead of the bundled one: a
            hotspot detector (a ``lesions cv --stage detector`` fold's ``models/``; it decides
            the study, as the bundled detector does) or lesion networks (``osteoscan lesions
            train`` / ``lesions cv --stage cnn``; the image model decides the study).
        redactor: an :class:`osteoscan.io.redact.Redactor` for the no-PHI mode (None: normal).

    Returns:
        :class:`BatchResult` (failures listed, never raised; ``interrupted`` after
        SIGINT/SIGTERM, with the worklist of the studies that finished).
    """
    from osteoscan.reporting.html import write_worklist

    label = check_model(model)
    if lesion_models is not None and lesions:  # fail fast (ModelError) before any worker starts
        from osteoscan.lesions.patient import load_lesion_stage

        load_lesion_stage(lesion_models, threads=None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _clean_partial_files(out)
    workers = max(1, min(int(workers), len(tasks) or 1))
    n_threads = threads if threads is not None else (1 if workers > 1 else (os.cpu_count() or 1))
    init = (None if model is None else str(model), n_threads,
            {"reports": reports, "masks": masks, "lesions": lesions, "redactor": redactor,
             "lesion_models": None if lesion_models is None else str(lesion_models)})
    t0 = time.perf_counter()
    result = BatchResult(out, n_tasks=len(tasks))
    with stop_on_signals():
        _collect(result, _run_serial(tasks, out, init, progress) if workers == 1 else
                 _run_pool(tasks, out, init, workers, progress))
        if result.interrupted:
            _drop_uncollected(result, tasks, redactor)
        if redactor is not None:
            result.failures = [redactor.failure(f) for f in result.failures]
        _drop_duplicates(result)
        result.seconds = time.perf_counter() - t0
        result.worklist = write_worklist(result.records, out, failures=result.failures, model=label)
        _write_summary(result, label, workers, n_threads)
    return result


def _write_summary(result: BatchResult, label: str, workers: int, threads: int) -> None:
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.reporting.results import dumps

    summary = {"schema": "osteoscan.analysis/1", "model": label, "n_studies": result.n_tasks,
               "n_ok": len(result.records), "n_failed": len(result.failures),
               "interrupted": result.interrupted,
               "n_not_done": result.n_tasks - len(result.records) - len(result.failures),
               "workers": workers, "threads_per_worker": threads,
               "seconds": round(result.seconds, 3), "failures": result.failures,
               "worklist": ["worklist.csv", "worklist.html"]}
    atomic_write_text(result.out_dir / "analysis.json", dumps(summary))


def comparable_outputs(out_dir: str | Path) -> dict:
    """What two runs of the same batch must agree on: ``worklist.csv``, every study JSON and
    ``analysis.json``, without the timings (used to check that a rerun after ``kill -9``
    gives the outputs of an uninterrupted run)."""
    import json

    out = Path(out_dir)
    studies = {}
    for p in sorted((out / "studies").glob("*.json")):
        rec = json.loads(p.read_text(encoding="utf-8"))
        rec.pop("timings_s", None)
        studies[p.name] = rec
    summary = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    summary.pop("seconds", None)
    return {"worklist": (out / "worklist.csv").read_text(encoding="utf-8"), "studies": studies,
            "summary": summary}
