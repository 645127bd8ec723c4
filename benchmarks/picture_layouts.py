"""Patient AUC of two detectors per capture layout, from ``bench_site_threshold``'s score caches.

``bench_site_threshold`` scores every study of a capture manifest once per detector and caches
the scores as JSON per manifest (``--cache``). This reads two such caches for the same
manifests and splits each cohort by the manifest's ``layout`` column (the simulator's capture
layouts: plain, black, framed, spots, laterals, header, wide): per cohort and layout, and per
layout over all the cohorts given, both detectors' AUC with DeLong 95 % CIs and the paired
DeLong difference (docs/independent-sites.md, "The picture variant trained on captures read
back"). Nothing is scored here.

    python -m benchmarks.picture_layouts OUT.json --a /tmp/s17/scores-bundle \\
        --b /tmp/s17/scores-cappic own=/tmp/s16/cap13-158fix/manifest.csv ...
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_json
from osteoscan.evaluation.statistics import delong_ci, delong_roc_test


def _cached(cache: Path, manifest: Path) -> dict[str, tuple[int, float]]:
    """study id -> (label, probability) from a ``bench_site_threshold`` cache."""
    from benchmarks.bench_site_threshold import scores

    return {s.study_id: (s.label, s.probability) for s in scores(None, manifest, cache)}


def _auc(y: np.ndarray, p: np.ndarray) -> dict:
    if len(set(y.tolist())) < 2:
        return {"auc": None, "n": int(len(y))}
    auc, lo, hi = delong_ci(y, p)
    return {"auc": float(auc), "ci": [float(lo), float(hi)], "n": int(len(y))}


def compared(y: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> dict:
    """Both AUCs and the paired DeLong difference b - a."""
    out = {"a": _auc(y, pa), "b": _auc(y, pb)}
    if out["a"]["auc"] is not None:
        test = delong_roc_test(y, pb, pa)
        out["difference"] = {k: float(v) for k, v in test.items()
                             if isinstance(v, (int, float, np.floating))}
    return out


def rows(manifest: Path, a: Path, b: Path) -> list[tuple[str, int, float, float]]:
    """(layout, label, p_a, p_b) of every study both caches scored."""
    sa, sb = _cached(a, manifest), _cached(b, manifest)
    with manifest.open(newline="") as fh:
        layouts = {r["study_id"]: r.get("layout") or "-" for r in csv.DictReader(fh)}
    return [(layouts.get(k, "-"), y, p, sb[k][1]) for k, (y, p) in sa.items() if k in sb]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("cohorts", nargs="+", help="NAME=MANIFEST")
    ap.add_argument("--a", type=Path, required=True, help="score cache of detector a (baseline)")
    ap.add_argument("--b", type=Path, required=True, help="score cache of detector b")
    args = ap.parse_args(argv)
    result, pooled = {"a": str(args.a), "b": str(args.b), "cohorts": {}}, []
    for spec in args.cohorts:
        name, manifest = spec.split("=", 1)
        got = rows(Path(manifest), args.a, args.b)
        pooled += got
        result["cohorts"][name] = _by_layout(got)
    result["pooled"] = _by_layout(pooled)
    atomic_write_json(args.out, result)
    for layout, r in result["pooled"].items():
        print(f"{layout:9s} n={r['a']['n']:4d}  a {r['a']['auc'] or float('nan'):.3f}  "
              f"b {r['b']['auc'] or float('nan'):.3f}")
    return result


def _by_layout(got: list) -> dict:
    layouts = sorted({g[0] for g in got})
    out = {}
    for layout in [*layouts, "all"]:
        sel = [g for g in got if layout in ("all", g[0])]
        y, pa, pb = (np.array([g[i] for g in sel]) for i in (1, 2, 3))
        out[layout] = compared(y, pa, pb)
    return out


if __name__ == "__main__":
    main()
