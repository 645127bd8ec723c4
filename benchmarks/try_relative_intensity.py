"""A try, not in the code: does a detector without the features that measure a candidate's
uptake against the patient's whole skeleton (``peak_z``, ``mean_z``, ``band_rel``) transfer
to an independent phantom where the normal posterior spine is brighter against the rest of
the skeleton than in osteoscan's simulator (docs/independent-sites.md, "Diagnosis")?

Two arms fitted alike on the first ``--n-train`` training records of the bundle's recipe
(``select_detector.TRAIN``, seeds from 130000, the bundle's cached records), calibrated on
selection studies 400000-400099 (banded records): ``all`` (the 21 context features) and
``relative`` (those three columns set to 0 in every record and at inference, so the trees
cannot use them). Scored on selection studies 400100-400199 (``bench_lowcount.compare``,
paired patient bootstrap, legacy FROC rule) and on an independent site's selection cohort
(``osteoscan.lesions.scoring``, paired). Nothing is saved but the JSON.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.try_relative_intensity \\
        --cache /tmp/lowcount/c2 --data COHORT/manifest.csv --n-train 1200
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

DROPPED = ("peak_z", "mean_z", "band_rel")


def _columns() -> list[int]:
    from osteoscan.lesions.context import FEATURES

    return [FEATURES.index(f) for f in DROPPED]


def _neutral(rec: dict) -> dict:
    X = np.array(rec["X"], copy=True)
    X[:, _columns()] = 0.0
    return {**rec, "X": X}


def relative_detector(det):
    """``det`` whose arrays have the dropped columns set to 0 (as its records had)."""
    cols = _columns()

    class Relative(type(det)):
        def arrays(self, scan, force=None):
            arr, hotspots = super().arrays(scan, force)
            X = np.array(arr.X, copy=True)
            X[:, cols] = 0.0
            return replace(arr, X=X), hotspots

    return Relative(**{f: getattr(det, f) for f in det.__dataclass_fields__})


def _fit(train, select):
    from osteoscan.lesions.detector_train import fit_detector

    det = fit_detector(train, select)
    det.card["bsi_hotspots"] = "malignant"
    det.card["count_band"] = [1.15, None]
    return det


def run(args) -> dict:
    from benchmarks.bench_lowcount import compare, per_study
    from benchmarks.select_detector import BAND, SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.scoring import figures, outcome, paired

    train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train), args.cache)
    sel = simulated_records(SELECT, range(400000, 400200), args.cache, count_band=BAND)
    dets = {"all": _fit(train, sel[:100]),
            "relative": relative_detector(_fit([_neutral(r) for r in train],
                                               [_neutral(r) for r in sel[:100]]))}
    own = {"all": per_study(dets["all"], sel[100:], "legacy"),
           "relative": per_study(dets["relative"], [_neutral(r) for r in sel[100:]], "legacy")}
    out = {"own_selection": compare(own["relative"], own["all"], own["relative"], own["all"],
                                    sel[100:], args.n_boot)}
    from benchmarks.bench_foreign import _stream

    failures: list = []
    outs: dict = {k: [] for k in dets}
    for st in _stream(args.data, None, failures):  # one study in memory at a time
        for k, d in dets.items():
            outs[k].append(outcome(d, st))
    out["foreign"] = {k: figures(o, n_boot=args.n_boot) for k, o in outs.items()}
    out["foreign"]["relative_minus_all"] = paired(outs["relative"], outs["all"], n_boot=args.n_boot)
    out["config"] = {"n_train": args.n_train, "cache": args.cache, "data": str(args.data),
                     "dropped": DROPPED, "failures": len(failures)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n-train", type=int, default=1200)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "relative_intensity_try.json")
    args = ap.parse_args(argv)
    from osteoscan.artefacts import atomic_write_json

    out = run(args)
    atomic_write_json(args.out, out, default=float)
    print(json.dumps({k: {kk: out["foreign"][k].get(kk) for kk in ("patient", "called", "normals")}
                      for k in ("all", "relative")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
