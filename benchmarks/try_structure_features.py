"""A try, not in the code: do references within the candidate's own structure, and training
data whose balance of uptake between the skeleton's parts varies, make the detector
transfer to an independent phantom (docs/independent-sites.md, "Structure references and
uptake balance (session 10)")?

Arms, each fitted alike on the bundle's recipe (``select_detector.TRAIN``, seeds from 130000,
``stack_bsi``, ``bsi_hotspots: "malignant"``, the card's count band) and calibrated on
selection studies 400000-400099 of its own simulator; they differ in the context columns the
trees take (:data:`ARMS`) and in the records:

* ``--cache`` (osteoscan's simulator as shipped): ``all`` (the 21 columns the bundle takes:
  the shipped recipe), ``relative`` (without ``peak_z``, ``mean_z``, ``band_rel``),
  ``structure`` (``relative`` plus ``col_rel``, ``contra_rel``, ``axial_rel``);
* ``--cache-var`` (the simulator with each patient's uptake balance,
  ``osteoscan.simulate.physiology.sample_uptake_balance``, ``simulate_study(...,
  uptake_balance=True)``, records cached as ``-bal``): ``all_var``, ``relative_var``,
  ``structure_var``, ``full_var`` (all 24 columns); ``relative_var_bsi``: ``relative_var``
  whose BSI trees take the 21 shipped columns (card ``bsi_features``; docs, "A third arm");
  ``relative_var_mix`` and ``relative_var_mix21``: ``relative_var`` and ``relative_var_bsi``
  whose BSI trees are also fitted on the shipped simulator's training records (``bsi_extra``,
  scored by the arm's own stages; docs, "Deciding on the issue's bars"). Session 10 made them before the balance
  was an option (untagged names, the same arrays: checked on two studies); linked as
  ``-bal`` they are what this script reads.

Scored on osteoscan's selection studies 400100-400199 of the shipped simulator
(``bench_lowcount.compare`` against ``all``, paired patient bootstrap, legacy FROC rule) and
on an independent site's selection cohort (``osteoscan.lesions.scoring``, paired against
``all``). The candidates of a foreign study are found once and shared by every arm (the
same card settings). Nothing is saved but the JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.try_structure_features \\
        --cache /tmp/rec/old --cache-var /tmp/rec/build --data COHORT/manifest.csv
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


WHOLE_SKELETON = ("peak_z", "mean_z", "band_rel")
"""The columns that measure a candidate against the patient's whole skeleton."""


def arms() -> dict[str, tuple]:
    """Arm -> (records: "old" or "var", context columns[, the BSI trees' context columns
    (None: the trees' own)[, "old": the BSI trees also fitted on the shipped simulator's
    training records, ``bsi_extra``]])."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.structure import STRUCTURE_FEATURES

    shipped = tuple(f for f in FEATURES if f not in STRUCTURE_FEATURES)
    relative = tuple(f for f in shipped if f not in WHOLE_SKELETON)
    structure = relative + STRUCTURE_FEATURES
    return {"all": ("old", shipped), "relative": ("old", relative),
            "structure": ("old", structure), "all_var": ("var", shipped),
            "relative_var": ("var", relative),
            "structure_var": ("var", structure), "full_var": ("var", FEATURES),
            "relative_var_bsi": ("var", relative, shipped),
            "relative_var_mix": ("var", relative, None, "old"),
            "relative_var_mix21": ("var", relative, shipped, "old")}


def _fit(train, select, names, bsi_names=None, bsi_extra=None):
    from osteoscan.lesions.detector_train import fit_detector

    det = fit_detector(train, select, context_features=names, bsi_context_features=bsi_names,
                       bsi_extra=bsi_extra)
    det.card["bsi_hotspots"] = "malignant"
    det.card["count_band"] = [1.15, None]
    return det


class _Memo:
    """The current foreign study's candidates, found once for every arm."""

    scan = None
    value = None


def sharing(det):
    """``det`` whose :meth:`arrays` reuses the last scan's (every arm has the same pairing
    distance and count band, and none takes patches or reach)."""

    class Sharing(type(det)):
        reads_structure = True  # every arm reads the same arrays, whole

        def arrays(self, scan, force=None):
            if force is None and _Memo.scan is scan:
                return _Memo.value
            out = super().arrays(scan, force)
            if force is None:
                _Memo.scan, _Memo.value = scan, out
            return out

    return Sharing(**{f: getattr(det, f) for f in det.__dataclass_fields__})


def fit_arms(args, names: list[str]) -> tuple[dict, list]:
    from benchmarks.select_detector import BAND, SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records

    caches = {"old": args.cache, "var": args.cache_var}
    dets, own, old_train = {}, None, None
    mixed = any(arms()[n][3:] == ("old",) for n in names)
    for kind in ("old", "var"):
        mine = [n for n in names if arms()[n][0] == kind]
        if not mine and not (kind == "old" and mixed):
            continue
        bal = kind == "var"  # records cached as -bal
        train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train),
                                  caches[kind], uptake_balance=bal)
        if kind == "old" and mixed:
            old_train = train
        sel = simulated_records(SELECT, range(400000, 400200), caches[kind], count_band=BAND,
                                uptake_balance=bal)
        if kind == "old" and args.own_start == 400100 and args.n_own == 100:
            own = sel[100:]
        for n in mine:
            logging.info("fitting %s", n)
            cols, bsi_cols, extra = (*arms()[n][1:], None, None)[:3]
            dets[n] = _fit(train, sel[:100], cols, bsi_cols,
                           old_train if extra == "old" else None)
        del train
    if own is None:
        own = simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                                args.cache, count_band=BAND)
    return dets, own


def run(args) -> dict:
    from benchmarks.bench_foreign import _stream
    from benchmarks.bench_lowcount import compare, per_study
    from osteoscan.lesions.scoring import figures, outcome, paired

    names = args.arms or list(arms())
    dets, own = fit_arms(args, names)
    base = per_study(dets["all"], own, "legacy")
    out: dict = {"own_selection": {}}
    for n in (k for k in dets if k != "all"):
        s = per_study(dets[n], own, "legacy")
        out["own_selection"][n] = compare(s, base, s, base, own, args.n_boot)
    if args.data is None:  # the own studies only (the second look, docs)
        out["config"] = {"n_train": args.n_train, "own": [args.own_start, args.n_own],
                         "arms": {k: arms()[k] for k in dets}}
        return out
    failures: list = []
    shared = {k: sharing(d) for k, d in dets.items()}
    outs: dict = {k: [] for k in dets}
    for st in _stream(args.data, args.limit, failures):  # one study in memory at a time
        for k, d in shared.items():
            outs[k].append(outcome(d, st))
    out["foreign"] = {k: figures(o, n_boot=args.n_boot) for k, o in outs.items()}
    for k in (k for k in outs if k != "all"):
        out["foreign"][f"{k}_minus_all"] = paired(outs[k], outs["all"], n_boot=args.n_boot)
    out["config"] = {"n_train": args.n_train, "cache": args.cache, "cache_var": args.cache_var,
                     "data": str(args.data), "arms": {k: arms()[k] for k in dets},
                     "failures": len(failures)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="records of the shipped simulator")
    ap.add_argument("--cache-var", required=True, help="records with the uptake balance")
    ap.add_argument("--data", type=Path, default=None,
                    help="the foreign cohort's manifest (none: the own studies only)")
    ap.add_argument("--own-start", type=int, default=400100,
                    help="first own selection study scored (shipped simulator, SELECT sites)")
    ap.add_argument("--n-own", type=int, default=100)
    ap.add_argument("--arms", nargs="+", default=None, help="a subset of the arms ('all' first)")
    ap.add_argument("--n-train", type=int, default=3600)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=None, help="first foreign studies only (a check)")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "structure_try.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_json

    out = run(args)
    atomic_write_json(args.out, out, default=float)
    if args.data is None:
        return 0
    print(json.dumps({k: {kk: out["foreign"][k].get(kk) for kk in ("patient", "called", "normals")}
                      for k in out["config"]["arms"]}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
