"""A site threshold set on a calibration cohort's normals, judged on a later cohort of the site.

The protocol and its rule are in docs/site-threshold.md (written before the run). Each site
gives two manifests, ``NAME=CALIBRATION=LATER``; the detector (the bundle, or ``--models``)
scores every study once through :func:`osteoscan.lesions.site_threshold.score_manifest`, the
user's path (cached as JSON per manifest), and nothing is trained:

1. the threshold from every normal of the calibration cohort at ``--max-fpr``, applied to
   the later cohort, beside the detector's own threshold on the same studies (exact McNemar);
2. ``--draws`` draws of n normals (``--sizes``) from the calibration cohort: the later
   cohort's share of normals called (mean, 5th, 95th percentile) and sensitivity.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_site_threshold \\
        --site site_x=/tmp/foreign-x/select/manifest.csv=/tmp/foreign-x/test/manifest.csv \\
        --cache /tmp/s15/scores --out benchmarks/results/site_threshold.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_json
from osteoscan.evaluation.statistics import delong_ci, delong_roc_test, mcnemar_test, \
    proportion_ci
from osteoscan.lesions import site_threshold as st


def cache_path(manifest: Path, cache: Path) -> Path:
    """Where :func:`scores` caches the scores of ``manifest`` (named by its resolved path)."""
    key = hashlib.sha1(str(manifest.resolve()).encode()).hexdigest()[:12]
    return cache / f"{manifest.parent.name}-{key}.json"


def scores(det, manifest: Path, cache: Path) -> list[st.Scored]:
    """Every labelled study of ``manifest`` scored by ``det`` (cached by the manifest's path)."""
    from osteoscan.io import read_manifest

    path = cache_path(manifest, cache)
    if path.is_file():
        return [st.Scored(**row) for row in json.loads(path.read_text())["scored"]]
    if det is None:
        raise SystemExit(f"{path}: no cached scores of {manifest} in the baseline cache")
    scored, failed = st.score_manifest(det, read_manifest(manifest))
    atomic_write_json(path, {"manifest": str(manifest), "failed": failed,
                             "scored": [vars(s) for s in scored]})
    return scored


def _share(called: np.ndarray) -> dict:
    k, n = int(called.sum()), len(called)
    return {"k": k, "n": n, "share": k / n if n else float("nan"), "ci": list(proportion_ci(k, n))}


def judged(cal: list[st.Scored], later: list[st.Scored], det, max_fpr: float,
           confidence: float | None = None) -> dict:
    """Part 1 of the protocol, per domain present in both cohorts."""
    out = {}
    for dom, t in st.thresholds(cal, max_fpr, confidence).items():
        t0 = st.for_domain(det, dom).decision_threshold
        rows = [s for s in later if s.domain == dom]
        p = np.array([s.probability for s in rows])
        y = np.array([s.label for s in rows])
        block = {"threshold": {"detector": t0, "site": t.threshold},
                 "calibration_normals": t.normals,
                 "expected_fpr_5_95": list(t.expected_fpr)}
        for name, lab in (("normals_called", 0), ("metastatic_called", 1)):
            a, b = p[y == lab] >= t0, p[y == lab] >= t.threshold
            block[name] = {"detector": _share(a), "site": _share(b),
                           "mcnemar": mcnemar_test(a, b)}
        out[dom] = block
    return out


def drawn(cal: list[st.Scored], later: list[st.Scored], domain: str, max_fpr: float,
          sizes: list[int], draws: int, seed: int, confidence: float | None = None) -> dict:
    """Part 2: thresholds from n normals of ``domain`` drawn from the calibration cohort."""
    normals = np.array([s.probability for s in cal if s.label == 0 and s.domain == domain])
    p = np.array([s.probability for s in later if s.domain == domain])
    y = np.array([s.label for s in later if s.domain == domain])
    rng = np.random.default_rng(seed)
    out = {}
    for n in (n for n in sizes if st.min_normals(max_fpr, confidence) <= n <= len(normals)):
        fpr, sens = [], []
        for _ in range(draws):
            t = st.site_threshold(rng.choice(normals, n, replace=False), max_fpr,
                                  confidence).threshold
            fpr.append(float(np.mean(p[y == 0] >= t)))
            sens.append(float(np.mean(p[y == 1] >= t)))
        out[str(n)] = {"fpr_mean": float(np.mean(fpr)),
                       "fpr_5_95": [float(q) for q in np.quantile(fpr, [0.05, 0.95])],
                       "sensitivity_mean": float(np.mean(sens))}
    return out


def splits(cal: list[st.Scored], later: list[st.Scored], domain: str, max_fpr: float,
           confidence: float | None, n_splits: int, seed: int) -> dict:
    """Part 3 (added after the rule's run, a diagnostic): the two cohorts' normals pooled and
    split again at random into calibration and later sets of the same sizes. The later
    share's spread under exchangeability, and how often it reaches the observed one."""
    a = [s.probability for s in cal if s.label == 0 and s.domain == domain]
    b = [s.probability for s in later if s.label == 0 and s.domain == domain]
    observed = float(np.mean(np.array(b) >= st.site_threshold(a, max_fpr, confidence).threshold))
    pool, rng, got = np.array(a + b), np.random.default_rng(seed), []
    for _ in range(n_splits):
        idx = rng.permutation(len(pool))
        t = st.site_threshold(pool[idx[:len(a)]], max_fpr, confidence).threshold
        got.append(float(np.mean(pool[idx[len(a):]] >= t)))
    return {"observed": observed, "mean": float(np.mean(got)),
            "range_95": [float(q) for q in np.quantile(got, [0.025, 0.975])],
            "p_at_least_observed": float(np.mean(np.array(got) >= observed - 1e-12))}


def ranking(later: list[st.Scored], baseline: list[st.Scored] | None) -> dict:
    """The later cohort's patient AUC (DeLong CI) and, with the ``baseline`` detector's scores
    of the same studies, the paired DeLong difference (this minus baseline)."""
    y = np.array([s.label for s in later])
    p = np.array([s.probability for s in later])
    auc, lo, hi = delong_ci(y, p)
    out = {"auc": auc, "auc_ci": [lo, hi]}
    if baseline is not None:
        other = {s.study_id: s.probability for s in baseline}
        q = np.array([other[s.study_id] for s in later])
        out["against_baseline"] = delong_roc_test(y, p, q)
    return out


def passes(site: dict, max_fpr: float, bar: float = 0.25) -> dict:
    """The rule of docs/site-threshold.md, per domain: (a) later share <= bar with its CI's
    upper end <= bar, (b) the n = 50 draws' mean share <= max_fpr + 0.03."""
    out = {}
    for dom, block in site["judged"].items():
        called = block["normals_called"]["site"]
        a = called["share"] <= bar and called["ci"][1] <= bar
        d50 = site["drawn"][dom].get("50")
        b = d50 is not None and d50["fpr_mean"] <= max_fpr + 0.03
        out[dom] = {"a": bool(a), "b": bool(b), "pass": bool(a and b)}
    return out


def _pct(share: dict) -> str:
    return f"{share['share']:.0%} ({share['ci'][0]:.0%}-{share['ci'][1]:.0%})"


def markdown(result: dict) -> str:
    """The docs' two tables: part 1 per site and domain, part 2 per site and n."""
    one = ["| site | domain | threshold: detector -> site | normals called: detector -> site "
           "| metastatic called: detector -> site | rule (a, b) |", "|---|---|---|---|---|---|"]
    two = ["| site | n normals | later normals called: mean (5th-95th) | sensitivity (mean) |",
           "|---|---|---|---|"]
    three = ["| site | later normals called | random splits: mean (95 % range) | P(>= observed) |",
             "|---|---|---|---|"]
    four = ["| site | later patient AUC (95 % CI) | minus the baseline's (95 % CI, DeLong p) |",
            "|---|---|---|"]
    for name, site in result["sites"].items():
        for dom, b in site["judged"].items():
            n, m, r = b["normals_called"], b["metastatic_called"], site["rule"][dom]
            one.append(f"| {name} | {dom} | {b['threshold']['detector']:.5g} -> "
                       f"{b['threshold']['site']:.5g} | {_pct(n['detector'])} -> {_pct(n['site'])}"
                       f" | {_pct(m['detector'])} -> {_pct(m['site'])} | "
                       f"{'yes' if r['a'] else 'no'}, {'yes' if r['b'] else 'no'} |")
            for k, d in site["drawn"][dom].items():
                two.append(f"| {name} ({dom}) | {k} | {d['fpr_mean']:.1%} ({d['fpr_5_95'][0]:.0%}"
                           f"-{d['fpr_5_95'][1]:.0%}) | {d['sensitivity_mean']:.0%} |")
            sp = site.get("splits", {}).get(dom)
            if sp:
                three.append(f"| {name} ({dom}) | {sp['observed']:.0%} | {sp['mean']:.1%} "
                             f"({sp['range_95'][0]:.0%}-{sp['range_95'][1]:.0%}) | "
                             f"{sp['p_at_least_observed']:.3f} |")
        r = site.get("ranking")
        if r:
            d = r.get("against_baseline")
            vs = (f"{d['auc_diff']:+.3f} ({d['diff_ci_low']:+.3f} to {d['diff_ci_high']:+.3f}, "
                  f"p {d['delong_p']:.2g})" if d else "-")
            four.append(f"| {name} | {r['auc']:.3f} ({r['auc_ci'][0]:.3f}-{r['auc_ci'][1]:.3f}) "
                        f"| {vs} |")
    tables = (one, two, three, four) if len(four) > 2 else (one, two, three)
    return "\n\n".join("\n".join(t) for t in tables)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", type=Path, help="print the tables of a result JSON and stop")
    ap.add_argument("--site", action="append", help="NAME=CALIBRATION=LATER")
    ap.add_argument("--models", type=Path, default=None, help="a detector folder (default: bundle)")
    ap.add_argument("--max-fpr", type=float, default=0.10)
    ap.add_argument("--confidence", type=float, default=None)
    ap.add_argument("--sizes", default="10,25,50,100")
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--baseline-cache", type=Path, default=None,
                    help="another detector's score cache of the same manifests: paired AUC")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.table:
        print(markdown(json.loads(args.table.read_text())))
        return {}
    if not (args.site and args.cache and args.out):
        ap.error("--site, --cache and --out are required (or --table)")
    from osteoscan.lesions.patient import bundled_detector_or_none, load_lesion_stage

    det = bundled_detector_or_none() if args.models is None else load_lesion_stage(args.models)
    sizes = [int(s) for s in args.sizes.split(",")]
    result = {"max_fpr": args.max_fpr, "confidence": args.confidence, "draws": args.draws,
              "sites": {}}
    for spec in args.site:
        name, cal_path, later_path = spec.split("=")
        cal, later = (scores(det, Path(p), args.cache) for p in (cal_path, later_path))
        site = {"calibration": cal_path, "later": later_path,
                "judged": judged(cal, later, det, args.max_fpr, args.confidence)}
        site["drawn"] = {dom: drawn(cal, later, dom, args.max_fpr, sizes, args.draws, args.seed,
                                    args.confidence) for dom in site["judged"]}
        site["rule"] = passes(site, args.max_fpr)
        base = scores(None, Path(later_path), args.baseline_cache) if args.baseline_cache else None
        site["ranking"] = ranking(later, base)
        site["splits"] = {dom: splits(cal, later, dom, args.max_fpr, args.confidence, 2000,
                                      args.seed) for dom in site["judged"]}
        result["sites"][name] = site
        print(name, json.dumps(site, default=float)[:600])
    atomic_write_json(args.out, result, default=float)
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
