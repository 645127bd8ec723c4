"""Model selection for the detector, on the SELECT sites only (never a test site).

Fits the detector designs of :func:`osteoscan.lesions.detector_train.fit_variants`
(``one_stage``: the previous bundle's design; ``stack_rule``: with the second stage,
:mod:`osteoscan.lesions.stacking`; ``stack_bsi``: and the per-candidate BSI trees) on the
first ``n`` training studies for each ``--n-train``, calibrates each on the first half of
the selection cohort and scores it on the other half. Each is also scored on selection
records made with the count band ``[1.15, None]`` (``*_band``: as
``HotspotDetector.analyze`` makes them with that band; calibrated on banded records).

Training: :data:`TRAIN` (site_a and 41 generated profiles; study ``i``, seed 130000 + i, on
``TRAIN[i % 42]``; seeds 100000-102999 train the patch CNN, so they are left out). Selection: 200 studies, seeds 400000-400199, study ``i`` on
``SELECT[i % 5]`` (site_b and four generated profiles); studies 0-99 calibrate, 100-199 are
scored. Test profiles (site_c, profile_7, profile_13) appear nowhere here. Records are cached
as in ``bench_detector`` (the same files), so the build reuses them.

Run: ``.venv/bin/python -m benchmarks.select_detector --cache DIR --n-train 2000``;
writes ``benchmarks/results/detector_select.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

TRAIN = ("site_a", *(f"profile_{k}" for k in (0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12)),
         *(f"profile_{k}" for k in range(20, 50)))
"""Training sites: site_a and 41 generated profiles (none of them a selection or test site)."""

TRAIN_SEED = 130_000
"""First training seed (seeds 100000-102999 are the patch CNN's training studies)."""

SELECT = ("site_b", "profile_9", "profile_14", "profile_15", "profile_16")
"""Selection sites."""

TEST = ("site_c", "profile_7", "profile_13")
"""Test sites: never used here (listed so that a test can check the sets are disjoint)."""

BAND = (1.15, None)
"""The count band of the previous bundles (docs/robustness.md), set by hand on site_a."""

def _summary(r: dict) -> dict:
    return {"auc": r["patient"]["auc"], "auc_ci": r["patient"]["auc_ci"],
            "spec_at_sens90": r["patient"]["spec_at_sens90"],
            "cpm": r["froc_metastasis"]["cpm"], "sens_at_1fp": r["sens_at_1fp"],
            "bsi_r": r["bsi"]["pearson_r"], "bsi_r_ci": r["bsi"]["pearson_r_ci"],
            "normals": r["normals"], "at_threshold": r["sens_spec_at_threshold"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    ap.add_argument("--n-train", type=int, nargs="+", default=[2000])
    ap.add_argument("--no-band", action="store_true", help="skip the banded selection records")
    ap.add_argument("--band-only", action="store_true",
                    help="only the banded selection records (the build's calibration)")
    ap.add_argument("--out", default=str(RESULTS / "detector_select.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import copy

    from benchmarks.bench_detector import score_detector
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import calibrate, fit_variants

    seeds = range(400000, 400200)
    sel = {} if args.band_only else {"": simulated_records(SELECT, seeds, args.cache)}
    if not args.no_band:
        sel["_band"] = simulated_records(SELECT, seeds, args.cache, count_band=BAND)
    out = {"config": vars(args), "train": list(TRAIN), "select": list(SELECT)}
    for n in args.n_train:
        t = time.time()
        train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + n), args.cache)
        first = next(iter(sel))
        dets = fit_variants(train, sel[first][:100])
        for name, det in dets.items():
            for tag, records in sel.items():
                if tag != first:
                    det = copy.deepcopy(det)
                    calibrate(det, records[:100])
                key = f"{name}_{n}{tag}"
                out[key] = {**_summary(score_detector(det, records[100:])),
                            "train_studies": n, "fit_seconds": time.time() - t}
                print(key, json.dumps(out[key], default=float), flush=True)
        atomic_write_text(args.out, json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
