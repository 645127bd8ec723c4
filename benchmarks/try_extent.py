"""The extent model against the bundle's hotspot BSI, same trees, same decisions
(docs/independent-sites.md, "The extent the hotspots miss"; rule written there first).

The bundled detector as shipped decides every study; the extent model
(:mod:`osteoscan.lesions.study_level`) is fitted on fresh balanced studies of the training sites
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


ARMS = {"bal": (True,), "plain": (False,), "both": (True, False)}
"""The extent model's training studies per arm: the fresh training-site studies rendered
with each patient's uptake balance (as the trees' and the calibration's studies are),
without it (as the home test sites are), or both (docs, "The extent the hotspots miss")."""


def extent_records(cache: str, start: int, n: int, balance: tuple[bool, ...] = (True,)
                   ) -> list[dict]:
    """The extent model's studies: seed ``start + i`` on ``TRAIN[i % len]`` with the count
    band, rendered with and/or without the uptake balance (``balance``)."""
    from benchmarks.select_detector import BAND, TRAIN
    from osteoscan.lesions.detector_records import simulated_records

    return [r for bal in balance for r in simulated_records(
        TRAIN, range(start, start + n), cache, count_band=BAND, uptake_balance=bal)]


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
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.study_level import with_extent
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    own = simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                            args.cache, count_band=BAND)
    s_old = per_study(det, own, "legacy")
    out: dict = {"config": {"extent": [args.extent_start, args.n_extent], "arms": args.arms,
                            "own": [args.own_start, args.n_own], "n_boot": args.n_boot},
                 "own_per_study": {"truth": [float(r["bsi"]) for r in own],
                                   "old": [float(v) for v in s_old["bsi"]]}}
    fitted = {}
    for arm in args.arms:
        fitted[arm], n_rows = with_extent(
            replace(det, picture=None),
            extent_records(args.extent_cache, args.extent_start, args.n_extent, ARMS[arm]))
        logging.info("%s: %d studies decided metastatic", arm, n_rows)
        s_new = per_study(fitted[arm], own, "legacy")
        out[arm] = {"fit_rows": n_rows, "own": score(s_new, s_old, own, args.n_boot)}
        out[arm]["rule"] = adopted(out[arm]["own"])
        out["own_per_study"][arm] = [float(v) for v in s_new["bsi"]]
    passing = [a for a in args.arms if out[a]["rule"]["adopted"]]
    out["chosen"] = max(passing, key=lambda a: out[a]["own"]["bsi_r"]["new"]["value"],
                        default=None)
    if args.test and out["chosen"]:
        out.update(_tests(fitted[out["chosen"]], det, args))
    return out


def _tests(new, det, args) -> dict:
    """The chosen arm against the bundle on the three home test sites, once."""
    from benchmarks.bench_lowcount import per_study
    from benchmarks.select_detector import BAND, TEST
    from osteoscan.lesions.detector_records import simulated_records

    out = {}
    for site in TEST:
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
    ap.add_argument("--arms", nargs="+", choices=sorted(ARMS), default=["bal"])
    ap.add_argument("--test", action="store_true",
                    help="also score the chosen arm on the three home test sites")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = run(args)
    Path(args.out).write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps({"chosen": out["chosen"],
                      **{a: out[a]["rule"] for a in args.arms}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
