"""Transfer learning on a small site: AUC from scratch vs from each initialisation.

A new simulated cohort at one site (default site_c, new patients: cohort seed 77) is split
7.5:2.5 by patient (about 200 training studies); every arm trains with the same protocol,
schedule and seed, and is scored on the same held-out test patients (AUC with a patient
bootstrap 95% CI, from the run folder's model card).

Arms: the reference architecture (inrac18, narrow) from scratch, from the bundled reference
model (``--init reference``) and from the reference run folder (``--init runs/reference``);
EfficientNet-Lite0 from scratch and from the packaged ImageNet weights (``imagenet-lite0``).

    .venv/bin/python scripts/transfer_learning.py [--n 310 --epochs 6] [--arms scratch imagenet]

The cohort is written once to ``runs/transfer-cohort`` (DICOM + manifest) and reused.
Writes (merging with earlier invocations) ``benchmarks/results/transfer.json`` and the run
folders under ``runs/transfer/``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = yaml.safe_load((ROOT / "configs" / "reference.yaml").read_text())


def arms(run_folder: Path) -> list[tuple[str, dict, str | None]]:
    """(name, model section, init) of every arm."""
    ref_model = {"name": REFERENCE["model"]["name"], "kwargs": REFERENCE["model"]["kwargs"]}
    lite0 = {"name": "efficientnet_lite0", "kwargs": {}}
    out = [("inrac18-narrow / scratch", ref_model, None),
           ("inrac18-narrow / reference", ref_model, "reference")]
    if (run_folder / "best" / "model.json").is_file():
        out.append(("inrac18-narrow / run folder", ref_model, str(run_folder)))
    out += [("efficientnet_lite0 / scratch", lite0, None),
            ("efficientnet_lite0 / imagenet-lite0", lite0, "imagenet-lite0")]
    return out


def config(model: dict, init: str | None, epochs: int, size: list[int], manifest: Path) -> dict:
    return {
        "name": "transfer", "seed": 0,
        "data": {"manifest": str(manifest), "classes": ["normal", "metastasis"],
                 "positive": "metastasis", "cache": True},
        "protocol": {"kind": "holdout", "test_fraction": 0.25, "val_fraction": 0.15, "seed": 0},
        "model": {**model, "init": init},
        "preprocess": {**REFERENCE["preprocess"], "size": size},
        "augment": REFERENCE["augment"],
        "optim": {**REFERENCE["optim"], "epochs": epochs, "patience": 0, "warmup_epochs": 0.5,
                  "threads": 1,
                  "lr": 0.001 if init else REFERENCE["optim"]["lr"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=310)
    parser.add_argument("--site", default="site_c")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lite0-size", type=int, nargs=2, default=[256, 64])
    parser.add_argument("--run-folder", type=Path, default=ROOT / "runs" / "reference")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "transfer")
    parser.add_argument("--arms", nargs="*", default=None,
                        help="substrings selecting arms (e.g. scratch imagenet); default all")
    args = parser.parse_args()
    from osteoscan.simulate import write_cohort
    from osteoscan.training import read_card, resolve_config, train

    cohort = ROOT / "runs" / "transfer-cohort"
    manifest = cohort / "manifest.csv"
    if not manifest.is_file():
        write_cohort(cohort, args.n, seed=77, sites=(args.site,), workers=1)
    out = ROOT / "benchmarks" / "results" / "transfer.json"
    done = json.loads(out.read_text())["arms"] if out.is_file() else []
    for name, model, init in arms(args.run_folder):
        if args.arms and not any(a in name for a in args.arms):
            continue
        size = args.lite0_size if model["name"] == "efficientnet_lite0" else REFERENCE["preprocess"]["size"]
        cfg = resolve_config(config(model, init, args.epochs, list(size), manifest))
        t0 = time.perf_counter()
        run = train(cfg, args.out / name.replace(" / ", "_").replace(" ", "_"))
        card = read_card(run)
        row = {"arm": name, "init": init, "input": list(size),
               "test_auc": card.metrics.get("test_auc"), "val_auc": card.metrics.get("val_auc"),
               "best_epoch": card.training.get("best_epoch"),
               "train_studies": card.data["train"]["n"], "seconds": time.perf_counter() - t0}
        done = [r for r in done if r["arm"] != name] + [row]
        out.write_text(json.dumps({"site": args.site, "n": args.n, "epochs": args.epochs,
                                   "cohort_seed": 77, "arms": done}, indent=2))
        print(json.dumps(row))


if __name__ == "__main__":
    main()
