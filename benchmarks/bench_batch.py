"""A batch of 1,000 studies with 10 % faulty files through ``osteoscan analyze`` (issue 13).

Writes the batch with :func:`osteoscan.simulate.faults.write_faulty_batch` (truncated,
corrupted, duplicated and mislabelled files among copies of simulated studies), then:

1. runs ``osteoscan analyze`` on it uninterrupted (the baseline);
2. runs it again into another folder, ``kill -9``s the command when a fraction of the
   studies is done, checks that no worker outlives it, and reruns into the same folder;
3. checks that every good study is in the worklist, every faulty file is listed as a
   failure, both runs exit 1, and the rerun's worklist, study JSON and summary equal the
   baseline's (timings aside); the rerun's wall time is reported as a ratio of the baseline's.

Writes ``benchmarks/results/batch.json``. Run:
``PYTHONPATH=src .venv/bin/python -m benchmarks.bench_batch [--n 1000] [--workers 2]``
(about 1 GB of scratch files under ``--work``, removed at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results"
SCRIPT = Path(sys.executable).with_name("osteoscan")


def _analyze_args(batch: Path, out: Path, workers: int, lesions: bool) -> list[str]:
    return [str(SCRIPT), "analyze", str(batch / "studies"), "--out", str(out), "--workers", str(workers),
            "--no-reports", "--lesions" if lesions else "--no-lesions"]


def _run(args: list[str]) -> tuple[int, float]:
    t0 = time.perf_counter()
    rc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return rc, time.perf_counter() - t0


def _killed_run(args: list[str], out: Path, n_before_kill: int) -> dict:
    """Start the batch, kill -9 it after ``n_before_kill`` study JSONs; report what was left."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(list((out / "studies").glob("*.json"))) < n_before_kill and proc.poll() is None:
        time.sleep(0.1)
    workers = psutil.Process(proc.pid).children(recursive=True)
    done = len(list((out / "studies").glob("*.json")))
    proc.kill()
    proc.wait()
    t0 = time.perf_counter()
    _, alive = psutil.wait_procs(workers, timeout=60)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:  # do not leave them behind even when the check fails
        p.kill()
    return {"studies_done_at_kill": done, "worker_processes": len(workers),
            "workers_left_after_kill": len(alive), "workers_gone_within_s": round(time.perf_counter() - t0, 2)}


def _check(out: Path, info: dict) -> dict:
    import csv

    rows = list(csv.DictReader((out / "worklist.csv").open(encoding="utf-8")))
    summary = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    listed = {f["input"] for f in summary["failures"]}
    processed = {str(Path(r["input"]).parent) for r in rows}
    return {"n_ok": summary["n_ok"], "n_failed": summary["n_failed"],
            "every_good_study_processed": processed == set(info["good"]),
            "every_bad_file_listed": listed == {b["path"] for b in info["bad"]}}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and write the JSON."""
    from osteoscan.simulate.faults import write_faulty_batch
    from osteoscan.workflows.analyze import comparable_outputs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--bad-fraction", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-at", type=float, default=0.4, help="fraction of studies done at kill -9")
    ap.add_argument("--lesions", action="store_true", help="run the lesion stage too (slower)")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    batch, base, rerun = work / "batch", work / "uninterrupted", work / "killed-and-rerun"
    t0 = time.perf_counter()
    info = write_faulty_batch(batch, args.n, bad_fraction=args.bad_fraction, n_base=24, seed=0)
    t_write = time.perf_counter() - t0
    rc_base, t_base = _run(_analyze_args(batch, base, args.workers, args.lesions))
    killed = _killed_run(_analyze_args(batch, rerun, args.workers, args.lesions), rerun,
                         max(1, int(args.kill_at * args.n)))
    rc_rerun, t_rerun = _run(_analyze_args(batch, rerun, args.workers, args.lesions))
    result = {
        "n_studies": args.n, "n_good": len(info["good"]), "n_bad": len(info["bad"]),
        "bad_by_fault": dict(Counter(b["fault"] for b in info["bad"])),
        "workers": args.workers, "lesion_stage": args.lesions, "reports": False,
        "model": "bundled reference",
        "write_batch_s": round(t_write, 1),
        "uninterrupted": {"exit_code": rc_base, "seconds": round(t_base, 1),
                          "studies_per_s": round(args.n / t_base, 2), **_check(base, info)},
        "kill9": killed,
        "rerun": {"exit_code": rc_rerun, "seconds": round(t_rerun, 1), **_check(rerun, info)},
        "rerun_over_uninterrupted_time": round(t_rerun / t_base, 3),
        "rerun_outputs_identical": comparable_outputs(rerun) == comparable_outputs(base),
        "leftover_tmp_files": len(list(rerun.rglob("*.tmp"))),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
