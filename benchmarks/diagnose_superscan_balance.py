"""A diagnosis, not in the code: does anything a record measures tell the simulator's
superscans from normal patients with a high axial uptake balance (docs/independent-sites.md,
"Where issue 16's detector stands after session 11")?

Reads the balanced training records (``simulated_records(TRAIN, ..., uptake_balance=True)``,
cached as ``-bal``), recomputes each patient's spine factor from its seed
(:func:`osteoscan.simulate.physiology.sample_uptake_balance`, seeded as ``simulate.study``
seeds it) and prints, per group, the view's spine-to-skeleton balance (``axial_rel``) on
each view and the number of candidates. Superscans are taken as the studies of true BSI
> 5 % (the simulator's superscans read 5-11 %; of the first 30 such training studies, 25 are
superscans, ``SimulatedStudy.superscan``). Nothing is saved.

    .venv/bin/python -m benchmarks.diagnose_superscan_balance --cache /tmp/rec/build --n 7200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def study_row(rec: dict, seed: int) -> tuple | None:
    """(label, true BSI, posterior and anterior axial_rel, spine factor, candidates)."""
    from osteoscan.lesions.context import FEATURES
    from osteoscan.simulate.physiology import sample_uptake_balance

    X = rec["X"]
    if not len(X):
        return None
    post = X[:, FEATURES.index("is_posterior")] > 0.5
    ax = X[:, FEATURES.index("axial_rel")]
    first = [float(ax[m][0]) if m.any() else np.nan for m in (post, ~post)]
    spine = sample_uptake_balance(np.random.default_rng([seed, 5]))["lumbar_spine"]
    return (int(rec["label"]), float(rec["bsi"]), *first, spine, len(X))


def main(argv=None) -> int:
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--n", type=int, default=3600, help="training studies from TRAIN_SEED")
    args = ap.parse_args(argv)
    seeds = range(TRAIN_SEED, TRAIN_SEED + args.n)
    records = simulated_records(TRAIN, seeds, args.cache, uptake_balance=True)
    rows = [study_row(r, seed) for r, seed in zip(records, seeds, strict=True)]
    label, bsi, post, ant, spine, n = np.array([r for r in rows if r is not None]).T
    normal = label == 0
    groups = {"normals": normal, "normals, spine factor > 1.5": normal & (spine > 1.5),
              "normals, spine factor > 1.75": normal & (spine > 1.75),
              "metastatic, BSI <= 2 %": (label == 1) & (bsi <= 2),
              "superscans (BSI > 5 %)": bsi > 5}
    print("group | studies | posterior axial_rel median (5-95 %) | anterior | candidates")
    for name, m in groups.items():
        q = [f"{np.nanmedian(v[m]):.2f} ({np.nanquantile(v[m], .05):.2f}-"
             f"{np.nanquantile(v[m], .95):.2f})" for v in (post, ant)]
        print(f"{name} | {int(m.sum())} | {q[0]} | {q[1]} | {np.median(n[m]):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
