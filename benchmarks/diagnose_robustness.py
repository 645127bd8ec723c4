"""Why a patient's answer moves between renderings: the candidate that drives the patient
probability, and its features in each rendering (docs/robustness.md, "The test-retest floor",
diagnosis).

Two uses::

    # one patient: the driver of the first rendering, matched (same view, nearest in body
    # coordinates) in the others; context features, stacking features, probabilities
    .venv/bin/python -m benchmarks.diagnose_robustness patient 910005 metastasis \\
        dcm:1.5M_2.4mm png:1.5M_2.4mm png:1.5M_2.4mm_r1

    # every patient whose decision flips between two renderings in a robustness_floor.json:
    # is the driver of the positive rendering clipped by the export's display window?
    .venv/bin/python -m benchmarks.diagnose_robustness flips dcm:1.5M_2.4mm png:1.5M_2.4mm \\
        --results benchmarks/results/robustness_floor.json

Rendering names are those of ``bench_robustness.renderings`` (``_r1``: the repeat draw).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_robustness import load_detector, renderings


def driver(det, scan) -> dict:
    """The detector's view of one scan: patient probability, candidate arrays, stages, and
    the index of the most probable distinct lesion (the one that drives the probability)."""
    from osteoscan.lesions.patient import lesion_table, study_arrays

    arr, _ = study_arrays(scan, det.card.get("pair_mm", 20.0), det.card.get("count_band"))
    st = det.stages(arr)
    prob = det.decide(arr, st["probability"], st["codes"], st["stack"])["probability"]
    idx, lp = lesion_table(st["probability"], arr.group)
    return {"prob": prob, "arr": arr, "st": st, "top": int(idx[np.argmax(lp)]) if len(idx) else -1}


def matched(d: dict, view: int, y: float, x: float) -> int:
    """The candidate of the same view nearest to body coordinates (y, x)."""
    X = d["arr"].X
    return int(np.argmin(np.hypot(X[:, 0] - y, X[:, 1] - x) + 10 * (d["arr"].view != view)))


def patient(det, seed: int, label: str, keys: list[str]) -> str:
    """The first rendering's driver and its match in the others, feature by feature."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.stacking import STACK_FEATURES

    with tempfile.TemporaryDirectory() as tmp:
        scans = renderings(seed, label, Path(tmp), repeats=True)
    ds = [driver(det, scans[k]) for k in keys]
    i0 = ds[0]["top"]
    at = (int(ds[0]["arr"].view[i0]), *ds[0]["arr"].X[i0, :2])
    idx = [i0] + [matched(d, *at) for d in ds[1:]]
    lines = ["| | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|",
             "| patient p | " + " | ".join(f"{d['prob']:.3f}" for d in ds) + " |",
             "| candidate p | " + " | ".join(f"{d['st']['probability'][i]:.3f}"
                                           for d, i in zip(ds, idx, strict=True)) + " |"]
    none = np.full(len(STACK_FEATURES), np.nan)
    vecs = [np.concatenate([d["arr"].X[i],
                            none if d["st"]["stack"] is None else d["st"]["stack"][i]])
            for d, i in zip(ds, idx, strict=True)]
    for k, name in enumerate(FEATURES + STACK_FEATURES):
        lines.append(f"| {name} | " + " | ".join(f"{v[k]:.3f}" for v in vecs) + " |")
    return "\n".join(lines)


def flips(det, a: str, b: str, results: Path) -> str:
    """Each patient whose decision differs between a and b: the positive rendering's driver
    (its peak z) and the same place in the other, with the other's highest peak z (the
    display window's top in z units when it is an export)."""
    from osteoscan.lesions.context import FEATURES

    zi = FEATURES.index("peak_z")
    data = json.loads(results.read_text())
    thr = data["decision_threshold"]
    out = ["| seed | label | p a / p b | driver (positive rendering): view, y, x, peak z, p | "
           "same place in the other: peak z, p | other's highest peak z |",
           "|---|---|---|---|---|---|"]
    for rec in data["records"]:
        pa, pb = rec["outcomes"][a]["prob"], rec["outcomes"][b]["prob"]
        if (pa >= thr) == (pb >= thr):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            scans = renderings(rec["seed"], rec["label"], Path(tmp), repeats=b.endswith("_r1")
                               or a.endswith("_r1"))
        da, db = driver(det, scans[a]), driver(det, scans[b])
        pos, neg = (da, db) if pa >= thr else (db, da)
        i = pos["top"]
        at = (int(pos["arr"].view[i]), *pos["arr"].X[i, :2])
        j = matched(neg, *at)
        out.append(f"| {rec['seed']} | {rec['label']} | {pa:.3f} / {pb:.3f} | "
                   f"{'ant' if at[0] == 0 else 'post'}, {at[1]:.2f}, {at[2]:.2f}, "
                   f"{pos['arr'].X[i, zi]:.1f}, {pos['st']['probability'][i]:.3f} | "
                   f"{neg['arr'].X[j, zi]:.1f}, {neg['st']['probability'][j]:.3f} | "
                   f"{neg['arr'].X[:, zi].max():.1f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("patient")
    p.add_argument("seed", type=int)
    p.add_argument("label", choices=("normal", "metastasis"))
    p.add_argument("renderings", nargs="+")
    f = sub.add_parser("flips")
    f.add_argument("a")
    f.add_argument("b")
    f.add_argument("--results", default=str(Path(__file__).parent / "results"
                                            / "robustness_floor.json"))
    ap.add_argument("--detector", default=None, help="a detector folder (default: the bundled)")
    args = ap.parse_args(argv)
    det = load_detector(args.detector)
    if args.cmd == "patient":
        print(patient(det, args.seed, args.label, args.renderings))
    else:
        print(flips(det, args.a, args.b, Path(args.results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
