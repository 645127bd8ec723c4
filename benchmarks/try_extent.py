"""The extent model against the bundle's hotspot BSI, same trees, same decisions
(docs/independent-sites.md, "The extent the hotspots miss"; rule written there first).

The bundled detector as shipped decides every study; the extent model
(:mod:`osteoscan.lesions.extent`) is fitted on fresh balanced studies of the training sites
(seeds ``--extent-start``..., which the detector's trees never saw) and only rescales the
BSI of studies decided metastatic. Scored on osteoscan's own selection-site studies (the
rule's cohort) and, with ``--test``, once on the three home test sites:

    OMP_NUM_THREADS=1 python -m benchmarks.try_extent --cache /tmp/rec/s12 \\
        --extent-cache /tmp/rec/s13ext --out benchmarks/results/extent_try.json
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

EXTENT_START = 140_000
"""First seed of the extent model's studies (training sites, balanced, count band)."""

HIGH, LOW = 2.0, 0.5
"""True BSI (percent) above which a study is extensive disease, at or below which it is
normal or nearly (the rule's two error groups)."""


def extent_records(cache: str, start: int, n: int) -> list[dict]:
    """The extent model's studies: seed ``start + i`` on ``TRAIN[i % len]``, balanced uptake
    and the count band, as the selection studies are made."""
    from benchmarks.select_detector import BAND, TRAIN
    from osteoscan.lesions.detector_records import simulated_records

    return simulated_records(TRAIN, range(start, start + n), cache, count_band=BAND,
                             uptake_balance=True)


def _mae_groups(bsi: np.ndarray, truth: np.ndarray, idx: np.ndarray) -> dict:
    b, t = bsi[idx], truth[idx]
    hi, lo = t > HIGH, t <= LOW
    return {"mae_high": float(np.abs(b - t)[hi].mean()) if hi.any() else np.nan,
            "mae_low": float(np.abs(b - t)[lo].mean()) if lo.any() else np.nan}


def score(new: dict, old: dict, records, n_boot: int) -> dict:
    """Paired figures (new minus old) with bootstrap CIs: :func:`bench_lowcount.compare`
    and the mean absolute BSI error of extensive and of (nearly) normal studies."""
    from benchmarks.bench_lowcount import compare
    from osteoscan.evaluation.statistics import bootstrap_replicates, percentile_interval

    out = compare(new, old, new, old, records, n_boot)
    truth = np.array([float(r["bsi"]) for r in records])
    a, b = np.asarray(new["bsi"]), np.asarray(old["bsi"])
    every = np.arange(len(records))

    def statistic(w):
        rows: dict = {}
        for k in range(w.shape[0]):
            idx = np.repeat(every, w[k].astype(int))
            ga, gb = _mae_groups(a, truth, idx), _mae_groups(b, truth, idx)
            for key in ga:
                rows.setdefault(key, []).append(ga[key] - gb[key])
        return {k: np.array(v) for k, v in rows.items()}

    reps = bootstrap_replicates(statistic, every, n_boot=n_boot, seed=1)
    pa, pb = _mae_groups(a, truth, every), _mae_groups(b, truth, every)
    for key in pa:
        out[key] = {"new": pa[key], "old": pb[key], "diff": pa[key] - pb[key],
                    "diff_ci95": list(percentile_interval(reps[key]))}
    out["n_high"], out["n_low"] = int((truth > HIGH).sum()), int((truth <= LOW).sum())
    return out


def adopted(own: dict) -> dict:
    """The rule (docs): BSI r up with its paired 95 % CI above -0.005, and the error on
    (nearly) normal studies up by at most 0.05 percentage points."""
    r = own["bsi_r"]["diff"]
    bars = {"bsi_r_up": r["value"] > 0, "bsi_r_ci_above_-0.005": r["ci95"][0] > -0.005,
            "mae_low_within_0.05": own["mae_low"]["diff"] <= 0.05}
    return {**bars, "adopted": all(bars.values())}


def run(args) -> dict:
    from benchmarks.bench_lowcount import per_study
    from benchmarks.select_detector import BAND, SELECT, TEST
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.extent import extent_rows, fit_extent
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    X, y = extent_rows(det, extent_records(args.extent_cache, args.extent_start, args.n_extent))
    logging.info("extent model: %d studies decided metastatic", len(X))
    new = replace(det, extent=fit_extent(X, y), picture=None)
    own = simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                            args.cache, count_band=BAND)
    s_new, s_old = per_study(new, own, "legacy"), per_study(det, own, "legacy")
    out = {"config": {"extent": [args.extent_start, args.n_extent], "fit_rows": len(X),
                      "own": [args.own_start, args.n_own], "n_boot": args.n_boot},
           "own": score(s_new, s_old, own, args.n_boot)}
    out["rule"] = adopted(out["own"])
    out["own_per_study"] = {"truth": [float(r["bsi"]) for r in own],
                            "new": [float(v) for v in s_new["bsi"]],
                            "old": [float(v) for v in s_old["bsi"]]}
    for site in TEST if args.test else ():
        recs = simulated_records([site], range(700000, 700080), args.cache, count_band=BAND)
        a, b = per_study(new, recs, "legacy"), per_study(det, recs, "legacy")
        out[f"test_{site}"] = score(a, b, recs, args.n_boot)
        out[f"test_{site}"]["per_study"] = {
            "truth": [float(r["bsi"]) for r in recs], "new": [float(v) for v in a["bsi"]],
            "old": [float(v) for v in b["bsi"]]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="records of the own and test studies")
    ap.add_argument("--extent-cache", required=True, help="records of the extent studies")
    ap.add_argument("--extent-start", type=int, default=EXTENT_START)
    ap.add_argument("--n-extent", type=int, default=2000)
    ap.add_argument("--own-start", type=int, default=460000)
    ap.add_argument("--n-own", type=int, default=400)
    ap.add_argument("--test", action="store_true", help="also score the three home test sites")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = run(args)
    Path(args.out).write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps({k: out[k] for k in ("rule",)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
