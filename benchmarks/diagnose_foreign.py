"""Why the bundled detector calls normals of an independent site metastatic: the called
candidates of its normal studies, by region, and each context feature's place in the
distribution of the same region's candidates on osteoscan's own normal training studies.

For every feature the bundle's trees read and every region: the median percentile of the foreign called candidates within
the simulator's normal candidates of that region (50 = typical of the training data, 99 = at
its edge) and the share beyond the 99th percentile. A feature far out of the training range
is where the detector extrapolates. Only a selection cohort is read (docs/independent-sites.md).

    OMP_NUM_THREADS=1 python -m benchmarks.diagnose_foreign --data COHORT/manifest.csv \\
        --records /tmp/lowcount/c2 --out benchmarks/results/foreign_diagnosis_<site>.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np


def own_normals(folder: Path, det, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Features and region codes of the candidates of the first ``n`` normal training records,
    and how many records were read."""
    from osteoscan.lesions.detector_train import arrays

    xs, codes = [], []
    for path in sorted(folder.glob("*.npz")):
        rec = dict(np.load(path))
        if int(rec["label"]) != 0 or "X" not in rec:
            continue
        arr = arrays(rec)
        xs.append(arr.X)
        codes.append(det.codes(arr))
        if len(xs) >= n:
            break
    return np.concatenate(xs), np.concatenate(codes), len(xs)


def foreign_called(manifest: Path, det) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Features, region codes and called flags of every candidate of the cohort's normals."""
    import osteoscan as osc

    m = osc.read_manifest(manifest)
    xs, codes, called, per_study = [], [], [], []
    for i in range(len(m.frame)):
        if str(m.value(i, "label")).lower() != "normal":
            continue
        scan, _ = m.load(i)
        arr, _ = det.arrays(scan)
        st = det.stages(arr)
        out = det.decide(arr, st["probability"], st["codes"], st["stack"])
        flag = np.zeros(len(arr.X), bool)
        flag[np.asarray(out["malignant"], int)] = True
        xs.append(arr.X), codes.append(st["codes"]), called.append(flag)
        per_study.append({"study": m.value(i, "study_id"), "probability": out["probability"],
                          "called": int(flag.sum())})
    return np.concatenate(xs), np.concatenate(codes), np.concatenate(called), per_study


def percentiles(ref: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each value within ``ref`` (0-100; ties count half, so a value
    equal to every reference value is at 50)."""
    ref = np.sort(ref)
    below = np.searchsorted(ref, values, side="left")
    upto = np.searchsorted(ref, values, side="right")
    return 100.0 * (below + upto) / 2 / max(len(ref), 1)


def main(argv=None) -> int:
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.skeleton import REGIONS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--records", type=Path, required=True, help="the bundle's training records")
    ap.add_argument("--n-own", type=int, default=400)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    det = bundled_detector_or_none()
    own_x, own_c, n_own = own_normals(args.records, det, args.n_own)
    fx, fc, called, studies = foreign_called(args.data, det)
    by_region = {}
    for code, n in Counter(fc[called].tolist()).most_common():
        ref = own_x[own_c == code]
        sel = fx[called & (fc == code)]
        rows = {}
        for j, name in enumerate(FEATURES):
            if name not in det.context_features:  # not read, and NaN unless computed
                continue
            pct = percentiles(ref[:, j], sel[:, j])
            rows[name] = {"median_pct": float(np.median(pct)),
                          "beyond_p99": float(np.mean((pct > 99) | (pct < 1))),
                          "foreign_median": float(np.median(sel[:, j])),
                          "own_median": float(np.median(ref[:, j])) if len(ref) else None}
        by_region[REGIONS[code]] = {"called": int(n), "own_candidates": int(len(ref)),
                                    "features": rows}
    out = {"data": str(args.data), "normals": len(studies),
           "called_per_normal": float(np.mean([s["called"] for s in studies])),
           "normals_called": float(np.mean([s["called"] > 0 for s in studies])),
           "candidates_per_normal": float(len(fx) / max(len(studies), 1)),
           "own_candidates_per_normal": float(len(own_x) / max(n_own, 1)), "by_region": by_region, "per_study": studies}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    for region, b in by_region.items():
        worst = sorted(b["features"].items(), key=lambda kv: -abs(kv[1]["median_pct"] - 50))[:5]
        print(region, b["called"], [(k, round(v["median_pct"]), round(v["foreign_median"], 2),
                                     round(v["own_median"] or 0, 2)) for k, v in worst])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
