"""Cost of ``osteoscan analyze`` against the model's forward pass, its memory, and scaling.

Three measurements (best of repeats: the machine's two cores are shared), all ratios
taken within the same run (writes
``benchmarks/results/analyze.json``):

1. per study, end to end (load DICOM, preprocess, forward + Grad-CAM, map to views, HTML
   report, JSON) over the forward pass alone (target <= 2x); also the split Grad-CAM against
   pytorch_grad_cam's full forward + backward;
2. peak RSS of ``osteoscan analyze`` run in a subprocess (psutil, the process tree polled
   every 20 ms; target <= 1.5 GB);
3. batch throughput: 2 workers x 1 thread over 1 worker x 1 thread (and 1 worker x 2 threads).

The bundled reference model is used when installed; otherwise a stand-in with the reference
architecture and random weights (the cost is what matters) is written and named in the JSON.
``--model resnet18-1024`` measures a mid-size CNN at full resolution for comparison.

Run: ``.venv/bin/python -m benchmarks.bench_analyze [--n-batch 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results"
OSTEOSCAN = [sys.executable, "-m", "osteoscan"]


STANDINS = {
    # the reference architecture (configs/reference.yaml), random weights: same cost as the real one
    "reference-arch": ("inrac18", {"widths": [16, 32, 64, 128], "stem_width": 16, "layers": [1, 1, 1, 1],
                                   "reduction": 4}, [384, 96]),
    # a mid-size CNN at full resolution, for comparison
    "resnet18-1024": ("resnet18", {}, [1024, 256]),
}


def model_source(work: Path, which: str) -> tuple[str, str]:
    """(path, description) of the model to benchmark: the bundled reference when installed
    (``which == "reference"``), else a stand-in with random weights."""
    from osteoscan.inference import REFERENCE_DIR

    if which == "reference" and (REFERENCE_DIR / "model.json").is_file():
        return str(REFERENCE_DIR), "bundled reference"
    import torch

    from osteoscan.models import create_model
    from osteoscan.training.checkpoint import ModelCard, save_checkpoint

    key = "reference-arch" if which == "reference" else which
    arch, kwargs, size = STANDINS[key]
    torch.manual_seed(0)
    card = ModelCard(architecture=arch, model_kwargs={"num_classes": 2, "in_chans": 2, "img_size": size, **kwargs},
                     preprocess={"views": "stack", "size": size}, threshold=0.5)
    save_checkpoint(work / key, create_model(arch, in_chans=2, img_size=tuple(size), **kwargs), card)
    return str(work / key), f"stand-in {key}: {arch} {size[0]}x{size[1]}, random weights"


def _best_time(fn, repeat: int) -> float:
    """Best of ``repeat`` runs after a warm-up (the minimum is the least disturbed by the other
    jobs sharing this machine's two cores)."""
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def per_study(model: str, files: list[Path], out: Path, repeat: int) -> dict:
    """Median seconds per stage on one thread, and the ratios."""
    import numpy as np
    import torch

    from osteoscan.explain.gradcam import GradCam
    from osteoscan.inference import Predictor
    from osteoscan.io import load_study
    from osteoscan.reporting.html import write_report
    from osteoscan.reporting.results import atomic_write_text, dumps, study_record

    torch.set_num_threads(1)
    pred = Predictor.from_path(model, lesions=False)  # the image-level path only
    scan = load_study(files[0])
    x = torch.from_numpy(np.ascontiguousarray(pred.pipeline(scan, None)))[None]

    def forward():
        with torch.no_grad():
            pred.model(x)

    lib = GradCam(pred.model, pred.cam_layer, reshape=pred.cam.reshape, method="library")
    it = iter(range(10**9))

    def end_to_end():
        s = load_study(files[next(it) % len(files)])
        r = pred.predict(s)
        write_report(s, r, out / "report.html")
        atomic_write_text(out / "study.json", dumps(study_record(s, r)))

    t = {"forward": _best_time(forward, repeat),
         "forward_gradcam_split": _best_time(lambda: pred.cam(x, pred._target), repeat),
         "forward_gradcam_library": _best_time(lambda: lib(x, pred._target), repeat),
         "load": _best_time(lambda: load_study(files[0]), repeat),
         "predict": _best_time(lambda: pred.predict(scan), repeat)}
    r = pred.predict(scan)
    t["report_html"] = _best_time(lambda: write_report(scan, r, out / "report.html"), repeat)
    t["end_to_end"] = _best_time(end_to_end, repeat)
    t["json"] = _best_time(lambda: atomic_write_text(out / "study.json", dumps(study_record(scan, r))), repeat)
    try:  # the lesion stage that analyze attaches when its weights are installed (not in end_to_end)
        from osteoscan.lesions.analyzer import bundled_or_none

        lesions = bundled_or_none()
    except ImportError:
        lesions = None
    if lesions is not None:
        t["lesion_stage"] = _best_time(lambda: lesions.analyze(scan), max(1, repeat // 2))
    return {"seconds": t, "threads": 1, "predict_stages_s": {k: round(v, 5) for k, v in r.timings.items()},
            "ratio_end_to_end_over_forward": t["end_to_end"] / t["forward"],
            "ratio_split_gradcam_over_forward": t["forward_gradcam_split"] / t["forward"],
            "ratio_library_gradcam_over_forward": t["forward_gradcam_library"] / t["forward"],
            "target_end_to_end_over_forward": 2.0}


def peak_rss(cmd: list[str]) -> dict:
    """Run ``cmd``; poll the RSS of its process tree; return peaks in MB."""
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_tree = peak_one = 0
    t0 = time.perf_counter()
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = [p.memory_info().rss for p in procs]
        except psutil.Error:
            continue
        peak_tree, peak_one = max(peak_tree, sum(rss)), max(peak_one, max(rss))
        time.sleep(0.02)
    return {"returncode": proc.returncode, "seconds": time.perf_counter() - t0,
            "peak_rss_tree_mb": peak_tree / 2**20, "peak_rss_largest_process_mb": peak_one / 2**20,
            "target_mb": 1536}


def batch(model: str, data: Path, work: Path, workers: int, threads: int) -> dict:
    """Wall time of analyze over the folder (reports on), via the Python API; the steady-state
    rate is taken between the first and the last finished study (start-up excluded)."""
    from osteoscan.workflows.analyze import analyze_batch, discover

    tasks = discover([data])
    stamps: list[float] = []
    t = time.perf_counter()
    res = analyze_batch(tasks, work / f"batch_w{workers}_t{threads}", model=model, workers=workers,
                        threads=threads, progress=lambda done, total, label: stamps.append(time.perf_counter()))
    sec = time.perf_counter() - t
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else None
    return {"workers": workers, "threads": threads, "n": len(tasks), "ok": len(res.records),
            "seconds": sec, "startup_s": stamps[0] - t if stamps else None,
            "studies_per_s": len(res.records) / sec, "steady_studies_per_s": steady}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-batch", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path("/tmp/osteoscan-bench-analyze"))
    ap.add_argument("--model", default="reference", choices=["reference", "resnet18-1024"],
                    help="the bundled reference (or its architecture with random weights), or resnet18")
    ap.add_argument("--skip-batch", action="store_true", help="only the per-study and memory parts")
    ap.add_argument("--batch-repeat", type=int, default=2)
    ap.add_argument("--data", type=Path, default=None, help="an existing cohort folder to reuse")
    ap.add_argument("--skip-per-study", action="store_true", help="only memory and batch parts")
    args = ap.parse_args()
    from osteoscan.simulate.writer import write_cohort

    args.work.mkdir(parents=True, exist_ok=True)
    model, desc = model_source(args.work, args.model)
    data = args.work / f"cohort{args.n_batch}"
    if args.data is not None:
        data = args.data
    elif not (data / "manifest.csv").is_file():
        write_cohort(data, args.n_batch, seed=11, sites=("site_a", "site_b", "site_c"), workers=2)
    files = sorted((data / "dicom").rglob("*.dcm"))
    out = {"model": desc, "cpu_count": os.cpu_count(), "n_batch": args.n_batch,
           "note": "machine shared with other jobs; ratios are within-run"}
    prev = RESULTS / ("analyze.json" if args.model == "reference" else f"analyze_{args.model}.json")
    if args.skip_per_study and prev.is_file():
        out["per_study"] = json.loads(prev.read_text()).get("per_study")
    else:
        out["per_study"] = per_study(model, files[:8], args.work, args.repeat)
    print(json.dumps(out["per_study"], indent=2), flush=True)
    out["memory"] = peak_rss([*OSTEOSCAN, "analyze", *map(str, files[:10]), "--model", model,
                              "--out", str(args.work / "rss"), "--workers", "1"])
    print(json.dumps(out["memory"], indent=2))
    if args.skip_batch:
        _save(out, args.model)
        return
    configs = [(1, 1), (2, 1), (1, 2)]
    runs = {c: [] for c in configs}
    for _ in range(args.batch_repeat):  # interleaved, so drifting load hits every config alike
        for workers, threads in configs:
            runs[(workers, threads)].append(batch(model, data / "dicom", args.work, workers, threads))
    best = {c: max(r["studies_per_s"] for r in rs) for c, rs in runs.items()}
    steady = {c: max(r["steady_studies_per_s"] or 0 for r in rs) for c, rs in runs.items()}
    out["batch"] = {"runs": [r for rs in runs.values() for r in rs],
                    "best_studies_per_s": {f"{w}w{t}t": v for (w, t), v in best.items()},
                    "steady_studies_per_s": {f"{w}w{t}t": v for (w, t), v in steady.items()},
                    "ratio_2workers_over_1worker": best[(2, 1)] / best[(1, 1)],
                    "ratio_2workers_over_1worker_steady": steady[(2, 1)] / steady[(1, 1)],
                    "ratio_2workers_over_1worker_2threads_steady": steady[(2, 1)] / steady[(1, 2)],
                    "note": "best of interleaved repeats; studies_per_s includes start-up (1 worker runs "
                            "in this already-warm process, 2 workers spawn and import torch afresh); "
                            "steady = between first and last finished study"}
    _save(out, args.model)
    print(json.dumps(out["batch"], indent=2))


def _save(out: dict, which: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "analyze.json" if which == "reference" else f"analyze_{which}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
