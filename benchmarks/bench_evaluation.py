"""How fast is the patient bootstrap? Vectorised weights vs a loop calling scikit-learn.

10,000 binary predictions from 5,000 patients (two studies each), 2,000 patient-bootstrap
replicates of AUC, sensitivity, specificity, accuracy, F1 and Brier score:

- ``vectorised``: :func:`osteoscan.evaluation.statistics.bootstrap_replicates` with
  :func:`osteoscan.evaluation.metrics.binary_metric_matrix` (weight matrices, one sort);
- ``baseline``: the plain way, a Python loop over replicates that indexes the resampled
  studies and calls scikit-learn (roc_auc_score, confusion_matrix, f1_score,
  brier_score_loss) once per replicate. The loop is timed on ``--baseline-reps`` replicates
  and scaled linearly to the full count (each replicate costs the same), to keep the run short.

Both use the same resampled patients (same seed), so the replicate values must agree; the
benchmark checks that and reports the largest difference. Also times the whole
``evaluate_predictions`` (all figures, operating points, DeLong). Writes
``benchmarks/results/evaluation.json``.

Run: ``.venv/bin/python -m benchmarks.bench_evaluation [--n 10000 --boot 2000]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import brier_score_loss, confusion_matrix, f1_score, roc_auc_score

from osteoscan.evaluation import evaluate_predictions, predictions_from_arrays
from osteoscan.evaluation.metrics import binary_metric_matrix
from osteoscan.evaluation.statistics import (
    bootstrap_replicates,
    patient_bootstrap_weights,
    patient_codes,
)

RESULTS = Path(__file__).parent / "results"


def cohort(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(rng.normal(0.4 + 0.25 * y, 0.2), 0, 1), 3)
    pid = np.array([f"p{i // 2}" for i in range(n)])
    return y, score, pid


def baseline(y, score, pid, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Loop over replicates; resampled study indices; scikit-learn per replicate."""
    codes, n_p = patient_codes(pid)
    rng = np.random.default_rng(seed)
    out = {k: [] for k in ("auc", "sensitivity", "specificity", "accuracy", "f1", "brier")}
    for w in patient_bootstrap_weights(codes, n_p, n_boot, rng):
        for row in w:  # same draws as the vectorised path, expanded to study indices
            idx = np.repeat(np.arange(len(y)), row.astype(int))
            yy, ss = y[idx], score[idx]
            called = (ss >= 0.5).astype(int)
            tn, fp, fn, tp = confusion_matrix(yy, called, labels=[0, 1]).ravel()
            out["auc"].append(roc_auc_score(yy, ss))
            out["sensitivity"].append(tp / (tp + fn))
            out["specificity"].append(tn / (tn + fp))
            out["accuracy"].append((tp + tn) / len(yy))
            out["f1"].append(f1_score(yy, called))
            out["brier"].append(brier_score_loss(yy, ss))
    return {k: np.asarray(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--boot", type=int, default=2000)
    parser.add_argument("--baseline-reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    y, score, pid = cohort(args.n, args.seed)
    fn = lambda w: binary_metric_matrix(y, score, 0.5, w)  # noqa: E731

    t0 = time.perf_counter()
    bootstrap_replicates(fn, pid, n_boot=args.boot, seed=args.seed)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    base = baseline(y, score, pid, args.baseline_reps, args.seed)
    t_base_part = time.perf_counter() - t0
    t_base = t_base_part * args.boot / args.baseline_reps

    # the baseline's replicates are the first replicates of the vectorised run (same rng stream)
    check = bootstrap_replicates(fn, pid, n_boot=args.baseline_reps, seed=args.seed)
    max_diff = max(float(np.max(np.abs(check[k] - base[k]))) for k in base)

    t0 = time.perf_counter()
    evaluate_predictions(
        predictions_from_arrays(y, score, patient_id=pid), n_boot=args.boot, seed=args.seed
    )
    t_full = time.perf_counter() - t0

    result = {
        "n_predictions": args.n,
        "n_patients": int(len(set(pid))),
        "replicates": args.boot,
        "vectorised_s": round(t_ours, 3),
        "baseline_s_estimated": round(t_base, 2),
        "baseline_measured_replicates": args.baseline_reps,
        "baseline_measured_s": round(t_base_part, 3),
        "speedup_ratio": round(t_base / t_ours, 1),
        "max_abs_difference_vs_baseline": max_diff,
        "evaluate_predictions_full_s": round(t_full, 3),
        "note": "baseline time = measured time x replicates / measured replicates",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))  # noqa: T201 - a benchmark script, not library code


if __name__ == "__main__":
    main()
