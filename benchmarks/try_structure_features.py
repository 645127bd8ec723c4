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
  scored by the arm's own stages; docs, "Deciding on the issue's bars");
  ``relative_var_every``, ``relative_mixdata_every``, ``relative_var2x_every``: the BSI of
  every candidate (card ``bsi_hotspots: "all"``), trained on the balanced records, on half
  shipped and half balanced, or on twice as many balanced (:class:`Arm`; docs, "A second try
  on the bars"); ``relative_var_ext``: ``relative_var`` trained also on the extensive
  disease of 3,600 more balanced studies (docs, "Extensive disease in the training data");
  ``kidney_var`` and ``kidney_axial_var``: ``relative_var`` with the view's soft tissue and
  kidney columns (:data:`SOFT_TISSUE`), and with ``axial_rel`` too (docs, "The kidneys and
  the soft tissue"); ``kidney_noap``: ``kidney_var`` without the other view's columns
  (:data:`OTHER_VIEW`). Session 10 made them before the balance
  was an option (untagged names, the same arrays: checked on two studies); linked as
  ``-bal`` they are what this script reads.

With ``--shipped-baseline`` the baseline ``all`` is the shipped bundle as it is (its records
then need not be made: the try reads only the balanced ones).

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
from typing import NamedTuple


EXTENSIVE = 2.0
"""True BSI (%) above which a study counts as extensive disease (``var_ext`` records: the
top quintile of the metastatic studies starts near 1.8 %)."""

WHOLE_SKELETON = ("peak_z", "mean_z", "band_rel")
"""The columns that measure a candidate against the patient's whole skeleton."""

OTHER_VIEW = ("other_ratio", "other_rel", "other_dist_mm")
"""The columns that compare a candidate with the other view (anterior-posterior concordance;
``kidney_noap`` leaves them out, docs/independent-sites.md "Which columns rank a site
differently")."""

SOFT_TISSUE = ("soft_rel", "kidney_rel")
"""The view's soft tissue against its bone and its kidneys against its spine (the "absent
kidney sign" of a superscan; :mod:`osteoscan.lesions.structure`)."""


class Arm(NamedTuple):
    """One arm: its training ``records`` ("old": the shipped simulator's 3,600; "var": with
    the uptake balance; "var2x": 7,200 with the balance, seeds from 130000; "mixdata": the
    first half of "old" and the second half of "var", 3,600 patients each once;
    "var_ext": "var" and the balanced studies of true BSI > :data:`EXTENSIVE` among 3,600
    more), the trees' context ``cols``, the BSI trees' (None: the trees' own),
    ``bsi_extra`` ("old": the BSI trees also fitted on the shipped simulator's training
    records) and the card's ``hotspots`` (``bsi_hotspots``: the BSI of the called hotspots,
    "malignant", or of every candidate, "all")."""

    records: str
    cols: tuple
    bsi_cols: tuple | None = None
    bsi_extra: str | None = None
    hotspots: str = "malignant"
    stack: str = "all"


def arms() -> dict[str, Arm]:
    """The arms by name (module docstring)."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.structure import STRUCTURE_FEATURES

    shipped = tuple(f for f in FEATURES if f not in STRUCTURE_FEATURES)
    own = ("col_rel", "contra_rel", "axial_rel")  # session 10's structure columns
    relative = tuple(f for f in shipped if f not in WHOLE_SKELETON)
    structure = relative + own
    novc = tuple(c for c in relative + SOFT_TISSUE if c != "view_candidates")
    return {"all": Arm("old", shipped), "relative": Arm("old", relative),
            "structure": Arm("old", structure), "all_var": Arm("var", shipped),
            "relative_var": Arm("var", relative),
            "structure_var": Arm("var", structure),
            "full_var": Arm("var", shipped + own),
            "relative_var_bsi": Arm("var", relative, shipped),
            "relative_var_mix": Arm("var", relative, None, "old"),
            "relative_var_mix21": Arm("var", relative, shipped, "old"),
            "relative_var_every": Arm("var", relative, hotspots="all"),
            "relative_mixdata_every": Arm("mixdata", relative, hotspots="all"),
            "relative_var2x_every": Arm("var2x", relative, hotspots="all"),
            "relative_var_ext": Arm("var_ext", relative),
            "kidney_var": Arm("var", relative + SOFT_TISSUE),
            "kidney_axial_var": Arm("var", relative + ("axial_rel",) + SOFT_TISSUE),
            "kidney_novc": Arm("var", novc),
            "kidney_novc_local": Arm("var", novc, stack="local"),
            "kidney_noap": Arm("var", tuple(c for c in relative + SOFT_TISSUE
                                            if c not in OTHER_VIEW))}


def _fit(train, select, arm: Arm, bsi_extra=None):
    from benchmarks.select_detector import BAND
    from osteoscan.lesions.detector_train import fit_detector
    from osteoscan.lesions.stacking import LOCAL_STACK

    det = fit_detector(train, select, context_features=arm.cols,
                       bsi_context_features=arm.bsi_cols, bsi_extra=bsi_extra,
                       stack_features=LOCAL_STACK if arm.stack == "local" else None)
    det.card["bsi_hotspots"] = arm.hotspots
    det.card["count_band"] = list(BAND)
    return det


class _Memo:
    """The current foreign study's candidates, found once for every arm."""

    scan = None
    value = None


def sharing(det):
    """``det`` whose :meth:`arrays` reuses the last scan's (every arm has the same pairing
    distance and count band, and none takes patches or reach)."""
    from osteoscan.lesions.structure import STRUCTURE_FEATURES

    class Sharing(type(det)):
        structure_read = STRUCTURE_FEATURES  # every arm reads the same arrays, whole

        def arrays(self, scan, force=None):
            if force is None and _Memo.scan is scan:
                return _Memo.value
            out = super().arrays(scan, force)
            if force is None:
                _Memo.scan, _Memo.value = scan, out
            return out

    return Sharing(**{f: getattr(det, f) for f in det.__dataclass_fields__})


def _training(args, kind: str, sets: dict) -> list[dict]:
    """The training records of an arm's ``records`` kind (:class:`Arm`), loaded once."""
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records

    if kind == "mixdata":  # halves of different patients: no study twice across the folds
        half = args.n_train // 2
        return _training(args, "old", sets)[:half] + _training(args, "var", sets)[half:]
    if kind == "var2x":
        return _training(args, "var", sets) + _training(args, "var_more", sets)
    if kind == "var_ext":  # "var" and the extensive disease (true BSI > 2 %) of 3,600 more
        return _training(args, "var", sets) + [r for r in _training(args, "var_more", sets)
                                               if float(r["bsi"]) > EXTENSIVE]
    if kind not in sets:  # "old", "var", or "var_more": the 3,600 after "var"'s
        n = args.n_train
        start = n if kind == "var_more" else 0
        sites = TRAIN[start % len(TRAIN):] + TRAIN[:start % len(TRAIN)]  # study i: TRAIN[i % len]
        sets[kind] = simulated_records(sites, range(TRAIN_SEED + start, TRAIN_SEED + start + n),
                                       args.cache if kind == "old" else args.cache_var,
                                       uptake_balance=kind != "old")  # cached as -bal
    return sets[kind]


def fit_arms(args, names: list[str]) -> tuple[dict, list]:
    """The fitted arms, each calibrated on selection studies 400000-400099 of its own
    simulator (the balanced one unless its records are "old"), and the own studies scored."""
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions.detector_records import simulated_records

    sets: dict = {}

    def sel(bal: bool) -> list[dict]:  # made only for the kinds the arms read
        if bal not in sets.setdefault("select", {}):
            sets["select"][bal] = simulated_records(
                SELECT, range(400000, 400200), args.cache_var if bal else args.cache,
                count_band=BAND, uptake_balance=bal)
        return sets["select"][bal]

    dets = {}
    for n in names:
        if n == "all" and args.shipped_baseline:
            from osteoscan.lesions.patient import bundled_detector_or_none

            dets[n] = bundled_detector_or_none()
            continue
        arm = arms()[n]
        logging.info("fitting %s", n)
        extra = _training(args, "old", sets) if arm.bsi_extra == "old" else None
        dets[n] = _fit(_training(args, arm.records, sets), sel(arm.records != "old")[:100],
                       arm, extra)
    if args.own_start == 400100 and args.n_own == 100:
        return dets, sel(False)[100:]
    return dets, simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                                   args.cache, count_band=BAND)


def _brief(s: dict) -> dict:
    """An arm's per-study answers on the own studies: probability, BSI, hotspots called."""
    return {k: [float(v) for v in s[k]] for k in ("prob", "bsi", "called")}


def run(args) -> dict:
    from benchmarks.bench_foreign import _stream
    from benchmarks.bench_lowcount import compare, per_study
    from osteoscan.lesions.scoring import figures, outcome, paired

    names = args.arms or list(arms())
    dets, own = fit_arms(args, names)
    base = per_study(dets["all"], own, "legacy")
    out: dict = {"own_selection": {},
                 "own_per_study": {"bsi_true": [float(r["bsi"]) for r in own],
                                   "label": [int(r["label"]) for r in own],
                                   "all": _brief(base)}}
    for n in (k for k in dets if k != "all"):
        s = per_study(dets[n], own, "legacy")
        out["own_selection"][n] = compare(s, base, s, base, own, args.n_boot)
        out["own_per_study"][n] = _brief(s)
    if args.data is None:  # the own studies only (the second look, docs)
        out["config"] = {"n_train": args.n_train, "own": [args.own_start, args.n_own],
                         "arms": {k: arms()[k] for k in dets},
                         "shipped_baseline": args.shipped_baseline}
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
                     "shipped_baseline": args.shipped_baseline, "failures": len(failures)}
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
    ap.add_argument("--shipped-baseline", action="store_true",
                    help="the baseline 'all' is the shipped bundle, not refitted")
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
