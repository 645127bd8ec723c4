"""How fast is the simulator, and how hard is its default task for a simple baseline?

Speed (single process, one core busy): ``simulate_study`` per study (median wall time, and
process CPU time, which is robust to a loaded machine), timed over ``--studies`` studies; in the same run two references on the same studies: ``poisson`` (only the Poisson
draw of two 1024 x 256 views, the floor of any count simulator) and ``load`` (reading the
written DICOM back through ``osteoscan.io.load_study``). Ratios = simulate / reference.
``write_cohort`` with 1 and 2 workers gives the files-on-disk throughput and the parallel
speed-up. The training engineer adds the training step time per study to compare
(target: simulation >= 10x faster than one training step per study).

Difficulty (``--baseline N``: N studies of site_a per difficulty): two non-CNN baselines with a
patient-level 70/30 split and a bootstrap CI of the held-out AUC: a logistic regression on
8x-downsampled, count-normalised, square-rooted views (2 x 128 x 32 features; linear), and
gradient boosting on 16 focal-uptake and left-right asymmetry statistics (a crude hotspot
reader). They tell whether a task is trivially separable; they are not CNN figures.

Varied cohort (``--varied N``): ``write_cohort`` of N studies over 20 generated site profiles
(profile_100 ... profile_119: matrices 512x128 to 2048x512, DICOM, masks, LabelMe, truth) in
one process; its CPU time per study, by matrix, projects the time of a 5,000-study cohort on
2 cores (2 workers; ``parallel_speedup_2_workers`` above checks the scaling).

Run: ``.venv/bin/python -m benchmarks.bench_simulate [--studies 20] [--baseline 400
--external 200] [--varied 60]`` (``--studies 0`` skips the per-study timing).
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
    sim, cpu, poi, load = [], [], [], []
    from osteoscan.io import load_study

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            t, c = time.perf_counter(), time.process_time()
            st = simulate_study(1000 + i)
            sim.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            lam = np.stack([st.scan.anterior, st.scan.posterior]).astype(np.float64)
            poi.append(_timed(np.random.default_rng(i).poisson, lam))
            row = write_study(st, tmp)
            load.append(_timed(load_study, Path(tmp) / row["image"]))
    s, p, ld = (float(np.median(x)) for x in (sim, poi, load))
    return {"studies": n, "simulate_s_per_study": s, "studies_per_s_per_core": 1.0 / s,
            "simulate_cpu_s_per_study": float(np.median(cpu)),
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


def varied_cohort(n: int) -> dict:
    """CPU and wall time per study of write_cohort over 20 generated profiles (1 process)."""
    from osteoscan.simulate.sites import get_site, profile_names

    sites = profile_names(100, 20)
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        write_cohort(tmp, n, seed=11, sites=sites, workers=1)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    mix: dict[str, float] = {}
    for name in sites:
        key = "x".join(map(str, get_site(name).shape))
        mix[key] = mix.get(key, 0.0) + 1.0 / len(sites)
    per = cpu / n
    c = time.process_time()
    for i in range(10):  # same-run reference: the fixed 1024x256 site_a study
        simulate_study(2000 + i)
    ref = (time.process_time() - c) / 10
    return {"varied_studies": n, "site_a_cpu_s_per_study_same_run": ref,
            "ratio_varied_vs_site_a_simulate": per / ref, "varied_profiles": list(sites),
            "varied_matrix_mix": mix,
            "varied_cpu_s_per_study": per, "varied_wall_s_per_study": wall / n,
            "projected_minutes_5000_studies_2_cores": 5000 * per / 2 / 60}


def _features(st) -> np.ndarray:
    views = []
    for img in (st.scan.anterior, st.scan.posterior):
        small = img.reshape(128, 8, 32, 8).sum(axis=(1, 3))
        views.append(np.sqrt(small / max(img.sum(), 1.0) * 1e6).ravel())
    return np.concatenate(views)


def _hotspot_features(st) -> np.ndarray:
    """Focal-uptake statistics: ratio of a lightly smoothed view to its local background."""
    from scipy.ndimage import gaussian_filter

    feats = []
    for img in (st.scan.anterior, st.scan.posterior):
        fine = gaussian_filter(img, 1.5)
        ratio = fine / (gaussian_filter(img, 7.0) + 2.0)
        body = fine > np.percentile(fine[fine > 0], 40)
        r = ratio[body]
        mirror = np.abs(fine - fine[:, ::-1]) / (fine + fine[:, ::-1] + 2.0)
        feats += [*np.percentile(r, [90, 99, 99.9]), r.max(),
                  *[(r > t).mean() for t in (1.3, 1.5, 1.8)],
                  *np.percentile(mirror[body], [99, 99.9])]
    return np.array(feats)


def _cohort_features(n: int, difficulty: str, seed: int, site: str = "site_a"):
    pix, hot, ys, groups = [], [], [], []
    for st in simulate_cohort(n, seed=seed, sites=(site,), difficulty=difficulty):
        pix.append(_features(st))
        hot.append(_hotspot_features(st))
        ys.append(int(st.label.label == "metastasis"))
        groups.append(st.patient_id)
    return np.array(pix), np.array(hot), np.array(ys), groups


def baseline_auc(n: int, difficulty: str, seed: int = 100, external: int = 0) -> list[dict]:
    """Two non-CNN baselines, patient-level 70/30 split, AUC with a bootstrap CI.

    ``logreg_pixels``: logistic regression on downsampled pixels (linear);
    ``gbm_hotspots``: gradient boosting on 16 focal-uptake and asymmetry statistics.
    With ``external`` > 0, the same fitted models are also scored on that many site_b and
    site_c studies (other cameras; site_c: lower counts, coarser resolution).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pix, hot, y, groups = _cohort_features(n, difficulty, seed)
    tr, te = next(GroupShuffleSplit(1, test_size=0.3, random_state=0).split(pix, y, groups))
    models = {"logreg_pixels": (make_pipeline(StandardScaler(),
                                              LogisticRegression(C=0.01, max_iter=2000)), pix),
              "gbm_hotspots": (HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05,
                                                              random_state=0), hot)}
    ext = {site: _cohort_features(external, difficulty, seed + 1, site)
           for site in ("site_b", "site_c")} if external else {}
    out = []
    for k, (name, (model, x)) in enumerate(models.items()):
        prob = model.fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
        row = {"model": name, "difficulty": difficulty, "n": n, "n_test": int(len(te)),
               **_auc_ci(y[te], prob)}
        for site, feats in ext.items():
            p_ext = model.predict_proba(feats[k])[:, 1]
            row[f"external_{site}"] = {"n": external, **_auc_ci(feats[2], p_ext)}
        out.append(row)
    return out


def _auc_ci(y: np.ndarray, prob: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    boots = []
    for _ in range(1000):
        idx = rng.integers(0, len(y), len(y))
        if len(set(y[idx])) == 2:
            boots.append(roc_auc_score(y[idx], prob[idx]))
    if len(set(y)) < 2 or not boots:
        return {"auc": None, "auc_ci95": [None, None]}
    return {"auc": float(roc_auc_score(y, prob)),
            "auc_ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=20)
    ap.add_argument("--cohort", type=int, default=12)
    ap.add_argument("--baseline", type=int, default=0, help="studies per difficulty (0: skip)")
    ap.add_argument("--varied", type=int, default=0,
                    help="studies of the varied (generated-profile) cohort (0: skip)")
    ap.add_argument("--external", type=int, default=0,
                    help="site_b and site_c studies scoring the default baselines (0: skip)")
    args = ap.parse_args()
    res = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
           "load_average": os.getloadavg()}
    if args.studies:
        res.update({**speed(args.studies), **cohort_throughput(args.cohort)})
    if args.varied:
        res.update(varied_cohort(args.varied))
    if args.baseline:
        res["baselines"] = [r for d in ("easy", "default", "hard")
                            for r in baseline_auc(args.baseline, d,
                                                  external=args.external if d == "default" else 0)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "simulate.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.pop("logreg_baseline", None)  # superseded by "baselines"
    path.write_text(json.dumps({**old, **res}, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
