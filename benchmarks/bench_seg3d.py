"""CPU inference of a 3-D SPECT/CT network on a 512x512x300 CT: peak RSS and time per volume.

Each measurement runs in its own subprocess (``--child MODE``), which reports its peak RSS
(``VmHWM`` of ``/proc/self/status``, Linux) and wall time; ratios are taken within the run:

* ``inputs``: the baseline, a CT and a SPECT on the 512x512x300 grid as float32 (what any
  reader hands over: 2 x 315 MB) and nothing else;
* ``predict``: :meth:`osteoscan.volumetric.infer.Segmenter3D.predict` end to end (normalise
  and resize each modality to the model's grid, MONAI sliding window with sw_batch_size 1 in
  float32, instances, labels back on the 512x512x300 grid) at the model's spacing;
* ``predict-3mm``: the same network on a denser 3 mm grid (memory and time grow with it).
* ``predict-primary``: a fused card (``seg3d select --ct-path``) without its CT path, the
  baseline of ``predict`` on such a card (the two passes and the fusion).

Target (issue 15): peak RSS < 4 GB. The network is the checkpoint given with ``--model`` (a
trained ``seg3d`` model), else an MT-UNet of the experiment's widths with random weights (the
cost is what is measured); the phantom is a water cylinder with a bone column.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_seg3d [--model RUN]``
(writes ``benchmarks/results/seg3d.json``, or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SHAPE = (300, 512, 512)
SPACING = (1.5, 0.9766, 0.9766)


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def phantom():
    """CT (HU) and SPECT (counts) float32 on the 512x512x300 grid, built slice by slice."""
    import numpy as np

    ct = np.empty(SHAPE, np.float32)
    spect = np.empty(SHAPE, np.float32)
    y, x = np.ogrid[:SHAPE[1], :SHAPE[2]]
    body = (y - 256) ** 2 / 180**2 + (x - 256) ** 2 / 230**2 <= 1
    bone = (y - 330) ** 2 + (x - 256) ** 2 <= 20**2
    for k in range(SHAPE[0]):
        ct[k] = np.where(bone, 700.0, np.where(body, 40.0, -1000.0))
        spect[k] = np.where(bone, 50.0, np.where(body, 5.0, 0.0))
    return ct, spect


def standin(work: Path) -> Path:
    """A checkpoint of the third and fourth runs' MT-UNet (widths 16-32-64, patch 16x32x32,
    5 mm) with random weights."""
    from osteoscan.models import create_model
    from osteoscan.training.checkpoint import save_checkpoint
    from osteoscan.volumetric.training import Seg3DSettings, card_for

    settings = Seg3DSettings(architecture="mtunet3d", spacing_mm=5.0, patch=(16, 32, 32),
                             widths=(16, 32, 64))
    model = create_model("mtunet3d", **settings.model_kwargs())
    return save_checkpoint(work / "standin", model, card_for(settings, {}, 0))


def child(mode: str, model: str) -> dict:
    import torch

    torch.set_num_threads(1)
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.inputs import Case

    start = time.perf_counter()
    ct, spect = phantom()
    made = time.perf_counter() - start
    out = {"mode": mode, "shape": list(SHAPE), "spacing_mm": list(SPACING)}
    if mode != "inputs":
        seg = Segmenter3D.from_checkpoint(model, sw_batch_size=1)
        if mode == "predict-3mm":
            seg.spacing = 3.0
        if mode == "predict-primary":  # a fused card without its CT path (the baseline)
            seg.ct_path = None
        case = Case("bench", "bench", SPACING, ct=ct, spect=spect)
        t = time.perf_counter()
        result = seg.predict(case)
        out.update(seconds=time.perf_counter() - t, model_spacing_mm=seg.spacing,
                   roi=list(seg.patch), sw_batch_size=seg.sw_batch_size,
                   lesions=len(result.lesions), out_shape=list(result.semantic.shape))
    out.update(peak_rss_mb=peak_rss_mb(), phantom_seconds=made)
    return out


def run_child(mode: str, model: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "benchmarks.bench_seg3d", "--child", mode,
                          "--model", model], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", default="")
    parser.add_argument("--model", default="")
    parser.add_argument("--modes", default="inputs,predict,predict-3mm",
                        help="inputs, predict, predict-3mm, predict-primary (a fused card's "
                             "primary alone)")
    parser.add_argument("--out", default=str(RESULTS / "seg3d.json"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.model)))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(standin(Path(tmp)))
        runs = {m: run_child(m, model) for m in args.modes.split(",")}
    base = runs["inputs"]["peak_rss_mb"]
    for r in runs.values():
        r["rss_over_inputs"] = r["peak_rss_mb"] / base
        r["under_4gb"] = r["peak_rss_mb"] < 4096
    report = {"benchmark": "seg3d CPU inference, 512x512x300 CT + SPECT",
              "model": args.model or "mtunet3d widths 16,32,64, random weights (stand-in)",
              "threads": 1, "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
