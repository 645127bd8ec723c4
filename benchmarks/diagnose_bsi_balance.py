"""A diagnosis, not in the code: where does the BSI of a detector fitted with the uptake
balance lose accuracy on osteoscan's own studies (docs/independent-sites.md, "What the three
looks say together")?

Fits the ``--arms`` (default ``all`` and ``relative_var``) as
:mod:`benchmarks.try_structure_features` does (same records, seeds and calibration), scores
400 own studies from ``--own-start`` (default 410000, the second look's; the shipped
simulator, the card's count band), and reports per arm the BSI r, the r without the studies
of the top 5 % of true BSI, the mean error by quintile of the true BSI among the metastatic
studies and the five studies of largest error. With ``--reach`` also ``relative_var`` whose
BSI trees take how far each candidate's excess uptake reaches (design ``stack_bsi_reach``);
with ``--hotspots`` also each arm with the BSI of every candidate (card ``bsi_hotspots:
"all"``) instead of the called ones (docs, "Deciding on the issue's bars"). Nothing is saved
but the JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnose_bsi_balance \\
        --cache /tmp/rec/old --cache-var /tmp/rec/build
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def summary(truth: np.ndarray, pred: np.ndarray, label: np.ndarray) -> dict:
    """BSI r, r without the top 5 % of truth, and mean error by quintile of true BSI."""
    keep = truth <= np.quantile(truth, 0.95)
    pos = label == 1
    edges = np.quantile(truth[pos], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    q = np.clip(np.searchsorted(edges, truth[pos], side="right") - 1, 0, 4)
    return {"r": float(np.corrcoef(truth, pred)[0, 1]),
            "r_without_top5pct": float(np.corrcoef(truth[keep], pred[keep])[0, 1]),
            "quintiles": [{"true_range": [float(edges[k]), float(edges[k + 1])],
                           "mean_true": float(truth[pos][q == k].mean()),
                           "mean_error": float((pred[pos] - truth[pos])[q == k].mean())}
                          for k in range(5)],
            "normals_mean_bsi": float(pred[~pos].mean())}


def main(argv=None) -> int:
    from benchmarks.bench_lowcount import per_study
    from benchmarks.try_structure_features import fit_arms

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--cache-var", required=True)
    ap.add_argument("--n-train", type=int, default=3600)
    ap.add_argument("--reach", action="store_true",
                    help="also relative_var with BSI trees that take the reach (stack_bsi_reach)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results"
                    / "bsi_balance_diagnosis_reach.json")
    ap.add_argument("--arms", nargs="+", default=["all", "relative_var"],
                    help="arms of benchmarks.try_structure_features ('all' first)")
    ap.add_argument("--own-start", type=int, default=410000,
                    help="first own study scored (400 of them; 410000: the second look's)")
    ap.add_argument("--hotspots", action="store_true",
                    help="also each arm with the BSI of every candidate (bsi_hotspots 'all')")
    args = ap.parse_args(argv)
    args.n_own = 400
    dets, own = fit_arms(args, args.arms)
    if args.hotspots:  # the same trees, the BSI summed over every candidate's expected share
        for k in list(dets):
            dets[f"{k}_every"] = replace(dets[k], card={**dets[k].card, "bsi_hotspots": "all"})
    if args.reach:  # relative_var whose BSI trees also take the candidates' reach
        from benchmarks.select_detector import BAND, SELECT, TRAIN, TRAIN_SEED
        from benchmarks.try_structure_features import arms
        from osteoscan.lesions.detector_records import simulated_records
        from osteoscan.lesions.detector_train import fit_detector

        train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train),
                                  args.cache_var, uptake_balance=True)
        sel = simulated_records(SELECT, range(400000, 400100), args.cache_var,
                                count_band=BAND, uptake_balance=True)
        det = fit_detector(train, sel, design="stack_bsi_reach",
                           context_features=arms()["relative_var"].cols)
        det.card.update(bsi_hotspots="malignant", count_band=list(BAND))
        dets["relative_var_reach"] = det
    truth = np.array([float(r["bsi"]) for r in own])
    label = np.array([int(r["label"]) for r in own])
    out = {}
    for k, d in dets.items():
        s = per_study(d, own, "legacy")
        out[k] = summary(truth, np.asarray(s["bsi"]), label)
        worst = np.argsort(-np.abs(np.asarray(s["bsi"]) - truth))[:5]  # the largest errors
        out[k]["worst"] = [{"study": args.own_start + int(i), "true": float(truth[i]),
                            "bsi": float(s["bsi"][i]), "probability": float(s["prob"][i]),
                            "called": int(s["called"][i])} for i in worst]
    from osteoscan.artefacts import atomic_write_json

    atomic_write_json(args.out, out, default=float)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
