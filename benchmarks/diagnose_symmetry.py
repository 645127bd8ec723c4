"""Does the left-right symmetry column see a foreign site's paired normal uptake? For the
candidates of normal studies at or above a peak ratio (2: conspicuous): the peak over the brightest
pixel near the mirrored point, in the detector's +-6 mm window (``sym_ratio``) and in wider
ones, on a foreign cohort's normals and on osteoscan's own simulated normals
(docs/independent-sites.md, "What the phantom's normals look like"). A selection cohort only.

    OMP_NUM_THREADS=1 python -m benchmarks.diagnose_symmetry \\
        --data /tmp/foreign-z/select/manifest.csv --n 40 --out benchmarks/results/symmetry_site_z.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RADII_MM = (6, 12, 20, 30)
"""Half-widths of the square window around the mirrored point (6: the detector's)."""


def _ratios(scan, min_ratio: float) -> dict[str, list]:
    """Per candidate of both views at or above ``min_ratio``: its peak over the brightest pixel in the
    window of each radius around the mirrored point (the candidates as ``analyze`` finds
    them, without the count band: the peaks are the same places)."""
    from osteoscan.lesions.candidates import scan_candidates
    from osteoscan.lesions.context import _window_max, body_frame

    hot, maps = scan_candidates(scan)
    out: dict[str, list] = {f"r{r}": [] for r in RADII_MM}
    for view, hs in hot.items():
        m = maps[view]
        frame = body_frame(m.body, m.z)
        px = float(np.sqrt(m.spacing[0] * m.spacing[1]))
        keep = [h for h in hs if h.features["peak_ratio"] >= min_ratio]
        if not keep:
            continue
        r = np.array([h.features["peak_row"] for h in keep])
        c = np.array([h.features["peak_col"] for h in keep])
        z = np.array([h.features["peak_z"] for h in keep])
        mirror = 2 * frame.midline(r) - c
        for rad in RADII_MM:
            win = _window_max(m.z, r, mirror, max(int(round(rad / px)), 1))
            out[f"r{rad}"] += list(z / np.maximum(win, 1e-3))
    return out


def _summary(rows: dict[str, list]) -> dict:
    return {k: {"n": len(v), "median": float(np.median(v)) if v else None,
                "share_above_1.3": float(np.mean(np.array(v) > 1.3)) if v else None}
            for k, v in rows.items()}


def run(data: Path, n: int, own_start: int, min_ratio: float) -> dict:
    import osteoscan as osc
    from benchmarks.select_detector import SELECT
    from osteoscan.simulate.study import simulate_study

    m = osc.read_manifest(data, validate=False)
    foreign: dict[str, list] = {f"r{r}": [] for r in RADII_MM}
    normals = [i for i, row in enumerate(m.frame.to_dict("records")) if row["label"] == "normal"]
    for i in normals[:n]:
        for k, v in _ratios(m.load_scan(i), min_ratio).items():
            foreign[k] += v
    own: dict[str, list] = {f"r{r}": [] for r in RADII_MM}
    for j in range(n):
        sim = simulate_study(own_start + j, site=SELECT[j % len(SELECT)], force_label="normal")
        for k, v in _ratios(sim.scan, min_ratio).items():
            own[k] += v
    return {"data": str(data), "min_ratio": min_ratio, "normals": min(n, len(normals)), "own_seeds": [own_start, n],
            "foreign": _summary(foreign), "own": _summary(own)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--own-start", type=int, default=480_000)
    ap.add_argument("--min-ratio", type=float, default=2.0,
                    help="peak ratio of the candidates compared (2: conspicuous)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    out = run(args.data, args.n, args.own_start, args.min_ratio)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("foreign", "own")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
