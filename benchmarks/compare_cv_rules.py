"""Paired comparison of ``osteoscan lesions cv`` runs on the same cohort (docs/lesions.md, "The
rule on a site the bundle was not fitted to").

Each ``NAME=FOLDER`` is a finished ``lesions cv`` output (its ``studies_oof.csv``). Per run:
the out-of-fold patient AUC (DeLong CI), and at each fold detector's own threshold the share
of metastatic studies called metastatic and of normal studies called metastatic. Every run
after the first is compared with the first on the same studies: paired DeLong test and the
patient-bootstrap CI of the AUC difference.

    python -m benchmarks.compare_cv_rules patient=/tmp/cv-patient stage2=/tmp/cv-stage2 \\
        --out benchmarks/results/cv_rules_<cohort>.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _frame(folder: Path):
    import pandas as pd

    f = pd.read_csv(folder / "studies_oof.csv", dtype={"study_id": str, "patient_id": str})
    return f.set_index("study_id").sort_index()


def _one(f) -> dict:
    from osteoscan.evaluation.statistics import delong_ci

    y = (f["label"] == "metastasis").to_numpy()
    called = (f["predicted"] == "metastasis").to_numpy()
    auc, lo, hi = delong_ci(y.astype(int), f["prob_metastasis"].to_numpy())
    return {"patient_auc": auc, "ci": [lo, hi], "n": int(len(y)), "metastatic": int(y.sum()),
            "sensitivity": float(called[y].mean()), "normals_called": float(called[~y].mean())}


def compare(runs: dict[str, Path], n_boot: int = 1000, seed: int = 0) -> dict:
    """Each run's figures and, for every run after the first, its paired difference."""
    from benchmarks.bench_lesions_cv import _paired
    from osteoscan.evaluation.statistics import delong_roc_test

    frames = {k: _frame(v) for k, v in runs.items()}
    names = list(frames)
    ref = frames[names[0]]
    out: dict = {"runs": {k: str(v) for k, v in runs.items()},
                 "figures": {k: _one(f) for k, f in frames.items()}, "versus": {}}
    y = (ref["label"] == "metastasis").to_numpy()
    for k in names[1:]:
        f = frames[k]
        if not f.index.equals(ref.index):
            raise SystemExit(f"{k}: not the same studies as {names[0]}")
        a, b = f["prob_metastasis"].to_numpy(), ref["prob_metastasis"].to_numpy()
        out["versus"][f"{k}_minus_{names[0]}"] = {
            "delong": delong_roc_test(y.astype(int), a, b),
            "bootstrap": _paired(y, a, b, ref["patient_id"].to_numpy(), n_boot, seed)}
    return out


def main(argv=None) -> int:
    from benchmarks.try_phantom_training import _pairs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="NAME=FOLDER of each lesions cv run (first: reference)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = compare(_pairs(args.runs), args.n_boot)
    text = json.dumps(out, indent=1, default=float)
    if args.out:
        Path(args.out).write_text(text)
    for k, v in out["figures"].items():
        print(f"{k}: AUC {v['patient_auc']:.3f} ({v['ci'][0]:.3f}-{v['ci'][1]:.3f}), "
              f"sensitivity {v['sensitivity']:.2f}, normals called {v['normals_called']:.2f}")
    for k, v in out["versus"].items():
        d = v["delong"]
        print(f"{k}: {d['auc_diff']:+.3f} (DeLong p {d['delong_p']:.3g}, "
              f"CI {d['diff_ci_low']:+.3f} to {d['diff_ci_high']:+.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
