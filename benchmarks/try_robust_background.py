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

Writes ``benchmarks/results/robust_background_try.json``. With ``--refit N`` instead: both
candidate versions' detectors fitted alike on the first ``N`` training studies of the recipe
(``select_detector.TRAIN``, seeds from 130000; the current one's records from ``--cache``,
the bundle's, the other's made into ``--new-cache``), calibrated on selection studies 0-99
and compared on 100-199 with ``bench_lowcount.compare`` (paired bootstrap; legacy FROC rule
for both); writes ``benchmarks/results/robust_background_refit.json``.
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


def refit(n_train: int, cache: str, new_cache: str, n_boot: int) -> dict:
    """The two arms' detectors on the same studies (module docstring)."""
    from benchmarks.bench_lowcount import compare, per_study
    from benchmarks.select_detector import BAND, SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions import candidates as C
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_detector

    plain, out = C.view_maps, {}
    for arm, folder in (("band", cache), ("robust", new_cache)):
        C.view_maps = robust_maps(plain) if arm == "robust" else plain
        try:
            train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + n_train), folder)
            sel = simulated_records(SELECT, range(400000, 400200), folder, count_band=BAND)
        finally:
            C.view_maps = plain
        det = fit_detector(train, sel[:100])
        det.card["bsi_hotspots"] = "malignant"
        out[arm] = (per_study(det, sel[100:], "legacy"), sel[100:])
    (new, recs), (old, _) = out["robust"], out["band"]
    return compare(new, old, new, old, recs, n_boot)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=None)
    ap.add_argument("--refit", type=int, default=0, help="training studies of a refit (0: none)")
    ap.add_argument("--cache", default="/tmp/lowcount/c2", help="the bundle's records")
    ap.add_argument("--new-cache", default=None, help="records of the other background")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)
    if args.refit:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        res = refit(args.refit, args.cache, args.new_cache, args.n_boot)
        out = args.out or str(RESULTS / "robust_background_refit.json")
        Path(out).write_text(json.dumps({"config": vars(args), **res}, indent=1, default=float))
        print(json.dumps(res, indent=1, default=float))
        return 0
    args.out = args.out or str(RESULTS / "robust_background_try.json")
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
