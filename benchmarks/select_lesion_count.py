"""Choose and test the saddle fraction that joins one lesion's candidates for counting
(docs/lesions.md, "Lesion counts: one metastasis, several lesions": the rule, written first).

``--stage select``: the 300 selection studies (seeds 400000-400199 and 450000-450099 on
``select_detector.SELECT``), re-simulated, candidates as ``analyze`` finds them; per fraction
(and no joining) the count error, the metastases counted more than once and those lost to
joining; the rule's choice. ``--stage test --fraction F``: the three test sites (80 studies
each, seeds 700000-700079), once, F against no joining, with a patient-bootstrap 95 % CI of
the paired difference in mean absolute count error. Per-study rows are cached in ``--work``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_lesion_count \\
        --stage select --work /tmp/lesion-count
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
FRACTIONS = (0.6, 0.7, 0.8, 0.9)
NONE = "none"


def _units(joined: np.ndarray, groups: list[np.ndarray], tid: np.ndarray, mal: set) -> list:
    """Counted lesions: per id of ``joined`` over the malignant groups, the metastases its
    groups were each assigned (majority malignant ``tid`` of the group's candidates)."""
    units: dict[int, list[int]] = {}
    for members in groups:
        ids = [int(t) for t in tid[members] if int(t) in mal]
        units.setdefault(int(joined[members[0]]), []).append(
            Counter(ids).most_common(1)[0][0] if ids else 0)
    return list(units.values())


def study_row(det, sim) -> dict:
    """What the rule needs of one study: per arm, the counted lesions' assigned metastases."""
    from osteoscan.lesions.candidates import count_normalised, scan_candidates
    from osteoscan.lesions.detector_records import _truth, in_masks
    from osteoscan.lesions.lesion_count import components, saddle_ratios

    arr, hotspots = det.arrays(sim.scan)
    st = det.stages(arr)
    d = det.decide(arr, st["probability"], st["codes"], st["stack"])
    mal = {int(les.id) for les in sim.lesions if les.malignant}
    row = {"label": int(bool(mal)), "true": int(len(in_masks(sim.lesion_masks, mal))),
           "positive": bool(d["positive"]), "arms": {}}
    if not d["positive"]:
        return row
    scan, gain = count_normalised(sim.scan, det.card["count_band"], with_gain=True)
    hot, maps = scan_candidates(scan, gain=gain)
    views = [v for v in ("anterior", "posterior") if v in hot]
    if sum(len(hot[v]) for v in views) != len(arr.group):
        raise RuntimeError("candidates differ from the detector's")
    ratios, start = [], 0
    for v in views:
        ratios += [(i + start, j + start, r) for (i, j), r in
                   saddle_ratios(hot[v], maps[v].z, maps[v].background, maps[v].labels).items()]
        start += len(hot[v])
    tid = _truth(hotspots, sim.lesion_masks, mal)[0]
    groups = [np.flatnonzero(arr.group == g) for g in np.unique(arr.group[d["malignant"]])]
    for f in (NONE, *FRACTIONS):
        pairs = np.array([(i, j) for i, j, r in ratios if f != NONE and r >= f], int)
        joined = components(arr.group, pairs)
        row["arms"][str(f)] = _units(joined, groups, tid, mal)
    return row


def figures(rows: list[dict], arm: str) -> dict:
    """Count error, metastases counted more than once and lost to joining, for one arm."""
    called = [r for r in rows if r["positive"]]
    err = np.array([len(r["arms"][arm]) - r["true"] for r in called], float)
    per_met: Counter = Counter()
    lost = hit = 0
    for r in called:
        for unit in r["arms"][arm]:
            mets = {m for m in unit if m}
            lost += max(len(mets) - 1, 0)
            for m in mets:
                per_met[m, id(r)] += 1
        hit += len({m for unit in r["arms"][arm] for m in unit if m})
    counts = Counter(per_met.values())
    normals = [len(r["arms"][arm]) if r["positive"] else 0 for r in rows if not r["label"]]
    return {"studies_called": len(called), "mean_abs_error": float(np.abs(err).mean()),
            "mean_error": float(err.mean()), "metastases_hit": hit,
            "counted_more_than_once": int(sum(v for k, v in counts.items() if k > 1)),
            "lost_to_joining": lost, "lost_share": lost / hit if hit else 0.0,
            "normals_with_2_or_more": float(np.mean(np.array(normals) >= 2)) if normals else 0.0}


def choose(table: dict) -> dict:
    """The rule: smallest mean absolute error among fractions losing <= 2 % of the metastases
    hit; adopted only if it is at least 0.2 below no joining."""
    ok = [f for f in FRACTIONS if table[str(f)]["lost_share"] <= 0.02]
    if not ok:
        return {"chosen": None, "adopted": False}
    best = min(ok, key=lambda f: table[str(f)]["mean_abs_error"])
    gain = table[NONE]["mean_abs_error"] - table[str(best)]["mean_abs_error"]
    return {"chosen": best, "gain": gain, "adopted": bool(gain >= 0.2)}


def paired_ci(rows: list[dict], arm: str, n_boot: int = 2000) -> dict:
    """Patient-bootstrap 95 % CI of the paired difference in mean |count error| (arm minus
    no joining), over the studies called metastatic."""
    from osteoscan.evaluation.statistics import bootstrap_block

    called = [r for r in rows if r["positive"]]
    a = np.array([abs(len(r["arms"][arm]) - r["true"]) for r in called], float)
    b = np.array([abs(len(r["arms"][NONE]) - r["true"]) for r in called], float)

    def statistic(w):
        return {"diff": (w * (a - b)).sum(1) / w.sum(1)}

    return bootstrap_block(statistic, np.arange(len(called)).astype(str), n_boot=n_boot)["diff"]


def _rows(det, plan: list[tuple[str, int]], work: Path) -> list[dict]:
    from osteoscan.simulate.study import simulate_study

    rows = []
    for site, seed in plan:
        path = work / f"{site}-{seed}.json"
        if path.is_file():
            rows.append(json.loads(path.read_text()))
            continue
        label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
        row = study_row(det, simulate_study(seed, site=site, force_label=label))
        path.write_text(json.dumps(row))
        rows.append(row)
    return rows


def main(argv=None) -> int:
    from benchmarks.select_detector import SELECT, TEST
    from osteoscan.artefacts import atomic_write_json
    from osteoscan.lesions.patient import bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", choices=("select", "test"), required=True)
    ap.add_argument("--fraction", type=float, default=None, help="test: the chosen fraction")
    ap.add_argument("--work", required=True, help="folder of per-study rows (resumable)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    work = Path(args.work) / args.stage
    work.mkdir(parents=True, exist_ok=True)
    det = bundled_detector_or_none()
    if args.stage == "select":
        seeds = list(range(400_000, 400_200)) + list(range(450_000, 450_100))
        plan = [(SELECT[i % len(SELECT)], s) for i, s in enumerate(seeds[:200])] + [
            (SELECT[i % len(SELECT)], s) for i, s in enumerate(seeds[200:])]
        rows = _rows(det, plan, work)
        table = {str(f): figures(rows, str(f)) for f in (NONE, *FRACTIONS)}
        result = {"stage": "select", "table": table, "rule": choose(table)}
    else:
        if args.fraction not in FRACTIONS:
            raise SystemExit(f"--fraction must be one of {FRACTIONS}")
        result = {"stage": "test", "fraction": args.fraction, "sites": {}}
        for site in TEST:
            rows = _rows(det, [(site, s) for s in range(700_000, 700_080)], work)
            result["sites"][site] = {
                "none": figures(rows, NONE), "joined": figures(rows, str(args.fraction)),
                "paired_mean_abs_error_diff": paired_ci(rows, str(args.fraction))}
    out = args.out or str(RESULTS / f"lesion_count_{args.stage}.json")
    atomic_write_json(out, result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
