"""Which stack features make the second stage call far, unrelated candidates malignant
(docs/lesions.md, "The second stage's context"); selection sites only, never a test site.

On the selection studies (as simulated, and thinned to 0.3-0.4 M counts), the shipped
detector's second stage is re-scored with each stack column (or a group of them, jointly)
permuted across the pooled candidates. Counted at p >= 0.5 (the second stage's own
probability, before the patient cap): ``far_fp`` (candidates on no lesion in a metastatic
study), ``normal_fp`` (any candidate of a normal study), ``tp`` (on a malignant lesion).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.diagnose_stack \\
        --cache /tmp/lowcount/c2 --thinned-cache /tmp/lowcount/cache2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
GROUPS = {"study_all": ["study_max_p1", "study_top5_p1", "study_n_p50", "study_sum_p1",
                        "p1_rank", "p1_over_max"],
          "near_region": ["near_max_p1", "near_n_p50", "region_n_p50", "region_max_p1"]}
"""Columns permuted together, besides each column alone."""


def pooled(det, records) -> dict[str, np.ndarray]:
    """The candidates of ``records`` pooled: first-stage inputs, stack features, truth."""
    from osteoscan.lesions.detector_train import arrays

    parts = {k: [] for k in ("X", "S", "label", "tid", "y")}
    for rec in (r for r in records if len(r["X"])):
        arr = arrays(rec)
        p1 = det.forest.predict_proba(det.tree_inputs(arr))
        parts["X"].append(det.tree_inputs(arr))
        parts["S"].append(det.stack(arr, p1, det.codes(arr)))
        parts["label"].append(np.full(len(p1), int(rec["label"])))
        parts["tid"].append(rec["truth_id"])
        parts["y"].append(rec["y"])
    return {k: np.concatenate(v) for k, v in parts.items()}


def counts(p: np.ndarray, c: dict) -> dict:
    far, normal = (c["tid"] == 0) & (c["label"] == 1), c["label"] == 0
    return {"far_fp": int(((p >= 0.5) & far).sum()), "normal_fp": int(((p >= 0.5) & normal).sum()),
            "tp": int(((p >= 0.5) & (c["y"] == 1)).sum())}


def permutations(det, c: dict, seed: int = 0) -> dict:
    """:func:`counts` of the first stage, the second stage, and the second stage with each
    column or group permuted (one permutation per group, the same rows for its columns)."""
    from osteoscan.lesions.stacking import STACK_FEATURES

    cols = det.stack_columns
    score = lambda S: det.stage2.predict_proba(np.hstack([c["X"], S[:, cols]]))  # noqa: E731
    out = {"first_stage": counts(c["S"][:, 0], c), "second_stage": counts(score(c["S"]), c)}
    rng = np.random.default_rng(seed)
    for name, group in {**{n: [n] for n in STACK_FEATURES}, **GROUPS}.items():
        S, perm = c["S"].copy(), rng.permutation(len(c["S"]))
        for n in group:
            S[:, STACK_FEATURES.index(n)] = c["S"][perm, STACK_FEATURES.index(n)]
        out[f"permuted_{name}"] = counts(score(S), c)
    return out


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount import SELECT_SEED, lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="selection records (with the count band)")
    ap.add_argument("--thinned-cache", required=True, help="their 0.3-0.4 M renderings")
    ap.add_argument("--detector", default=None, help="a detector folder (default: bundled)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=str(RESULTS / "stack_diagnosis.json"))
    args = ap.parse_args(argv)
    det = HotspotDetector.load(args.detector) if args.detector else bundled_detector_or_none()
    band = tuple(det.card["count_band"])
    seeds = list(range(SELECT_SEED, SELECT_SEED + args.n))
    sets = {"native": simulated_records(SELECT, seeds, args.cache, count_band=band),
            "low": lowcount_records(SELECT, seeds, args.thinned_cache, band, (0.3e6, 0.4e6))}
    result = {"config": vars(args), **{k: permutations(det, pooled(det, v))
                                       for k, v in sets.items()}}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
