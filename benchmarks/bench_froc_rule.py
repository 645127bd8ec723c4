"""The shipped detector's FROC on the held-out test sites under the documented hit rule and
under the rule before it, once (docs/lesions.md, "Where the missed metastases go").

The same detector and the same records (site_c, profile_7, profile_13; 80 studies each,
seeds 700000-700079, made with the card's count band as ``analyze`` makes them, by this code
so that they carry ``hit_id`` and ``mask_ids``): per site, every figure of
``bench_detector.score_detector`` (the FROC under ``standard``, ``froc_metastasis_legacy``
beside it; patient AUC, specificity, normals and BSI do not depend on the rule) and the
sensitivity at 1 FP per scan and CPM of each rule with a patient-bootstrap 95 % CI and the
paired difference (``diagnose_froc_gap.rule_differences``, the same resamples).

Run (about 1.5 s per study, one thread)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_froc_rule --cache DIR

Writes ``benchmarks/results/froc_rule_test.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SITES = ("site_c", "profile_7", "profile_13")
TEST_SEED = 700_000


def score_site(det, records) -> dict:
    """All figures and the two rules' paired comparison on one site's records."""
    from benchmarks.bench_detector import score_detector
    from benchmarks.diagnose_froc_gap import rule_differences
    from osteoscan.lesions.detector_records import froc_matches
    from osteoscan.lesions.detector_train import arrays

    capped = []
    for rec in records:
        arr = arrays(rec)
        st = det.stages(arr)
        capped.append(det.decide(arr, st["probability"], st["codes"], st["stack"])["capped"])
    figures = score_detector(det, records)
    figures.pop("probabilities")
    rules = {rule: froc_matches(records, capped, rule) for rule in ("legacy", "standard")}
    return {"figures": figures, "rules": rule_differences(rules)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="records of this code (made when missing)")
    ap.add_argument("--n-test", type=int, default=80)
    ap.add_argument("--out", default=str(RESULTS / "froc_rule_test.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    band = tuple(det.card["count_band"])
    seeds = range(TEST_SEED, TEST_SEED + args.n_test)
    result = {"config": vars(args), "count_band": band}
    for site in SITES:
        result[site] = score_site(det, simulated_records([site], seeds, args.cache,
                                                         count_band=band))
        print(site, json.dumps(result[site]["rules"], default=float), flush=True)
    atomic_write_text(args.out, dumps_json(result, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
