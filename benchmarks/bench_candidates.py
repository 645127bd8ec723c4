"""Recall of the candidate stage: which true lesions does at least one candidate touch?

For every simulated study, :func:`osteoscan.lesions.candidates.scan_candidates` is run and
each true lesion is "found" when a candidate's mask overlaps its mask on either view (the
hit rule of the FROC, docs/lesions.md). Recall of malignant and of benign lesions, split by
kind (hot metastasis, cold metastasis, superscan focus), contrast (lesion / host bone),
nominal radius and region, and candidates per scan. Seeds as in ``bench_detector``'s cohorts
(``--seed-start``), so a run on site_c looks at the test studies, a run on site_b at the
selection studies.

Each site is run twice in the same run: the candidates as shipped ("now") and as before the
significance test ("before": the 150 highest-scoring seeds per view,
``min_significance=0, max_count=150``).

Run (about 1 s per study and arm)::

    .venv/bin/python -m benchmarks.bench_candidates --site site_a site_b profile_0 --n 40

Writes ``benchmarks/results/candidates.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"

CONTRAST_BINS = (0.0, 1.0, 2.0, 3.0, 5.0, np.inf)
RADIUS_BINS = (0.0, 6.0, 10.0, 15.0, np.inf)
ARMS = {"now": {}, "before": {"min_significance": 0.0, "max_count": 150}}
"""Candidate settings compared in one run (:func:`osteoscan.lesions.candidates.seeds`)."""


def _bin(value: float, edges) -> str:
    k = int(np.searchsorted(edges, value, side="right")) - 1
    hi = edges[k + 1]
    return f"{edges[k]:g}-{hi:g}" if np.isfinite(hi) else f">={edges[k]:g}"


def study_rows(sim, hot) -> list[dict]:
    """One row per true lesion: its attributes and whether a candidate touches it."""
    found: set[int] = set()
    for view, hs in hot.items():
        masks = sim.lesion_masks[view]
        for h in hs:
            found |= {int(i) for i in np.unique(masks[h.mask]) if i}
    return [{"malignant": les.malignant, "kind": les.kind, "region": les.region,
             "contrast": _bin(les.contrast, CONTRAST_BINS),
             "radius": _bin(les.radius_mm, RADIUS_BINS), "found": les.id in found}
            for les in sim.lesions]


def recall_table(rows: list[dict]) -> dict:
    """Recall overall and per attribute, for malignant and benign lesions."""
    out = {}
    for name, sel in (("malignant", True), ("benign", False)):
        rs = [r for r in rows if r["malignant"] == sel]
        table = {"all": _recall(rs)}
        for key in ("kind", "contrast", "radius", "region"):
            groups = defaultdict(list)
            for r in rs:
                groups[r[key]].append(r)
            table[key] = {g: _recall(v) for g, v in sorted(groups.items())}
        out[name] = table
    return out


def _recall(rows: list[dict]) -> dict:
    n = len(rows)
    return {"n": n, "recall": float(np.mean([r["found"] for r in rows])) if n else None}


def run(site: str, seeds, prevalence: float = 0.5, **kw) -> dict:
    """Recall table and candidates per scan on one site's studies."""
    from osteoscan.lesions.candidates import scan_candidates
    from osteoscan.simulate.study import simulate_study

    rows, per_scan = [], []
    for seed in seeds:
        label = "metastasis" if np.random.default_rng(seed).random() < prevalence else "normal"
        sim = simulate_study(seed, site=site, force_label=label)
        hot, _ = scan_candidates(sim.scan, **kw)
        rows += study_rows(sim, hot)
        per_scan.append(sum(len(h) for h in hot.values()))
    return {"recall": recall_table(rows), "candidates_per_scan": {
        "median": float(np.median(per_scan)), "mean": float(np.mean(per_scan)),
        "max": int(np.max(per_scan))}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", nargs="+", default=["site_a"],
                    help="sites (not the test sites site_c, profile_7, profile_13 for choices)")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed-start", type=int, default=700_000)
    ap.add_argument("--out", default=str(RESULTS / "candidates.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json

    seeds = range(args.seed_start, args.seed_start + args.n)
    result = {"config": vars(args), "sites": {
        site: {arm: run(site, seeds, **kw) for arm, kw in ARMS.items()} for site in args.site}}
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(json.dumps({site: {arm: {"malignant_recall": r["recall"]["malignant"]["all"],
                                   "candidates_per_scan": r["candidates_per_scan"]}
                             for arm, r in arms.items()}
                      for site, arms in result["sites"].items()}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
