"""Speed of ``osteoscan analyze`` per study and per hour, against a baseline tree in the same run.

Issue 16's targets: one study end to end (read, detect, classify, Grad-CAM, report) in
<= 0.5 s on one core; the networks' forward passes >= 50 % of that time; studies per hour on
2 cores. Measured with ``Predictor.default()`` (the bundled reference classifier with the
hotspot-first detector deciding), on simulated studies, one torch thread:

1. **warm, per stage** (:mod:`benchmarks.analyze_stages`, a subprocess per code path): the
   model loaded once as in a batch worker; each study through ``run_task`` (read, predict,
   HTML report, JSON); per study the best of ``--repeat``; stage times from the fastest
   instrumented run, averaged over studies; the forward-pass share;
2. **cold**: one process per study, pinned to one core (``taskset -c 0``):
   ``osteoscan analyze FILE --workers 1``, and the same steps timed inside one process
   (import, model load, first study);
3. **batch**: ``osteoscan analyze DIR --workers 2`` (one torch thread each) and ``--workers 1``
   on ``--n-batch`` studies: studies per hour on 2 cores, start-up included;
4. **same results**: both code paths write, per study, the study JSON with hotspot masks,
   the Grad-CAM maps and the report; probabilities, hotspots (masks exactly), BSI and maps must
   agree within 1e-6, and the reports are compared byte for byte (time stamp aside).

The baseline is a tree of the code before the change (``--baseline-src``, e.g.
``git archive 0badfbb src | tar -x -C /tmp/base``); without it only this tree is measured.
Writes ``benchmarks/results/analyze.json``. The machine's two cores are shared: compare the
ratios, which are taken within one run.

Run: ``PYTHONPATH=src .venv/bin/python -m benchmarks.bench_analyze --baseline-src /tmp/base/src``
``[--n 8] [--repeat 3] [--n-batch 40] [--cold 3] [--memory]`` (``--memory``: also the peak RSS of
``osteoscan analyze`` on 10 studies).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "osteoscan"]
NETWORK = ("network forward",)
"""Stages that are network forward passes (every outermost ``nn.Module`` call)."""

COLD_SCRIPT = """
import json, sys, time
w0, c0 = time.perf_counter(), time.process_time()
import torch
torch.set_num_threads(1)
from osteoscan.workflows.analyze import discover, init_worker, run_task
w1, c1 = time.perf_counter(), time.process_time()
init_worker(None, 1, {})
w2, c2 = time.perf_counter(), time.process_time()
rec = run_task(discover([sys.argv[1]])[0], sys.argv[2])
w3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({"wall": {"import_s": w1 - w0, "model_load_s": w2 - w1, "first_study_s": w3 - w2},
                  "cpu": {"import_s": c1 - c0, "model_load_s": c2 - c1, "first_study_s": c3 - c2},
                  "error": rec.get("error")}))
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed_run(cmd: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s of the process tree, result) of a finished subprocess."""
    w, c = time.perf_counter(), _children_cpu()
    res = subprocess.run(cmd, check=True, **kwargs)
    return time.perf_counter() - w, _children_cpu() - c, res


def _env(src: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def warm(tag: str, src: Path, data: Path, work: Path, n: int, repeat: int) -> dict:
    """Per-stage timings of one code path (a subprocess importing osteoscan from ``src``)."""
    out = work / f"stages_{tag}.json"
    subprocess.run([sys.executable, "-m", "benchmarks.analyze_stages", str(data), str(out),
                    "--n", str(n), "--repeat", str(repeat), "--dump", str(work / f"dump_{tag}")],
                   env=_env(src), cwd=ROOT, check=True)
    d = json.loads(out.read_text())
    res = {"n_studies": d["n_studies"], "repeat": d["repeat"], "model_load_s": d["model_load_s"]}
    for kind in ("cpu", "wall"):
        st = d["staged_mean_s"][kind]
        net = sum(st.get(k, 0.0) for k in NETWORK)
        res[kind] = {"s_per_study": d["plain_mean_s"][kind],
                     "s_per_study_each": d["plain_s_per_study"][kind],
                     "stages_s": {k: v for k, v in st.items() if k != "total"},
                     "instrumented_total_s": st["total"], "network_forward_s": net,
                     "forward_share": net / st["total"]}
    return res


def cold(tag: str, src: Path, files: list[Path], work: Path) -> dict:
    """One process per study on one core: the CLI's wall and CPU time, and the parts inside a
    process (import, model load, first study)."""
    one_core = ["taskset", "-c", "0"]
    cli, parts = [], []
    for i, f in enumerate(files):
        w, c, _ = _timed_run([*one_core, *CLI, "analyze", str(f), "--workers", "1",
                              "--out", str(work / f"cold_{tag}_{i}")], env=_env(src),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli.append({"wall_s": w, "cpu_s": c})
        _, _, res = _timed_run([*one_core, sys.executable, "-c", COLD_SCRIPT, str(f),
                                str(work / f"coldp_{tag}_{i}")], env=_env(src),
                               capture_output=True, text=True)
        parts.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return {"cli": cli, "cli_best_cpu_s": min(r["cpu_s"] for r in cli),
            "cli_best_wall_s": min(r["wall_s"] for r in cli),
            "inside_best": min(parts, key=lambda p: sum(p["cpu"].values()))}


def batch(tag: str, src: Path, data: Path, work: Path, workers: int) -> dict:
    """``osteoscan analyze DATA --workers N``: wall time (start-up included), CPU time of the
    process tree, studies per hour."""
    out = work / f"batch_{tag}_w{workers}"
    w, c, _ = _timed_run([*CLI, "analyze", str(data), "--workers", str(workers), "--out", str(out)],
                         env=_env(src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    n = json.loads((out / "analysis.json").read_text())["n_ok"]
    return {"workers": workers, "n": n, "wall_s": w, "cpu_s": c, "studies_per_hour": 3600 * n / w,
            "cpu_s_per_study": c / n}


def peak_rss(src: Path, files: list[Path], work: Path) -> dict:
    """Peak RSS (MB) of ``osteoscan analyze`` on ``files`` (one worker; psutil polls the process
    tree every 20 ms; the earlier target was 1,536 MB)."""
    import psutil

    proc = psutil.Popen([*CLI, "analyze", *map(str, files), "--workers", "1",
                         "--out", str(work / "rss")], env=_env(src), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.02)
    return {"returncode": proc.returncode, "n": len(files), "peak_rss_mb": peak / 2**20}


def _max_diff(a, b, path: str = "") -> tuple[float, list[str]]:
    """Largest numeric difference between two JSON values, and the paths where they differ
    otherwise (type, keys, lengths, strings)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return 0.0, [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        pairs = [(a[k], b[k], f"{path}.{k}") for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 0.0, [f"{path}: lengths {len(a)} != {len(b)}"]
        pairs = [(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))]
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)), []
    else:
        return 0.0, [] if a == b else [f"{path}: {a!r} != {b!r}"]
    worst, bad = 0.0, []
    for x, y, p in pairs:
        d, m = _max_diff(x, y, p)
        worst, bad = max(worst, d), bad + m
    return worst, bad


def same_results(new: Path, old: Path) -> dict:
    """Compare the two code paths' dumps (module docstring, point 4)."""
    import numpy as np

    out = {"studies": 0, "max_abs_diff_json": 0.0, "max_abs_diff_heatmaps": 0.0, "mismatches": [],
           "reports_identical": 0}
    for f in sorted(new.glob("*.json")):
        d, bad = _max_diff(json.loads(f.read_text()), json.loads((old / f.name).read_text()),
                           f.stem)
        a, b = np.load(f.with_suffix(".npz")), np.load((old / f.name).with_suffix(".npz"))
        hm = max((float(np.abs(a[k] - b[k]).max()) for k in a.files), default=0.0)
        out["studies"] += 1
        out["max_abs_diff_json"] = max(out["max_abs_diff_json"], d)
        out["max_abs_diff_heatmaps"] = max(out["max_abs_diff_heatmaps"], hm)
        same_views = sorted(a.files) == sorted(b.files)
        out["mismatches"] += bad + ([] if same_views else [f"{f.stem}: views"])
        out["reports_identical"] += f.with_suffix(".html").read_bytes() == \
            (old / f.name).with_suffix(".html").read_bytes()
    out["identical_within_1e-6"] = (not out["mismatches"] and out["max_abs_diff_json"] <= 1e-6
                                    and out["max_abs_diff_heatmaps"] <= 1e-6)
    return out


def ratios(new: dict, old: dict) -> dict:
    """old / new (speed-up) of the comparable figures, CPU and wall."""
    out = {}
    for kind in ("cpu", "wall"):
        n, o = new[kind], old[kind]
        out[kind] = {"speedup_s_per_study_warm": o["s_per_study"] / n["s_per_study"],
                     "speedup_per_stage": {k: o["stages_s"][k] / v for k, v in n["stages_s"].items()
                                           if k in o["stages_s"] and v > 0}}
    return out


def _cohort(work: Path, n: int) -> Path:
    from osteoscan.simulate.writer import write_cohort

    data = work / f"cohort{n}"
    if not (data / "manifest.csv").is_file():  # an unseen site profile, default difficulty
        write_cohort(data, n, seed=16, sites=("site_c",), workers=1)
    return data / "dicom"


def _paths(args) -> list[tuple[str, str, Path]]:
    paths = [("this tree", "new", ROOT / "src")]
    if args.baseline_src is not None:
        paths.append(("baseline", "base", args.baseline_src.resolve()))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="src/ of the code before the change")
    ap.add_argument("--n", type=int, default=8, help="studies timed per stage")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", type=int, default=3, help="single-study processes per code path")
    ap.add_argument("--n-batch", type=int, default=40)
    ap.add_argument("--memory", action="store_true", help="also the peak RSS on 10 studies")
    ap.add_argument("--work", type=Path, default=Path("/tmp/osteoscan-bench-analyze"))
    ap.add_argument("--out", type=Path, default=RESULTS / "analyze.json")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = _cohort(args.work, max(args.n_batch, args.n))
    files = sorted(data.rglob("*.dcm"))
    res: dict = {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg(),
                 "data": f"{len(files)} simulated studies, site_c, default difficulty, seed 16",
                 "note": "one torch thread; the machine's two cores are shared: compare ratios"}
    for name, tag, src in _paths(args):
        res[name] = {"src": str(src), "warm": warm(tag, src, data, args.work, args.n, args.repeat)}
        print(name, json.dumps(res[name]["warm"]["cpu"]), flush=True)
    for name, tag, src in _paths(args):
        res[name]["cold"] = cold(tag, src, files[:args.cold], args.work)
    for name, tag, src in _paths(args):
        res[name]["batch"] = [batch(tag, src, data, args.work, w) for w in (1, 2)]
    if args.memory:
        for name, _tag, src in _paths(args):
            res[name]["memory"] = peak_rss(src, files[:10], args.work)
    if args.baseline_src is not None:
        res["ratios_baseline_over_this"] = ratios(res["this tree"]["warm"], res["baseline"]["warm"])
        res["same_results"] = same_results(args.work / "dump_new", args.work / "dump_base")
    res["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    print(json.dumps({k: v for k, v in res.items() if k not in ("this tree", "baseline")},
                     indent=2))


if __name__ == "__main__":
    main()
