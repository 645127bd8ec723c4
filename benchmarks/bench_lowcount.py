"""The low-count BSI change against the shipped bundle on the held-out test sites, once
(docs/lesions.md, "Low counts"), with a count-halved copy of every test study.

Both detectors score the same records (site_c, profile_7, profile_13; 80 studies each, seeds
700000-700079, made with the card's count band as ``analyze`` makes them) and the same
studies count-halved (both views binomially thinned to 50 %,
:func:`benchmarks.diagnose_lowcount.lowcount_records`). Per site and detector: patient AUC
(DeLong 95 % CI; paired DeLong test new minus bundle), specificity at sensitivity 0.90, FROC
CPM, sensitivity at 1 FP per scan, BSI Pearson r, and the count-halved |ΔBSI| (mean and share
above 0.3), each with a patient-bootstrap 95 % CI and a paired bootstrap CI of the difference
(``osteoscan.evaluation.statistics.bootstrap_replicates``).

The shipped detector scores records made by the code it shipped with (``--bundle-cache``,
``--bundle-thinned-cache``: made with that code on ``PYTHONPATH``), the new one records of
this code. Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_lowcount \\
        --cache NEW --thinned-cache NEW_T --bundle SHIPPED_DIR --bundle-cache OLD \\
        --bundle-thinned-cache OLD_T --detector bundled
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
SITES = ("site_c", "profile_7", "profile_13")
TEST_SEED = 700_000
BAR = 0.3


def per_study(det, records, rule: str | None = None) -> dict:
    """Per study: patient probability, BSI, malignant hotspots called, FROC match (``rule``:
    ``bench_detector.froc_rule``, one for both detectors' records)."""
    from benchmarks.bench_detector import _froc_matches
    from osteoscan.lesions.detector_train import arrays

    out: dict = {"prob": [], "bsi": [], "called": [], "capped": []}
    for rec in records:
        arr = arrays(rec)
        st = det.stages(arr)
        d = det.decide(arr, st["probability"], st["codes"], st["stack"])
        for k, v in (("prob", d["probability"]), ("bsi", d["bsi"]),
                     ("called", len(d["malignant"])), ("capped", d["capped"])):
            out[k].append(v)
    out["match"] = _froc_matches(records, out.pop("capped"), rule)  # FROC truth, once per study
    return out


def _stats(s: dict, half: dict, records, idx: np.ndarray) -> dict:
    """Every figure on the studies ``idx`` (a bootstrap draw, repeats allowed)."""
    from osteoscan.evaluation.lesions import froc_score, specificity_at_sensitivity
    from osteoscan.evaluation.statistics import delong_ci

    y = np.array([int(records[i]["label"]) for i in idx])
    p = np.asarray(s["prob"])[idx]
    froc = froc_score([s["match"][i] for i in idx])
    bsi, truth = np.asarray(s["bsi"])[idx], np.array([float(records[i]["bsi"]) for i in idx])
    d = np.abs(np.asarray(half["bsi"])[idx] - bsi)
    two = len(np.unique(y)) == 2
    return {"auc": delong_ci(y == 1, p)[0] if two else np.nan,
            "spec_at_sens90": specificity_at_sensitivity(y, p, 0.90) if two else np.nan,
            "cpm": froc["cpm"], "sens_at_1fp": froc["sens@1"],
            "bsi_r": float(np.corrcoef(bsi, truth)[0, 1]) if bsi.std() > 0 else np.nan,
            "halved_dbsi_mean": float(d.mean()), "halved_dbsi_over_bar": float(np.mean(d > BAR))}


def compare(new: dict, old: dict, new_half: dict, old_half: dict, records, n_boot: int) -> dict:
    """Both detectors' figures with bootstrap CIs and paired differences (new minus old)."""
    from osteoscan.evaluation.statistics import (
        bootstrap_replicates,
        delong_ci,
        delong_roc_test,
        percentile_interval,
    )

    n = len(records)
    every = np.arange(n)
    point = {"new": _stats(new, new_half, records, every),
             "old": _stats(old, old_half, records, every)}

    def statistic(w):
        rows = {}
        for b in range(w.shape[0]):
            idx = np.repeat(every, w[b].astype(int))
            a, o = _stats(new, new_half, records, idx), _stats(old, old_half, records, idx)
            for k in a:
                for name, v in (("new", a[k]), ("old", o[k]), ("diff", a[k] - o[k])):
                    rows.setdefault(f"{name}:{k}", []).append(v)
        return {k: np.array(v) for k, v in rows.items()}

    reps = bootstrap_replicates(statistic, every, n_boot=n_boot, seed=0)
    out = {}
    for k in point["new"]:
        value = {**point, "diff": {k: point["new"][k] - point["old"][k]}}
        out[k] = {name: {"value": value[name][k],
                         "ci95": list(percentile_interval(reps[f"{name}:{k}"]))}
                  for name in ("new", "old", "diff")}
    y = np.array([int(r["label"]) for r in records])
    pn, po = np.asarray(new["prob"]), np.asarray(old["prob"])
    out["auc_delong"] = {"new": list(delong_ci(y == 1, pn)), "old": list(delong_ci(y == 1, po)),
                         "paired": delong_roc_test(y, pn, po)}
    called = {k: np.asarray(v["called"])[y == 0] for k, v in (("new", new), ("old", old))}
    out["normals"] = {k: {"median_malignant": float(np.median(c)),
                          "share_2plus": float(np.mean(c >= 2))} for k, c in called.items()}
    return out


def floor_compare(new_path: str, old_path: str, n_boot: int = 2000) -> dict:
    """``bench_robustness_floor`` of the new detector against the shipped one's run, on the
    patients both hold (the first ``n`` of the shipped run; renderings are seeded, so the
    same): failures of every bar per pair (k of n), each run with its own threshold."""
    from benchmarks.bench_robustness_floor import summarise_floor

    runs = {k: json.loads(Path(p).read_text()) for k, p in (("new", new_path), ("old", old_path))}
    n = min(len(r["records"]) for r in runs.values())
    out = {"patients": n}
    for k, r in runs.items():
        s = summarise_floor(r["records"][:n], r["decision_threshold"], n_boot)
        out[k] = {"detector": r["detector"], "decision_threshold": r["decision_threshold"],
                  **{kind: {name: {bar: row[f"{bar}_fail"]["k"] for bar in
                                   ("flip", "prob", "count", "bsi", "any")}
                            for name, row in s[kind].items()} for kind in ("repeat", "domain")}}
    return out


def main(argv=None) -> int:
    from benchmarks.bench_detector import froc_rule
    from benchmarks.diagnose_lowcount import lowcount_records
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", help="test records with the count band (required)")
    ap.add_argument("--thinned-cache", help="count-halved records (required)")
    ap.add_argument("--bundle", help="the shipped detector, a saved folder (required)")
    ap.add_argument("--bundle-cache", default=None,
                    help="the shipped detector's test records, made by its own code "
                         "(default: --cache)")
    ap.add_argument("--bundle-thinned-cache", default=None,
                    help="its count-halved records (default: --thinned-cache)")
    ap.add_argument("--detector", default="bundled", help="the new detector ('bundled')")
    ap.add_argument("--n-test", type=int, default=80)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=str(RESULTS / "lowcount_test.json"))
    ap.add_argument("--floor", nargs=2, default=None, metavar=("NEW", "OLD"),
                    help="only compare two bench_robustness_floor result files")
    args = ap.parse_args(argv)
    if args.floor:
        result = floor_compare(*args.floor)
        Path(args.out).write_text(json.dumps(result, indent=1, default=float))
        print(json.dumps(result, indent=1, default=float))
        return 0
    if not (args.cache and args.thinned_cache and args.bundle):
        ap.error("--cache, --thinned-cache and --bundle are required (or --floor NEW OLD)")
    new = (bundled_detector_or_none() if args.detector == "bundled"
           else HotspotDetector.load(args.detector))
    old = HotspotDetector.load(args.bundle)
    band = tuple(old.card["count_band"])
    seeds = list(range(TEST_SEED, TEST_SEED + args.n_test))
    result = {"config": vars(args), "count_band": band,
              "new_card": {k: new.card.get(k) for k in ("bsi_hotspots", "bsi_extra_studies")}}
    for site in SITES:
        recs = simulated_records([site], seeds, args.cache, count_band=band)
        half = lowcount_records([site], seeds, args.thinned_cache, band, None)
        old_recs = simulated_records([site], seeds, args.bundle_cache or args.cache,
                                     count_band=band)
        old_half = lowcount_records([site], seeds, args.bundle_thinned_cache
                                    or args.thinned_cache, band, None)
        if [int(r["label"]) for r in old_recs] != [int(r["label"]) for r in recs]:
            raise SystemExit(f"{site}: the two caches hold other studies")
        rule = froc_rule(recs + old_recs + half + old_half)  # the same rule for both
        result[site] = compare(per_study(new, recs, rule), per_study(old, old_recs, rule),
                               per_study(new, half, rule), per_study(old, old_half, rule),
                               recs, args.n_boot)
        result[site]["froc_rule"] = rule
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
