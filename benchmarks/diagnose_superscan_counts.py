"""A diagnosis, not in the code: does the bundle miss superscans when the counts are low
(docs/independent-sites.md, "The rebuilt bundle (session 12)": one superscan of the test
site site_c decided normal)?

Looks for the simulator's superscans (``SimulatedStudy.superscan``) among fresh metastatic
studies of the selection sites (``select_detector.SELECT``, seeds from ``--start``; never
used for training, selection or testing), renders each as simulated, as a short low-count
acquisition (augment ``lowcount``: 0.2-0.5 M anterior counts) and as another camera
(``camera``: blur and thinning), all with the card's count band, as ``analyze`` reads them,
and prints each detector's answer: probability, decision at its own threshold, hotspots
called, BSI against the truth. ``--previous DIR``: the bundle it replaced, beside it.
Nothing is saved but the optional JSON.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnose_superscan_counts \\
        --cache /tmp/rec/sup --previous /tmp/old_bundle12 --n 400
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

RENDERINGS = {"as simulated": False, "low counts": "lowcount", "another camera": "camera"}
"""Rendering name -> ``simulated_records`` ``augment`` argument."""


def superscans(start: int, n: int) -> list[tuple[str, int]]:
    """(site, seed) of the superscans among ``n`` metastatic studies from ``start``
    (``seeds[i]`` on ``SELECT[i % len]``, as ``simulated_records`` assigns them)."""
    from benchmarks.select_detector import SELECT
    from osteoscan.simulate.study import simulate_study

    out = []
    for i in range(n):
        site, seed = SELECT[i % len(SELECT)], start + i
        if simulate_study(seed, site=site, force_label="metastasis").superscan:
            out.append((site, seed))
    return out


def answers(dets: dict, site: str, seed: int, cache) -> dict:
    """Per rendering and detector: probability, decision, hotspots called, BSI read."""
    from benchmarks.bench_lowcount import per_study
    from benchmarks.select_detector import BAND
    from osteoscan.lesions.detector_records import simulated_records

    out = {}
    for name, augment in RENDERINGS.items():
        rec = simulated_records([site], [seed], cache, prevalence=1.0, count_band=BAND,
                                augment=augment)
        out[name] = {"bsi_true": float(rec[0]["bsi"])}
        for k, det in dets.items():
            s = per_study(det, rec, "legacy")
            p = float(s["prob"][0])
            out[name][k] = {"p": p, "called": int(s["called"][0]), "bsi": float(s["bsi"][0]),
                            "metastatic": p >= det.decision_threshold}
    return out


def main(argv=None) -> int:
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--previous", type=Path, default=None)
    ap.add_argument("--start", type=int, default=470000)
    ap.add_argument("--n", type=int, default=400, help="metastatic studies searched")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    dets = {"bundle": bundled_detector_or_none()}
    if args.previous:
        dets["previous"] = HotspotDetector.load(args.previous)
    rows = {f"{site}-{seed}": answers(dets, site, seed, args.cache)
            for site, seed in superscans(args.start, args.n)}
    print(f"{len(rows)} superscans among {args.n} metastatic studies")
    for name in RENDERINGS:
        true = np.array([r[name]["bsi_true"] for r in rows.values()])
        for k in dets:
            a = [r[name][k] for r in rows.values()]
            read = np.array([x["bsi"] for x in a])
            print(f"{name} | {k} | decided metastatic {sum(x['metastatic'] for x in a)}/{len(a)}"
                  f" | min p {min(x['p'] for x in a):.2f} | mean BSI read {read.mean():.2f} "
                  f"against {true.mean():.2f} true | min called {min(x['called'] for x in a)}")
    if args.out:
        from osteoscan.artefacts import atomic_write_json

        atomic_write_json(args.out, rows, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
