"""Lesion-stage training on a small simulated cohort: quality and time, for before/after checks.

Trains the three lesion networks with ``osteoscan.lesions.training`` (hotspot U-Net, region
U-Net, patch+context classifier) at a reduced size on ``--n`` simulated studies of site_a and
site_b (seeds ``--seed``...), then computes the card figures of ``osteoscan.lesions.figures``
on ``--n-eval`` studies of the external site_c (seeds 20000..., never seen in training), with
patient-bootstrap 95 % CIs. One thread, fixed seeds: two code states run on the same data.

Run: ``.venv/bin/python -m benchmarks.bench_lesion_training --tag after``; the JSON goes to
``benchmarks/results/lesion_training_<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate, write the JSON."""
    import torch

    from osteoscan.lesions.figures import classifier_figures, hotspot_figures, region_figures
    from osteoscan.lesions.pipeline import simulate_studies
    from osteoscan.lesions.training import (
        classifier_samples, fit_classifier, train_regions, train_segmenter,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--n-eval", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--tag", default="after")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    train = simulate_studies(args.n, args.seed, sites=("site_a", "site_b"))
    held = simulate_studies(args.n_eval, 20_000, sites=("site_c",))
    chans = (8, 16, 32, 64)
    times = {}
    t = time.perf_counter()
    seg = train_segmenter(train, work_shape=(256, 64), channels=chans, epochs=args.epochs, crop=64,
                          seed=args.seed)
    times["hotspot_unet"] = time.perf_counter() - t
    t = time.perf_counter()
    reg = train_regions(train, work_shape=(128, 32), channels=chans, epochs=args.epochs, seed=args.seed)
    times["region_unet"] = time.perf_counter() - t
    t = time.perf_counter()
    samples = classifier_samples(train, segmenter=seg, regions=reg)
    clf = fit_classifier(samples, epochs=args.epochs, seed=args.seed, width=8)
    times["lesion_classifier"] = time.perf_counter() - t
    out = {
        "tag": args.tag, "train": {"n": args.n, "sites": ["site_a", "site_b"], "seed": args.seed},
        "held_out": {"n": args.n_eval, "site": "site_c", "seeds": f"20000-{20000 + args.n_eval - 1}"},
        "epochs": args.epochs, "threads": 1,
        "final_loss": {"hotspot_unet": seg.card["training"]["final_loss"],
                       "region_unet": reg.card["training"]["final_loss"]},
        "hotspot_threshold": seg.card["threshold"], "classifier_samples": int(len(samples["y"])),
        "figures": {"hotspot_unet": hotspot_figures(seg, held), "region_unet": region_figures(reg, held),
                    "lesion_classifier": classifier_figures(clf, held)},
        "train_seconds": times,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"lesion_training_{args.tag}.json"
    path.write_text(json.dumps(out, indent=2, default=float))
    print(json.dumps(out["figures"], indent=1, default=float))
    return out


if __name__ == "__main__":
    main()
