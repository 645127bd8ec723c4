"""A try, not in the code: would a local bone background that leaves out the hot pixels let
the candidates touch the faint metastases they miss (docs/lesions.md, "Where the missed
metastases go")? Selection studies only (seeds 400000-400199 on ``select_detector.SELECT``).

Per malignant lesion, touched by a candidate or not (``bench_candidates.study_rows``), and
candidates per scan, for three arms on the same studies: ``none`` (candidates without the
count band, as ``bench_candidates``), ``band`` (with the card's band, as ``analyze``) and
``robust`` (with the band, the background recomputed, as in
``candidates.view_maps``, over the bone pixels whose first-pass ratio is below
``MIN_RATIO`` only; where they weigh < 0.05 the first pass is kept). ``robust`` swaps
``candidates.view_maps`` for the run; nothing else changes.

Run (one thread, about 1.5 s per study)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.try_robust_background --n 200

Writes ``benchmarks/results/robust_background_try.json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def robust_maps(plain):
    """``view_maps`` whose background leaves out the hot bone pixels of a first pass."""
    from osteoscan.lesions import candidates as C
    from osteoscan.preprocessing.intensity import smooth

    def maps(counts, spacing, gain=1.0):
        m = plain(counts, spacing, gain)
        cold = m.bone & (m.ratio < C.MIN_RATIO)
        sig = C._px(C.BACKGROUND_MM, spacing)
        w = smooth(cold.astype(np.float32), sig)
        bg = smooth(np.where(cold, m.z, 0.0).astype(np.float32), sig) / np.maximum(w, 1e-3)
        return replace(m, background=np.where(w > 0.05, bg, m.background).astype(np.float32))
    return maps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=str(RESULTS / "robust_background_try.json"))
    args = ap.parse_args(argv)
    from benchmarks.bench_candidates import study_rows
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions import candidates as C
    from osteoscan.simulate.study import simulate_study

    plain, out = C.view_maps, {k: {"found": [], "scan": [], "normal": []}
                               for k in ("none", "band", "robust")}
    try:
        for i, seed in enumerate(range(400000, 400000 + args.n)):
            label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
            sim = simulate_study(seed, site=SELECT[i % len(SELECT)], force_label=label)
            scan, gain = C.count_normalised(sim.scan, (1.15, None), with_gain=True)
            for arm, o in out.items():
                C.view_maps = robust_maps(plain) if arm == "robust" else plain
                hot, _ = (C.scan_candidates(sim.scan) if arm == "none"
                          else C.scan_candidates(scan, gain=gain))
                o["found"] += [r["found"] for r in study_rows(sim, hot) if r["malignant"]]
                o["scan" if label != "normal" else "normal"].append(
                    sum(len(h) for h in hot.values()))
    finally:
        C.view_maps = plain
    res = {a: {"n": len(o["found"]), "touched": float(np.mean(o["found"])),
               "candidates_per_scan_median": float(np.median(o["scan"] + o["normal"])),
               "candidates_per_normal_scan_median": float(np.median(o["normal"]))}
           for a, o in out.items()}
    f = np.array([out[a]["found"] for a in ("band", "robust")])
    res["robust_minus_band"] = {"gained": int((~f[0] & f[1]).sum()),
                                "lost": int((f[0] & ~f[1]).sum())}
    Path(args.out).write_text(json.dumps({"config": vars(args), **res}, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
