"""A try, not in the code: does training on independently written phantoms besides osteoscan's
own simulator make the detector transfer to a phantom it never saw (docs/independent-sites.md,
"Training on other phantoms (session 14)")?

Arms, each the bundle's recipe (the arm ``kidney_var`` of
:mod:`benchmarks.try_structure_features`: its context columns, ``stack_bsi``, the called
hotspots' BSI, the card's count band), calibrated like the bundle on the balanced selection
studies 400000-400199 of osteoscan's simulator, and trained on its 3,600 balanced training
records plus the named phantoms' training records (:func:`manifest_records`; ``mix_x``:
``site_x``'s, ``mix_z``: ``site_z``'s, ``mix_xz``: both; ``mix_z100``: the first 100 of
``site_z``'s, a learning curve; ``own``: none, the control that refits the bundle). Each
phantom record's candidates are found as training finds them (no count band); its
``region`` comes from the region lookup fitted on the own training records (the shipped
bundle's table: the same records), its BSI is spread over its metastases by area. The baseline ``all`` is the shipped bundle.

Scored on osteoscan's own studies (``--own-start``, ``--n-own``; shipped simulator, selection
sites, paired against ``all``: :func:`benchmarks.bench_lowcount.compare`) and on every
``--data NAME=MANIFEST`` cohort (:mod:`osteoscan.lesions.scoring`, paired against ``all``;
the candidates of a study found once for every arm). Nothing is saved but the JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.try_phantom_training \\
        --cache /tmp/rec/s12 --phantom x=X/manifest.csv z=Z/manifest.csv \\
        --phantom-cache /tmp/rec/s14ph --data y=Y/manifest.csv --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

import numpy as np


def _pairs(values: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` arguments as a dict."""
    out = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep:
            raise SystemExit(f"expected NAME=PATH, got {v!r}")
        out[name] = Path(path)
    return out


def _phantoms_of(arm: str, phantoms: dict[str, list]) -> dict[str, list]:
    """The phantom records an arm trains on: ``own`` none; ``mix_xz`` every record of
    phantoms ``x`` and ``z``; ``mix_z100`` the first 100 of ``z``'s (a learning curve);
    ``mix_z100n`` the first 100 of ``z``'s normal studies (a site's normals, no lesion drawn)."""
    found = re.fullmatch(r"mix_([a-z]+?)(\d*)(n?)", arm)
    if arm == "own" or not found:
        if arm != "own":
            raise SystemExit(f"unknown arm {arm!r}: own, mix_<phantoms>[<studies>][n]")
        return {}
    n = int(found[2]) if found[2] else None
    keep = (lambda r: int(r["label"]) == 0) if found[3] else (lambda r: True)
    return {k: [r for r in phantoms[k] if keep(r)][:n] for k in found[1]}


def fit_arms(args) -> tuple[dict, list]:
    """The fitted arms (module docstring) and the own studies they are scored on."""
    from benchmarks.select_detector import BAND, SELECT
    from benchmarks.try_structure_features import _fit, _training, arms
    from osteoscan.lesions.detector_records import manifest_records, simulated_records
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.lesions.region_lookup import RegionLookup

    args.cache_var = args.cache  # the balanced records sit beside the plain ones ("-bal")
    own = _training(args, "var", {})
    select = simulated_records(SELECT, range(400000, 400200), args.cache, count_band=BAND,
                               uptake_balance=True)
    shipped = bundled_detector_or_none()
    area = np.median(np.array([r["region_area"] for r in own]), axis=0)
    codes = RegionLookup.from_records(own).codes  # the shipped bundle's table (same records)
    phantoms = {k: manifest_records(p, Path(args.phantom_cache) / k, codes, area)
                for k, p in _pairs(args.phantom).items()}
    dets = {"all": shipped}
    for name in args.arms:
        used = _phantoms_of(name, phantoms)
        extra = [r for recs in used.values() for r in recs]
        logging.info("fitting %s on %d + %d studies", name, len(own), len(extra))
        dets[name] = _fit(own + extra, select, arms()["kidney_var"])
        dets[name].card["train_phantoms"] = {k: len(v) for k, v in used.items()}
    return dets, simulated_records(SELECT, range(args.own_start, args.own_start + args.n_own),
                                   args.cache, count_band=BAND)


def run(args) -> dict:
    from benchmarks.bench_foreign import _stream
    from benchmarks.bench_lowcount import compare, per_study
    from benchmarks.try_structure_features import _brief, sharing
    from osteoscan.lesions.scoring import figures, outcome, paired

    dets, own = fit_arms(args)
    base = per_study(dets["all"], own, "legacy")
    out: dict = {"own_selection": {}, "own_per_study": {"all": _brief(base)}, "foreign": {}}
    for n in (k for k in dets if k != "all"):
        s = per_study(dets[n], own, "legacy")
        out["own_selection"][n] = compare(s, base, s, base, own, args.n_boot)
        out["own_per_study"][n] = _brief(s)
    shared = {k: sharing(d) for k, d in dets.items()}
    for site, manifest in _pairs(args.data).items():
        failures: list = []
        outs: dict = {k: [] for k in dets}
        for st in _stream(manifest, args.limit, failures):  # one study in memory at a time
            for k, d in shared.items():
                outs[k].append(outcome(d, st))
        block = {k: figures(o, n_boot=args.n_boot) for k, o in outs.items()}
        for k in (k for k in outs if k != "all"):
            block[f"{k}_minus_all"] = paired(outs[k], outs["all"], n_boot=args.n_boot)
        out["foreign"][site] = {**block, "failures": failures, "manifest": str(manifest)}
    out["config"] = {"n_train": args.n_train, "cache": args.cache, "phantom": args.phantom,
                     "own": [args.own_start, args.n_own], "arms": args.arms,
                     "train_phantoms": {k: d.card.get("train_phantoms") for k, d in dets.items()
                                        if k != "all"}}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True, help="osteoscan's records (plain and -bal)")
    ap.add_argument("--phantom", nargs="+", required=True,
                    help="NAME=MANIFEST of each phantom's training cohort (NAME: one letter)")
    ap.add_argument("--phantom-cache", required=True, help="folder for the phantom records")
    ap.add_argument("--data", nargs="+", default=[], help="NAME=MANIFEST cohorts scored")
    ap.add_argument("--arms", nargs="+", default=["own", "mix_x", "mix_z", "mix_xz"])
    ap.add_argument("--own-start", type=int, default=460000)
    ap.add_argument("--n-own", type=int, default=400)
    ap.add_argument("--n-train", type=int, default=3600)
    ap.add_argument("--limit", type=int, default=None, help="studies per --data cohort")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = run(args)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    for site, block in out["foreign"].items():  # the patient AUC of every arm
        print(site, {k: round(v["patient"]["auc"], 3) for k, v in block.items()
                     if isinstance(v, dict) and "patient" in v})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
