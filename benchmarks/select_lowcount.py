"""Selection of the detector's low-count BSI (docs/lesions.md, "Low counts"), on the selection
sites only (never a test site).

Arms: ``bundle`` (a detector folder, by default the bundled one), ``gate`` (its BSI from the
hotspots called malignant only, ``card["bsi_hotspots"] = "malignant"``), ``lowbsi`` (the
recipe refitted with the BSI trees also fitted on ``--n-low`` low-count training studies,
``augment_scan(..., "lowcount")`` recorded with the count band) and ``lowbsi+gate``. Each arm
is scored on the 200 selection studies as simulated, thinned to 0.3-0.4 M counts and
count-halved (:mod:`benchmarks.diagnose_lowcount`), and the rule written in the docs picks.

Run (records cached; the fit 5-10 min on a loaded core)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_lowcount \\
        --cache /tmp/lowcount/c --thinned-cache /tmp/lowcount/cache --save /tmp/lowcount/lowbsi
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
BAR = 0.3
"""|ΔBSI| repeatability bar of the count-halved copy (issue 16)."""


def arm_figures(det, native, low, half) -> dict:
    """One arm's figures on the three renderings of the selection studies."""
    from benchmarks.bench_detector import score_detector
    from benchmarks.diagnose_lowcount import bsi_parts

    out = {}
    for name, recs in (("native", native), ("low", low), ("half", half)):
        fig = score_detector(det, recs)
        out[name] = {"auc": fig["patient"]["auc"], "cpm": fig["froc_metastasis"]["cpm"],
                     "sens_at_1fp": fig["sens_at_1fp"], "bsi_r": fig["bsi"]["pearson_r"],
                     "bsi_bias": fig["bsi"]["bias"], "probabilities": fig["probabilities"]}
    bsi = {k: np.array([bsi_parts(det, r)["bsi"] for r in v])
           for k, v in (("native", native), ("low", low), ("half", half))}
    for k in ("low", "half"):
        d = np.abs(bsi[k] - bsi["native"])
        out[f"delta_{k}"] = {"mean": float(d.mean()), "p95": float(np.percentile(d, 95)),
                             "share_over_bar": float(np.mean(d > BAR)), "max": float(d.max())}
    return out


def rule(arms: dict) -> dict:
    """The rule of docs/lesions.md ("Low counts"), applied to :func:`arm_figures` of each arm."""
    b = arms["bundle"]
    verdict = {}
    for name, a in arms.items():
        if name == "bundle":
            continue
        eligible = (a["native"]["bsi_r"] >= b["native"]["bsi_r"] - 0.005
                    and abs(a["native"]["bsi_bias"]) <= abs(b["native"]["bsi_bias"]) + 0.05
                    and a["low"]["bsi_r"] >= b["low"]["bsi_r"] - 0.005)
        beats = eligible and (
            a["delta_half"]["share_over_bar"] <= b["delta_half"]["share_over_bar"]
            and a["delta_half"]["mean"] <= 0.9 * b["delta_half"]["mean"]
            and a["delta_low"]["mean"] <= 0.9 * b["delta_low"]["mean"])
        verdict[name] = {"eligible": bool(eligible), "beats_bundle": bool(beats)}
    order = ["gate", "lowbsi", "lowbsi+gate"]
    winners = [n for n in order if verdict.get(n, {}).get("beats_bundle")]
    if not winners:
        return {"verdict": verdict, "chosen": "bundle"}
    best = max(arms[n]["low"]["bsi_r"] for n in winners)
    near = [n for n in winners if arms[n]["low"]["bsi_r"] >= best - 0.005]
    low_delta = min(arms[n]["delta_half"]["mean"] for n in near)
    chosen = next(n for n in order if n in near and arms[n]["delta_half"]["mean"] == low_delta)
    return {"verdict": verdict, "chosen": chosen}


def gated(det):
    """The detector with its BSI from the hotspots called malignant only."""
    out = copy.copy(det)
    out.card = {**det.card, "bsi_hotspots": "malignant"}
    return out


def _fit_lowbsi(args, band):
    from benchmarks.select_detector import SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_train import fit_variants, simulated_records

    train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train), args.cache)
    extra = simulated_records(TRAIN, range(args.low_seed, args.low_seed + args.n_low), args.cache,
                              augment="lowcount", count_band=band)
    select = simulated_records(SELECT, range(400_000, 400_200), args.cache, count_band=band)
    return fit_variants(train, select, seed=args.seed, variants=("stack_bsi",),
                        bsi_extra=extra)["stack_bsi"]


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount import SELECT_SEED, lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_train import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="training and selection records")
    ap.add_argument("--thinned-cache", required=True, help="low-count and halved records")
    ap.add_argument("--bundle", default=None, help="the baseline detector (default: bundled)")
    ap.add_argument("--lowbsi", default=None, help="a fitted lowbsi detector (else fitted)")
    ap.add_argument("--save", default=None, help="folder for the fitted lowbsi detector")
    ap.add_argument("--n-train", type=int, default=3600)
    ap.add_argument("--n-low", type=int, default=1200)
    ap.add_argument("--low-seed", type=int, default=990_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS / "lowcount_select.json"))
    args = ap.parse_args(argv)
    bundle = HotspotDetector.load(args.bundle) if args.bundle else bundled_detector_or_none()
    band = tuple(bundle.card["count_band"])
    if args.lowbsi:
        lowbsi = HotspotDetector.load(args.lowbsi)
    else:
        lowbsi = _fit_lowbsi(args, band)
        lowbsi.card["count_band"] = list(band)
        if args.save:
            lowbsi.save(args.save)
    seeds = list(range(SELECT_SEED, SELECT_SEED + 200))
    native = simulated_records(SELECT, seeds, args.cache, count_band=band)
    low = lowcount_records(SELECT, seeds, args.thinned_cache, band, (0.3e6, 0.4e6))
    half = lowcount_records(SELECT, seeds, args.thinned_cache, band, None)
    arms = {name: arm_figures(det, native, low, half) for name, det in (
        ("bundle", bundle), ("gate", gated(bundle)), ("lowbsi", lowbsi),
        ("lowbsi+gate", gated(lowbsi)))}
    ref = arms["bundle"]["native"]["probabilities"]
    same = {n: bool(np.allclose(a["native"]["probabilities"], ref)) for n, a in arms.items()}
    result = {"config": vars(args), "same_decisions_as_bundle": same, "arms": arms, **rule(arms)}
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    brief = {n: {k: v for k, v in a.items() if k != "probabilities"} for n, a in arms.items()}
    for a in brief.values():
        for r in ("native", "low", "half"):
            a[r] = {k: round(v, 4) for k, v in a[r].items() if k != "probabilities"}
    print(json.dumps({"same": same, "arms": brief, **rule(arms)}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
