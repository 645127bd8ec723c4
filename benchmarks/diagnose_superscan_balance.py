"""A diagnosis, not in the code: does anything a record measures tell the simulator's
superscans from normal patients with a high axial uptake balance (docs/independent-sites.md,
"Where issue 16's detector stands after session 11")?

Reads the balanced training records (``simulated_records(TRAIN, ..., uptake_balance=True)``,
cached as ``-bal``), recomputes each patient's spine factor from its seed
(:func:`osteoscan.simulate.physiology.sample_uptake_balance`, seeded as ``simulate.study``
seeds it) and prints, per group, the view's spine-to-skeleton balance (``axial_rel``), soft
tissue (``soft_rel``) and kidneys (``kidney_rel``) on each view and the number of
candidates, then how well each alone tells the superscans from normal patients with a spine
factor > 1.5 (AUC of its low values, DeLong CI). Superscans are taken as the studies of true BSI
> 5 % (the simulator's superscans read 5-11 %; of the first 30 such training studies, 25 are
superscans, ``SimulatedStudy.superscan``). Nothing is saved.

    .venv/bin/python -m benchmarks.diagnose_superscan_balance --cache /tmp/rec/build --n 7200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


COLUMNS = ("axial_rel", "soft_rel", "kidney_rel")
"""The view-level columns printed, each on the posterior and the anterior view."""


def study_row(rec: dict, seed: int) -> tuple | None:
    """(label, true BSI, spine factor, candidates, then each of :data:`COLUMNS` on the
    posterior and the anterior view; NaN where a record predates a column)."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.simulate.physiology import sample_uptake_balance

    X = rec["X"]
    if not len(X):
        return None
    post = X[:, FEATURES.index("is_posterior")] > 0.5
    cols = [float(X[m, FEATURES.index(c)][0]) if m.any() else np.nan
            for c in COLUMNS for m in (post, ~post)]
    spine = sample_uptake_balance(np.random.default_rng([seed, 5]))["lumbar_spine"]
    return (int(rec["label"]), float(rec["bsi"]), spine, len(X), *cols)


def _quantiles(v: np.ndarray) -> str:
    return (f"{np.nanmedian(v):.2f} ({np.nanquantile(v, .05):.2f}-"
            f"{np.nanquantile(v, .95):.2f})")


def main(argv=None) -> int:
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from osteoscan.evaluation.statistics import delong_ci
    from osteoscan.lesions.detector_records import simulated_records

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--n", type=int, default=3600, help="training studies from TRAIN_SEED")
    args = ap.parse_args(argv)
    seeds = range(TRAIN_SEED, TRAIN_SEED + args.n)
    records = simulated_records(TRAIN, seeds, args.cache, uptake_balance=True)
    rows = np.array([r for r in (study_row(r, s) for r, s in zip(records, seeds, strict=True))
                     if r is not None])
    label, bsi, spine, n, vals = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4:]
    normal = label == 0
    groups = {"normals": normal, "normals, spine factor > 1.5": normal & (spine > 1.5),
              "normals, spine factor > 1.75": normal & (spine > 1.75),
              "metastatic, BSI <= 2 %": (label == 1) & (bsi <= 2),
              "superscans (BSI > 5 %)": bsi > 5}
    heads = [f"{v} {c} median (5-95 %)" for c in COLUMNS for v in ("posterior", "anterior")]
    print("group | studies | " + " | ".join(heads) + " | candidates")
    for name, m in groups.items():
        q = [_quantiles(vals[m, j]) for j in range(vals.shape[1])]
        print(f"{name} | {int(m.sum())} | " + " | ".join(q) + f" | {np.median(n[m]):.0f}")
    pair = (normal & (spine > 1.5)) | (bsi > 5)  # how well each column alone tells them apart
    for j, h in enumerate(heads):
        ok = pair & ~np.isnan(vals[:, j])
        if ok.sum() > 10:
            a, lo, hi = delong_ci((bsi[ok] > 5).astype(int), -vals[ok, j])
            print(f"AUC of low {h.split(' median')[0]}: superscans against normals with spine "
                  f"factor > 1.5: {a:.3f} ({lo:.3f}-{hi:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
