"""Training data pipeline and inference cost, as ratios measured within one run.

Writes ``benchmarks/results/training.json``:

1. training throughput of the full pipeline (DICOM files from a manifest -> decode (cached
   after first use) -> preprocessing + augmentation -> step) over the same model stepping on
   in-memory tensors of the same shape (target >= 0.85x), with 0 and 1 DataLoader workers;
   both measured in alternating rounds so machine load hits both alike;
2. inference per study (load DICOM + preprocess + forward, batch 1) over the forward pass
   alone (target <= 1.5x);
3. peak RSS of this process;
4. the simulator's studies/s against the training step rate (studies/s), so a user can tell
   whether simulating on the fly would starve training;
5. ``osteoscan predict``'s throughput (a worker prefetches and preprocesses while the model
   runs) against the batched forward pass alone, and (2) again for resnet18 at 1024x256.

The model and input size are those of ``configs/reference.yaml``.
Run: ``.venv/bin/python -m benchmarks.bench_training [--n 48 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

RESULTS = Path(__file__).parent / "results"
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "reference.yaml"


def _model_and_pipelines(cfg: dict):
    from osteoscan.models import create_model
    from osteoscan.training.build import make_pipeline

    pre = cfg["preprocess"]
    model = create_model(cfg["model"]["name"], num_classes=2, in_chans=2,
                         img_size=tuple(pre["size"]), **cfg["model"]["kwargs"])
    return model, make_pipeline(pre, cfg["augment"]), make_pipeline(pre, None)


def _steps(model, opt, batches) -> tuple[int, float]:
    """Train on an iterable of (x, y, ...) batches; (studies, seconds)."""
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    n, t0 = 0, time.perf_counter()
    for x, y, *_ in batches:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        n += len(y)
    return n, time.perf_counter() - t0


def _pipeline_loader(dataset, batch: int, workers: int, epoch: int):
    from torch.utils.data import DataLoader

    dataset.set_epoch(epoch)
    return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                      generator=torch.Generator().manual_seed(epoch))


def training_throughput(manifest: Path, cfg: dict, rounds: int) -> dict:
    from osteoscan.data.dataset import ScanDataset
    from osteoscan.data.table import table_from_manifest

    model, train_pipe, _ = _model_and_pipelines(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    table = table_from_manifest(manifest)
    targets = (table.labels("label") == "metastasis").astype(np.int64)
    ds = ScanDataset(table, np.arange(len(table)), targets, train_pipe, cache=True)
    bs = cfg["optim"]["batch_size"]
    t0 = time.perf_counter()
    ds.warm_cache()
    decode_s = (time.perf_counter() - t0) / len(table)
    x = torch.randn(bs, 2, *cfg["preprocess"]["size"])
    y = torch.randint(0, 2, (bs,))
    n_batches = len(table) // bs
    rates: dict[str, list[float]] = {"memory": [], "pipeline_w0": [], "pipeline_w1": []}
    for r in range(rounds):
        n, s = _steps(model, opt, [(x, y)] * n_batches)
        rates["memory"].append(n / s)
        for w in (0, 1):
            n, s = _steps(model, opt, _pipeline_loader(ds, bs, w, r))
            rates[f"pipeline_w{w}"].append(n / s)
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "studies": len(table), "batch_size": bs, "rounds": rounds,
        "decode_s_per_study": decode_s,
        "memory_studies_per_s": med["memory"],
        "pipeline_w0_studies_per_s": med["pipeline_w0"],
        "pipeline_w1_studies_per_s": med["pipeline_w1"],
        "ratio_pipeline_w0_vs_memory": med["pipeline_w0"] / med["memory"],
        "ratio_pipeline_w1_vs_memory": med["pipeline_w1"] / med["memory"],
        "train_step_s_per_study": 1.0 / med["memory"],
        "all_rounds": rates,
    }


def inference_cost(manifest: Path, cfg: dict, n: int) -> dict:
    from osteoscan.io import load_study, read_manifest

    model, _, eval_pipe = _model_and_pipelines(cfg)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    m = read_manifest(manifest)
    paths = [m.image_path(i) for i in range(min(n, len(m)))]
    x = torch.from_numpy(eval_pipe(load_study(paths[0]), None))[None]
    full, fwd = [], []
    with torch.no_grad():
        model(x)  # warm-up
        for p in paths:
            t0 = time.perf_counter()
            img = eval_pipe(load_study(p), None)
            model(torch.from_numpy(img)[None])
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model(x)
            fwd.append(time.perf_counter() - t0)
    f, g = statistics.median(full), statistics.median(fwd)
    return {"inference_s_per_study": f, "forward_s": g, "ratio_inference_vs_forward": f / g,
            "inference_studies": len(paths)}


def predict_throughput(manifest: Path, cfg: dict, work: Path, batch: int = 8) -> dict:
    """``predict_manifest`` (a DataLoader worker loads and preprocesses the next batch while
    the model runs) against the batched forward pass alone, both with the torch threads set
    for this run: seconds per study over the whole manifest."""
    from osteoscan.training.checkpoint import ModelCard, save_checkpoint
    from osteoscan.training.predict import predict_manifest

    model, _, eval_pipe = _model_and_pipelines(cfg)
    size = cfg["preprocess"]["size"]
    card = ModelCard(architecture=cfg["model"]["name"],
                     model_kwargs={"num_classes": 2, "in_chans": 2, "img_size": size,
                                   **cfg["model"]["kwargs"]},
                     preprocess=dict(cfg["preprocess"]), threshold=0.5)
    save_checkpoint(work / "model", model, card)
    out: dict = {"batch_size": batch, "threads": torch.get_num_threads()}
    x = torch.randn(batch, 2, *size)
    model.eval()
    with torch.no_grad():
        model(x)
        t0 = time.perf_counter()
        for _ in range(12):
            model(x)
        out["forward_s_per_study"] = (time.perf_counter() - t0) / (12 * batch)
    for workers in (0, 1):
        t0 = time.perf_counter()
        res = predict_manifest(work / "model", manifest, work / f"pred{workers}.csv",
                               batch_size=batch, workers=workers)
        out[f"predict_w{workers}_s_per_study"] = (time.perf_counter() - t0) / len(res.frame)
        out[f"ratio_predict_w{workers}_vs_forward"] = (
            out[f"predict_w{workers}_s_per_study"] / out["forward_s_per_study"])
    return out


def simulator_rate(n: int) -> float:
    from osteoscan.simulate import simulate_study

    t0 = time.perf_counter()
    for i in range(n):
        simulate_study(1000 + i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48, help="studies written to DICOM")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurement rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = yaml.safe_load(CONFIG.read_text())
    from osteoscan.simulate import write_cohort

    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_cohort(tmp, args.n, seed=11, sites=("site_a", "site_b"))
        train = training_throughput(manifest, cfg, args.rounds)
        infer = inference_cost(manifest, cfg, args.n)
        # the same inference measurement for a published-size CNN at the native resolution
        big = {**cfg, "model": {"name": "resnet18", "kwargs": {}},
               "preprocess": {**cfg["preprocess"], "size": [1024, 256]}}
        infer_big = inference_cost(manifest, big, min(args.n, 48))
        pipelined = predict_throughput(manifest, cfg, Path(tmp))
    sim = simulator_rate(4)
    result = {
        "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()), "torch_threads": args.threads,
        "model": cfg["model"], "input_size": cfg["preprocess"]["size"],
        **train, **infer,
        "inference_resnet18_1024": {"model": big["model"], "input_size": [1024, 256], **infer_big},
        "inference_pipelined_predict": pipelined,
        "simulator_studies_per_s": sim,
        "ratio_simulator_vs_training_rate": sim / train["memory_studies_per_s"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "targets": {"ratio_pipeline_vs_memory": ">= 0.85", "ratio_inference_vs_forward": "<= 1.5"},
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "training.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "all_rounds"}, indent=2))


if __name__ == "__main__":
    main()
