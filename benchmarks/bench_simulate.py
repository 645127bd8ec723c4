"""How fast is the simulator, and how hard is its default task for a simple baseline?

Speed (single process, one core busy): ``simulate_study`` per study, timed over ``--studies``
studies; in the same run two references on the same studies: ``poisson`` (only the Poisson
draw of two 1024 x 256 views, the floor of any count simulator) and ``load`` (reading the
written DICOM back through ``osteoscan.io.load_study``). Ratios = simulate / reference.
``write_cohort`` with 1 and 2 workers gives the files-on-disk throughput and the parallel
speed-up. The training engineer adds the training step time per study to compare
(target: simulation >= 10x faster than one training step per study).

Difficulty (``--baseline``): a logistic regression on 8x-downsampled, count-normalised,
square-rooted views (both views, 2 x 128 x 32 features), patient-level 70/30 split, AUC on
the held-out part with a DeLong-free bootstrap CI. It is a *linear pixel baseline*, not a
CNN: it tells whether a task is trivially separable, nothing more.

Run: ``.venv/bin/python -m benchmarks.bench_simulate [--studies 20] [--baseline 300]``.
Writes ``benchmarks/results/simulate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from osteoscan.simulate import simulate_cohort, simulate_study, write_cohort, write_study

RESULTS = Path(__file__).parent / "results"


def _timed(fn, *args, **kw) -> float:
    t = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t


def speed(n: int) -> dict:
    """Per-study seconds of simulate_study and of the two references, same studies."""
    simulate_study(0)  # warm imports
    sim, poi, load = [], [], []
    from osteoscan.io import load_study

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            t = time.perf_counter()
            st = simulate_study(1000 + i)
            sim.append(time.perf_counter() - t)
            lam = np.stack([st.scan.anterior, st.scan.posterior]).astype(np.float64)
            poi.append(_timed(np.random.default_rng(i).poisson, lam))
            row = write_study(st, tmp)
            load.append(_timed(load_study, Path(tmp) / row["image"]))
    s, p, ld = (float(np.median(x)) for x in (sim, poi, load))
    return {"studies": n, "simulate_s_per_study": s, "studies_per_s_per_core": 1.0 / s,
            "poisson_only_s": p, "load_study_s": ld, "ratio_simulate_vs_poisson": s / p,
            "ratio_simulate_vs_load_study": s / ld}


def cohort_throughput(n: int) -> dict:
    out = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            dt = _timed(write_cohort, tmp, n, seed=5, sites=("site_a", "site_b", "site_c"),
                        workers=workers)
        out[f"write_cohort_s_per_study_workers{workers}"] = dt / n
    out["parallel_speedup_2_workers"] = (out["write_cohort_s_per_study_workers1"]
                                         / out["write_cohort_s_per_study_workers2"])
    return out


def _features(st) -> np.ndarray:
    views = []
    for img in (st.scan.anterior, st.scan.posterior):
        small = img.reshape(128, 8, 32, 8).sum(axis=(1, 3))
        views.append(np.sqrt(small / max(img.sum(), 1.0) * 1e6).ravel())
    return np.concatenate(views)


def baseline_auc(n: int, difficulty: str, seed: int = 100) -> dict:
    """Logistic regression on downsampled pixels; patient-level split; AUC with bootstrap CI."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xs, ys, groups = [], [], []
    for st in simulate_cohort(n, seed=seed, sites=("site_a",), difficulty=difficulty):
        xs.append(_features(st))
        ys.append(int(st.label.label == "metastasis"))
        groups.append(st.patient_id)
    x, y = np.array(xs), np.array(ys)
    tr, te = next(GroupShuffleSplit(1, test_size=0.3, random_state=0).split(x, y, groups))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000))
    prob = model.fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(1000):
        idx = rng.integers(0, len(te), len(te))
        if len(set(y[te][idx])) == 2:
            boots.append(roc_auc_score(y[te][idx], prob[idx]))
    return {"difficulty": difficulty, "n": n, "n_test": int(len(te)),
            "auc": float(roc_auc_score(y[te], prob)),
            "auc_ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=20)
    ap.add_argument("--cohort", type=int, default=12)
    ap.add_argument("--baseline", type=int, default=0, help="studies per difficulty (0: skip)")
    args = ap.parse_args()
    res = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
           "load_average": os.getloadavg(), **speed(args.studies),
           **cohort_throughput(args.cohort)}
    if args.baseline:
        res["logreg_baseline"] = [baseline_auc(args.baseline, d)
                                  for d in ("easy", "default", "hard")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "simulate.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    if not args.baseline and "logreg_baseline" in old:
        res["logreg_baseline"] = old["logreg_baseline"]  # keep the slow part from an earlier run
    path.write_text(json.dumps({**old, **res}, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
