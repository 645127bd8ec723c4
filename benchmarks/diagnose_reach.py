"""Read after the verdict of "BSI extent (session 8)" (docs/lesions.md): do the reach features
follow the share per unit area of the malignant candidates? Per group of records (the
low-count selection sites, the other selection sites, the training studies), by true share:
median own area, ``reach_area``, ``reach_ratio`` and share per unit area; Spearman's rho
between them. Selection sites only; writes ``benchmarks/results/reach_diagnosis.json``.

Run (records made by ``benchmarks.select_extent``; seconds)::

    .venv/bin/python -m benchmarks.diagnose_reach --cache /tmp/extent/cache

With ``--truth N`` also, on the first ``N`` training studies (re-simulated, truth masks read),
per malignant candidate the reach region's area over the area of the lesion it hits
(``truth_reach``): near 1 when the region follows the lesion, far above when it runs into the
normal skeleton.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
BINS = ((0.0, 0.02), (0.02, 0.1), (0.1, 0.2), (0.2, 0.5), (0.5, 100.0))
"""Bins of the true share (BSI percent)."""


def malignant_rows(paths) -> np.ndarray:
    """(share, own area in head lengths², reach_area, reach_ratio, share per area) per
    malignant candidate of the records at ``paths``."""
    from osteoscan.lesions.context import FEATURES

    col, rows = FEATURES.index("area_mm2"), []
    for p in paths:
        r = dict(np.load(p, allow_pickle=False))
        m = r["y"] > 0
        area = r["X"][m, col] / float(r["head_mm"]) ** 2
        rows.append(np.column_stack([r["bsi_share"][m], area, r["reach"][m],
                                     r["bsi_share"][m] / np.maximum(area, 1e-6)]))
    return np.vstack(rows)


def summary(R: np.ndarray) -> dict:
    """The bins and the rank correlations of :func:`malignant_rows`."""
    from scipy.stats import spearmanr

    bins = []
    for lo, hi in BINS:
        k = (R[:, 0] >= lo) & (R[:, 0] < hi)
        bins.append({"true_share": [lo, hi], "n": int(k.sum()),
                     **{name: float(np.median(R[k, j])) for j, name in enumerate(
                         ("share", "area", "reach_area", "reach_ratio", "share_per_area"))}})
    rho = lambda a, b: float(spearmanr(R[:, a], R[:, b])[0])  # noqa: E731
    return {"n": len(R), "bins": bins, "rho_share_per_area_reach_ratio": rho(4, 3),
            "rho_share_per_area_reach_area": rho(4, 2), "rho_share_reach_area": rho(0, 2),
            "rho_share_area": rho(0, 1)}


def truth_reach(n: int) -> dict:
    """Reach area over the hit lesion's area (both views' pixels of its truth mask in the
    candidate's view), per malignant candidate of the first ``n`` training studies."""
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import study_record
    from osteoscan.simulate.study import simulate_study

    ratios, lesion_mm2 = [], []
    for i in range(n):
        seed = TRAIN_SEED + i
        label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
        sim = simulate_study(seed, site=TRAIN[i % len(TRAIN)], force_label=label)
        rec = study_record(sim)
        px2 = float(np.prod(sim.scan.spacing_mm))
        head_px2 = float(rec["head_mm"]) ** 2 / px2
        for k in np.flatnonzero(rec["y"] > 0):
            view = "posterior" if rec["view"][k] else "anterior"
            area = float(np.count_nonzero(sim.lesion_masks[view] == rec["hit_id"][k]))
            if area:
                ratios.append(rec["reach"][k, 0] * head_px2 / area)
                lesion_mm2.append(area * px2)
    r, a = np.array(ratios), np.array(lesion_mm2)
    big = a >= np.percentile(a, 90)
    return {"studies": n, "candidates": len(r), "median": float(np.median(r)),
            "iqr": [float(np.percentile(r, 25)), float(np.percentile(r, 75))],
            "share_over_2": float(np.mean(r > 2)), "largest_tenth_median": float(np.median(r[big]))}


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount2 import LOW_SITES
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from benchmarks.select_extent import _sites, selection_seeds

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="select_extent's records (with reach)")
    ap.add_argument("--n-train", type=int, default=1200)
    ap.add_argument("--truth", type=int, default=0, help="training studies re-simulated")
    ap.add_argument("--out", default=str(RESULTS / "reach_diagnosis.json"))
    args = ap.parse_args(argv)
    c = Path(args.cache)
    sel = [(s, c / f"{s}-default-{k}-band1.15-None.npz")
           for k, s in zip(selection_seeds(), _sites(selection_seeds()), strict=True)]
    groups = {"low_sites": [p for s, p in sel if s in LOW_SITES],
              "other_sites": [p for s, p in sel if s not in LOW_SITES],
              "training": [c / f"{TRAIN[i % len(TRAIN)]}-default-{TRAIN_SEED + i}.npz"
                           for i in range(args.n_train)]}
    res = {k: summary(malignant_rows(v)) for k, v in groups.items()}
    if args.truth:
        res["truth_reach"] = truth_reach(args.truth)
    Path(args.out).write_text(json.dumps({"config": vars(args), **res}, indent=1))
    print(json.dumps({k: {m: v[m] for m in v if m.startswith("rho") or k == "truth_reach"}
                      for k, v in res.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
