"""Is Grad-CAM checked, not only drawn? The pointing game on simulated metastatic studies.

Trains a CNN and a transformer briefly on a simulated cohort (two sites), then, on held-out
simulated metastatic studies that the model calls positive, counts how often the peak of
the Grad-CAM heatmap lies within ``--tolerance`` pixels of a true malignant lesion on that
view (osteoscan.explain.pointing). The chance level (a peak dropped uniformly on bone) is
reported beside each hit rate. Writes ``benchmarks/results/pointing.json``.

The tolerance is in view pixels (1024x256 views, about 2.4 mm each); hit rates are given at
4, 12 and 24 px, because one Grad-CAM cell of a stride-32 layer spans 32 input pixels,
i.e. 85 view pixels at a 384x96 input; a 16-pixel ViT patch spans 32 view pixels at 512x128.

Run: ``.venv/bin/python -m benchmarks.bench_pointing [--n-train 240 --archs cnn transformer]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"
ARCHS = {
    # name, create_model kwargs, input size, epochs, initial weights, learning rate
    "cnn": ("inrac18", {"widths": [16, 32, 64, 128], "stem_width": 16, "layers": [1, 1, 1, 1],
                        "reduction": 4}, (384, 96), 14, None, 2e-3),  # the reference architecture
    "transformer": ("deit_base", {"tiny": True}, (512, 128), 60, None, 3e-4),
    # a small DeiT (DeiT-Ti width, 4 blocks): the tiny test variant (1 block of 32) cannot learn
    "transformer-small": ("deit_base", {"embed_dim": 192, "depth": 4, "num_heads": 3},
                          (384, 96), 40, None, 5e-4),
    # the reference architecture at full resolution: a lesion keeps its few pixels
    "cnn-full": ("inrac18", {"widths": [16, 32, 64, 128], "stem_width": 16, "layers": [1, 1, 1, 1],
                             "reduction": 4}, (1024, 256), 8, None, 2e-3),
}


def simulate(n: int, seed0: int, sites: tuple[str, ...], difficulty: str, force: str | None = None):
    from osteoscan.simulate.study import simulate_study

    return [simulate_study(seed0 + i, site=sites[i % len(sites)], difficulty=difficulty, force_label=force)
            for i in range(n)]


def train_arch(name: str, kwargs: dict, size: tuple[int, int], epochs: int, init: str | None,
               lr: float, studies: list, out: Path, args) -> Path:
    from osteoscan.training import train
    from osteoscan.config.train import resolve_config

    cfg = resolve_config({
        "name": f"pointing-{name}", "seed": 0,
        "model": {"name": name, "kwargs": kwargs, "init": init},
        "preprocess": {"views": "stack", "size": list(size)},
        "augment": {"p_affine": 0.5, "rotate_deg": 3.0, "translate_px": 4.0},
        "optim": {"epochs": epochs, "batch_size": 16, "lr": lr, "threads": args.threads,
                  "patience": 0, "amp": False, "warmup_epochs": 1.0},
        "protocol": {"kind": "holdout", "test_fraction": 0.01, "val_fraction": 0.2},
    })
    return train(cfg, out, studies=studies)


def lesion_masks(study) -> dict[str, np.ndarray]:
    from osteoscan.explain.pointing import malignant_mask

    ids = [les.id for les in study.lesions if les.malignant]
    return {v: malignant_mask(m, ids) for v, m in study.lesion_masks.items()}


def play(run: Path, studies: list, tolerances: list[float], cam_layer: str | None = None) -> dict:
    from osteoscan.explain.pointing import pointing_game, summarise
    from osteoscan.inference import Predictor
    from sklearn.metrics import roc_auc_score

    pred = Predictor.from_path(run, cam_layer=cam_layer, lesions=False)
    results: dict[float, list] = {t: [] for t in tolerances}
    probs, labels, t_total = [], [], 0.0
    for s in studies:
        t0 = time.perf_counter()
        r = pred.predict(s.scan)
        t_total += time.perf_counter() - t0
        probs.append(r.probability)
        labels.append(int(s.label.label == "metastasis"))
        if s.label.label == "metastasis" and r.positive:
            body = {v: s.bone_mask for v in r.heatmaps}
            masks = lesion_masks(s)
            for t in tolerances:
                results[t].append(pointing_game(r.heatmaps, masks, tolerance_px=t, body=body))
    summary = {"by_tolerance_px": {str(t): summarise(res) for t, res in results.items()}}
    summary.update(auc=float(roc_auc_score(labels, probs)) if 0 < sum(labels) < len(labels) else None,
                   n_metastatic=int(sum(labels)),
                   n_true_positive=sum(1 for s, p in zip(studies, probs) if s.label.label == "metastasis"
                                       and p >= (pred.card.threshold or 0.5)),
                   threshold=pred.card.threshold, seconds_per_study=t_total / max(len(studies), 1),
                   cam_method=r.explain.get("method", ""), cam_layer=r.explain.get("layer", ""))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=240)
    ap.add_argument("--n-test", type=int, default=80)
    ap.add_argument("--tolerance", type=float, nargs="+", default=[4.0, 12.0, 24.0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--difficulty", default="easy")
    ap.add_argument("--archs", nargs="*", default=list(ARCHS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/osteoscan-pointing"))
    ap.add_argument("--reference", action="store_true",
                    help="also score the bundled reference model (no training) on the same test studies")
    ap.add_argument("--reference-layers", nargs="*", default=[],
                    help="with --reference: also score these Grad-CAM layers (e.g. layer3 layer2)")
    ap.add_argument("--out", type=Path, default=RESULTS / "pointing.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    train_set = simulate(args.n_train, 0, ("site_a", "site_b"), args.difficulty) if args.archs else []
    test_set = simulate(args.n_test, 100_000, ("site_a", "site_b"), args.difficulty)
    logging.info("simulated %d + %d studies in %.0f s", len(train_set), len(test_set), time.perf_counter() - t0)
    out = {"protocol": {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v)
                        for k, v in vars(args).items()},
           "definition": "hit: heatmap peak within tolerance px of a true malignant lesion on that view; "
                         "study hit: anterior or posterior; scored on metastatic test studies called positive; "
                         "chance: fraction of bone pixels within tolerance of a lesion",
           "models": {}}
    for kind in args.archs:
        name, kwargs, size, epochs, init, lr = ARCHS[kind]
        t1 = time.perf_counter()
        run = train_arch(name, kwargs, size, epochs, init, lr, train_set, args.work / name, args)
        res = play(run, test_set, args.tolerance)
        res.update(architecture=name, kwargs=kwargs, size=list(size), epochs=epochs, init=init, lr=lr,
                   train_seconds=time.perf_counter() - t1)
        out["models"][kind] = res
        logging.info("%s: %s", kind, json.dumps(res))
    if args.reference:
        from osteoscan.inference import REFERENCE_DIR

        for layer in [None, *args.reference_layers]:
            res = play(REFERENCE_DIR, test_set, args.tolerance, cam_layer=layer)
            res.update(architecture="bundled reference", card=str(REFERENCE_DIR))
            out["models"]["reference" + (f"@{layer}" if layer else "")] = res
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
