"""A try, not in the code: does mapping a site's candidate features onto the simulator's, fitted
on the site's unlabelled studies, let the shipped bundle read that site
(docs/independent-sites.md, "Mapping a site's candidates onto the simulator's")?

For each column of :data:`MAPPED` the monotone map sends the cohort's distribution of that
column (all candidates of all its studies; no label read) onto the same column's distribution
over osteoscan's balanced selection studies 400000-400199 (:class:`QuantileMap`). The shipped
bundle scores the mapped candidates (arm ``mapped``) and the unmapped ones (``all``) on the
same studies, paired. Osteoscan's own studies (``--own-start``, ``--n-own``) get the same
treatment from their records (the map fitted on those studies). Nothing is saved but the JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.try_site_mapping --cache /tmp/rec/s12 \\
        --data z=Z/manifest.csv --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

MAPPED = ("peak_ratio", "sym_ratio", "vert_ratio", "other_ratio", "other_rel", "soft_rel",
          "kidney_rel", "view_candidates", "row_neighbours")
"""The appearance columns mapped; positions, sizes and shapes are not (regions and BSI read
them)."""

LEVELS = np.linspace(0.0, 1.0, 1001)


class QuantileMap:
    """Per column of :data:`MAPPED`: the source's quantiles and the target's at
    :data:`LEVELS`; a value goes to the target quantile of its source level (linear between
    quantiles; ties in the source take their levels' mean)."""

    def __init__(self, source: np.ndarray, target: np.ndarray):
        from osteoscan.lesions.context import FEATURES

        self.cols = [FEATURES.index(c) for c in MAPPED]
        self.src, self.tgt = [], []
        for c in self.cols:
            q = np.quantile(source[:, c], LEVELS)
            uq, inv = np.unique(q, return_inverse=True)
            self.src.append((uq, np.bincount(inv, LEVELS) / np.bincount(inv)))
            self.tgt.append(np.quantile(target[:, c], LEVELS))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = X.copy()
        for c, (xs, lv), qt in zip(self.cols, self.src, self.tgt, strict=True):
            out[:, c] = np.interp(np.interp(X[:, c], xs, lv), LEVELS, qt)
        return out


def mapped(det, qmap: QuantileMap):
    """``det`` (a :func:`benchmarks.try_structure_features.sharing` detector) whose candidates'
    :data:`MAPPED` columns go through ``qmap``."""

    class Mapped(type(det)):
        def arrays(self, scan, force=None):
            arr, hot = super().arrays(scan, force)
            return replace(arr, X=qmap(arr.X)), hot

    return Mapped(**{f: getattr(det, f) for f in det.__dataclass_fields__})


def _reference(cache: str) -> np.ndarray:
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions.detector_records import simulated_records

    recs = simulated_records(SELECT, range(400000, 400200), cache, count_band=BAND,
                             uptake_balance=True)
    return np.concatenate([r["X"] for r in recs])


def own_block(det, target: np.ndarray, args) -> dict:
    """The bundle with and without the map on osteoscan's own studies (records)."""
    from benchmarks.bench_lowcount import compare, per_study
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions.detector_records import simulated_records

    own = simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                            args.cache, count_band=BAND)
    qmap = QuantileMap(np.concatenate([r["X"] for r in own]), target)
    base = per_study(det, own, "legacy")
    moved = per_study(det, [{**r, "X": qmap(r["X"])} for r in own], "legacy")
    return compare(moved, base, moved, base, own, args.n_boot)


def site_block(det, target: np.ndarray, manifest: Path, args) -> dict:
    """Two passes over a cohort: its candidates for the map, then both arms, paired."""
    from benchmarks.bench_foreign import _stream
    from benchmarks.try_structure_features import sharing
    from osteoscan.lesions.scoring import figures, outcome, paired

    failures: list = []
    source = np.concatenate([det.arrays(st.scan)[0].X
                             for st in _stream(manifest, args.limit, failures)])
    shared = sharing(det)
    arms = {"all": shared, "mapped": mapped(shared, QuantileMap(source, target))}
    outs: dict = {k: [] for k in arms}
    for st in _stream(manifest, args.limit, []):
        for k, d in arms.items():
            outs[k].append(outcome(d, st))
    block = {k: figures(o, n_boot=args.n_boot) for k, o in outs.items()}
    block["mapped_minus_all"] = paired(outs["mapped"], outs["all"], n_boot=args.n_boot)
    return {**block, "failures": failures, "candidates": int(len(source))}


def main(argv=None) -> int:
    from benchmarks.try_phantom_training import _pairs
    from osteoscan.lesions.patient import bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="osteoscan's records (plain and -bal)")
    ap.add_argument("--data", nargs="+", default=[], help="NAME=MANIFEST cohorts, in order")
    ap.add_argument("--own-start", type=int, default=460000)
    ap.add_argument("--n-own", type=int, default=400)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    det, target = bundled_detector_or_none(), _reference(args.cache)
    out: dict = {"mapped": list(MAPPED), "foreign": {}}
    for site, manifest in _pairs(args.data).items():  # JSON after each cohort
        out["foreign"][site] = site_block(det, target, manifest, args)
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))
        f = out["foreign"][site]
        logging.info("%s: AUC %.3f -> %.3f", site, f["all"]["patient"]["auc"],
                     f["mapped"]["patient"]["auc"])
    if args.n_own:
        out["own"] = own_block(det, target, args)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
