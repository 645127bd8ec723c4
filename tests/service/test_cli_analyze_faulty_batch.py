"""A batch with corrupted, truncated, duplicated and mislabelled files (issue 13), through
the installed console script: every good study processed, every bad one listed, exit 1;
``kill -9`` mid-run and a rerun give the same outputs as an uninterrupted run
(benchmarks/bench_batch.py runs the same check on 1,000 studies)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from osteoscan.workflows.analyze import comparable_outputs

from .conftest import fx, osteoscan_cmd, run_osteoscan, script_env

psutil = pytest.importorskip("psutil")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from osteoscan.simulate.faults import write_faulty_batch

    root = tmp_path_factory.mktemp("faulty")
    info = write_faulty_batch(root / "batch", 30, n_base=6, seed=1)
    return root, info, fx.save_tiny(root / "model")


def _args(root: Path, model: Path, out: Path) -> tuple:
    return ("analyze", root / "batch" / "studies", "--model", model, "--out", out, "--workers", 2,
            "--no-reports", "--no-lesions")


def test_good_studies_processed_bad_ones_listed_and_kill9_rerun_is_identical(batch):
    root, info, model = batch
    res = run_osteoscan(*_args(root, model, root / "a"), timeout=600)
    assert res.returncode == 1, res.stderr
    rows = list(csv.DictReader((root / "a" / "worklist.csv").open()))
    assert sorted(str(Path(r["input"]).parent) for r in rows) == sorted(info["good"])
    summary = json.loads((root / "a" / "analysis.json").read_text())
    assert sorted(f["input"] for f in summary["failures"]) == sorted(b["path"] for b in info["bad"])
    assert {b["fault"] for b in info["bad"]} == {"truncated", "corrupted", "duplicated", "mislabelled"}

    out = root / "b"
    proc = subprocess.Popen(osteoscan_cmd(*_args(root, model, out)), env=script_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list((out / "studies").glob("*.json"))) < 5 and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.05)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    _, alive = psutil.wait_procs(workers, timeout=30)  # workers exit when their parent is gone
    assert [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert not (out / "worklist.csv").exists()
    rerun = run_osteoscan(*_args(root, model, out), timeout=600)
    assert rerun.returncode == 1, rerun.stderr
    assert not list(out.rglob("*.tmp"))
    assert comparable_outputs(out) == comparable_outputs(root / "a")
