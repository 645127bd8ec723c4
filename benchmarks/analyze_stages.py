"""Where one warm ``osteoscan analyze`` study spends its time, stage by stage (one thread).

Run by :mod:`benchmarks.bench_analyze` in a subprocess, once with this tree's ``src`` and once
with a baseline tree's (``PYTHONPATH`` decides which osteoscan is imported), so that both code
paths are timed in the same run. Only public names present in both are used.

The study goes through the real batch path (``workflows.analyze.run_task``: read, predict with
``Predictor.default()``, HTML report, JSON), with the stages timed in place: the functions that
make each stage are wrapped by a clock that records exclusive time (a stage's time excludes the
stages called inside it), and every ``torch.nn.Module`` call from outside a module is timed as
"network forward" (global forward hooks), whichever network makes it. Whatever no wrapper covers
is "other", so the stages add up to the total.

It also writes, per study, what must not change (``--dump``): the study JSON with hotspot masks,
the Grad-CAM maps, and the report without its time stamp.

Usage: ``python -m benchmarks.analyze_stages DATA_DIR OUT.json [--n 8] [--repeat 3] [--dump DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


class StageClock:
    """Exclusive seconds per stage name, wall and CPU (this process), through wrapped callables
    and module hooks. On a shared machine the CPU time is the cost on one core; the wall time
    also holds the time other jobs had the core (and waits for the disk)."""

    def __init__(self) -> None:
        self.excl: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.stack: list[list] = []

    def enter(self, name: str) -> None:
        self.stack.append([name, time.perf_counter(), time.process_time(), 0.0, 0.0])

    def leave(self) -> None:
        name, w0, c0, child_w, child_c = self.stack.pop()
        dw, dc = time.perf_counter() - w0, time.process_time() - c0
        self.excl[name][0] += dw - child_w
        self.excl[name][1] += dc - child_c
        if self.stack:
            self.stack[-1][3] += dw
            self.stack[-1][4] += dc

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()
        return timed

    def patch(self, obj, attr: str, name: str) -> bool:
        if obj is None or not hasattr(obj, attr):
            return False
        setattr(obj, attr, self.wrap(name, getattr(obj, attr)))
        return True

    def hook_networks(self) -> None:
        """Time every outermost ``nn.Module`` call as "network forward"."""
        from torch.nn.modules import module

        depth = [0]

        def pre(_m, _inp):
            if depth[0] == 0:
                self.enter("network forward")
            depth[0] += 1

        def post(_m, _inp, _out):
            depth[0] -= 1
            if depth[0] == 0:
                self.leave()

        module.register_module_forward_pre_hook(pre)
        module.register_module_forward_hook(post)


def instrument(clock: StageClock, pred) -> list[str]:
    """Wrap the stage functions of the analyze path; returns the stages found."""
    import osteoscan.artefacts as art
    import osteoscan.inference as inf
    import osteoscan.reporting.html as html
    import osteoscan.reporting.results as res
    import osteoscan.workflows.analyze as wf

    det = pred.lesion_analyzer
    patient = __import__("osteoscan.lesions.patient", fromlist=["x"]) if det is not None else None
    wanted = [(wf, "load_task", "read"), (pred, "_prepare", "preprocess"),
              (pred, "cam", "Grad-CAM backward + map"), (inf, "heatmap_to_views", "map to views"),
              (patient, "scan_candidates", "candidates"), (patient, "scan_context", "features"),
              (getattr(det, "forest", None), "predict_proba", "trees"),
              (det, "analyze", "detector: rest"), (html, "view_panels", "figures"),
              (html, "render_report", "HTML"), (res, "study_record", "JSON"),
              (res, "dumps", "JSON"),
              (art, "atomic_write_text", "writing"), (html, "atomic_write_text", "writing")]
    found = [name for obj, attr, name in wanted if clock.patch(obj, attr, name)]
    clock.hook_networks()
    return sorted(set(found) | {"network forward"})


def _tasks(data: Path, n: int):
    from osteoscan.workflows.analyze import discover

    return discover([data])[:n]


def _plain(tasks, out: Path, repeat: int) -> dict[str, list[float]]:
    """Per study, the best of ``repeat`` uninstrumented ``run_task`` times, wall and CPU."""
    from osteoscan.workflows.analyze import run_task

    best: dict[str, list[float]] = {"wall": [], "cpu": []}
    for task in tasks:
        wall, cpu = [], []
        for _ in range(repeat):
            w, c = time.perf_counter(), time.process_time()
            rec = run_task(task, str(out))
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
            if "error" in rec:
                raise RuntimeError(rec["error"])
        best["wall"].append(min(wall))
        best["cpu"].append(min(cpu))
    return best


def _staged(tasks, out: Path, repeat: int, clock: StageClock) -> list[dict]:
    """Per study, the stage times (wall and CPU) of its fastest instrumented run (by CPU)."""
    from osteoscan.workflows.analyze import run_task

    rows = []
    for task in tasks:
        runs = []
        for _ in range(repeat):
            clock.excl.clear()
            w, c = time.perf_counter(), time.process_time()
            run_task(task, str(out))
            w, c = time.perf_counter() - w, time.process_time() - c
            run = {"wall": {k: v[0] for k, v in clock.excl.items()},
                   "cpu": {k: v[1] for k, v in clock.excl.items()}}
            for kind, total in (("wall", w), ("cpu", c)):
                run[kind].update(other=total - sum(run[kind].values()), total=total)
            runs.append(run)
        rows.append(min(runs, key=lambda r: r["cpu"]["total"]))
    return rows


def dump(tasks, pred, folder: Path) -> None:
    """What must stay the same, per study: JSON with masks, heatmaps, report sans time stamp."""
    import numpy as np

    from osteoscan.reporting.html import render_report
    from osteoscan.reporting.results import dumps, study_record
    from osteoscan.workflows.analyze import load_task

    import osteoscan

    src = str(Path(osteoscan.__file__).parent.parent)  # the weights' path names the tree
    folder.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        scan = load_task(task)
        r = pred.predict(scan)
        rec = study_record(scan, r, masks=True)
        rec.pop("timings_s", None)
        key = task.key
        (folder / f"{key}.json").write_text(dumps(rec).replace(src, "SRC"))
        np.savez(folder / f"{key}.npz", **{k: v for k, v in r.heatmaps.items()})
        html = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", render_report(scan, r))
        (folder / f"{key}.html").write_text(html.replace(src, "SRC"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dump", type=Path, default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from osteoscan.workflows.analyze import _WORKER, init_worker

    t0 = time.perf_counter()
    init_worker(None, 1, {})  # Predictor.default() with the bundled detector, as analyze does
    load_s = time.perf_counter() - t0
    tasks = _tasks(args.data, args.n)
    work = args.out.parent / (args.out.stem + "_outputs")
    if args.dump:
        dump(tasks, _WORKER["predictor"], args.dump)
    _plain(tasks[:1], work, 1)  # warm-up (lazy imports, first allocations)
    plain = _plain(tasks, work, args.repeat)
    clock = StageClock()
    stages = instrument(clock, _WORKER["predictor"])
    rows = _staged(tasks, work, args.repeat, clock)
    mean = {}
    for kind in ("wall", "cpu"):
        keys = sorted({k for r in rows for k in r[kind]})
        mean[kind] = {k: sum(r[kind].get(k, 0.0) for r in rows) / len(rows) for k in keys}
    out = {"n_studies": len(tasks), "repeat": args.repeat, "model_load_s": load_s,
           "stages_found": stages, "plain_s_per_study": plain,
           "plain_mean_s": {k: sum(v) / len(v) for k, v in plain.items()},
           "staged_mean_s": mean, "staged_rows": rows, "torch_threads": torch.get_num_threads()}
    args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
