"""Memory of walking a seg3d cohort (docs/seg3d.md, "Cohorts in bounded memory"): every study
read at once (the list ``read_cases`` returned before session 7) against ``read_cases``'s
studies read when used, within a byte budget, in one run on the same cohort.

Each arm prepares every study for training (``volumetric.training.prepare``: the arrays on
the model's grid that training keeps), as ``seg3d train`` does; the figure is the peak traced
memory (``tracemalloc``: numpy's arrays are traced) and the seconds, and the prepared arrays
must be identical. The cohort is simulated on a CT sampling of real scanners
(``--ct-spacing``, default 3 mm slices of 1.6 mm pixels) so that one study is 100-200 MB.

Usage: ``python -m benchmarks.bench_seg3d_cases OUT.json [--n 6] [--ct-spacing 3,1.6]
[--budget-mb 256] [--cohort DIR]`` (an existing ``--cohort`` is reused).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _walk(load, settings) -> tuple[list, float, float]:
    """Read the cohort (``load()``) and prepare every case as training does, traced
    together; (prepared arrays, peak MB, seconds)."""
    from osteoscan.volumetric.training import prepare

    tracemalloc.start()
    t0 = time.perf_counter()
    cases = load()
    prepared = [prepare(c, settings) for c in cases]
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return prepared, peak, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--ct-spacing", default="3,1.6")
    parser.add_argument("--budget-mb", type=float, default=256)
    parser.add_argument("--cohort", type=Path, default=Path("/tmp/bench-seg3d-cases"))
    args = parser.parse_args(argv)

    from osteoscan.volumetric.training import Seg3DSettings
    from osteoscan.workflows.seg3d import simulate_cohort
    from osteoscan.workflows.seg3d_cases import case_bytes, read_cases, read_row

    spacing = tuple(float(v) for v in args.ct_spacing.split(","))
    if not (args.cohort / "manifest.csv").is_file():
        simulate_cohort(args.cohort, args.n, seed=9100, spacing=spacing,
                        profiles=("profile_1", "profile_2"))
    rows = list(pd.read_csv(args.cohort / "manifest.csv", dtype=str,
                            keep_default_na=False).itertuples())
    settings = Seg3DSettings(architecture="unet3d", channels="spectct", spacing_mm=5.0,
                             patch=(16, 32, 32), negatives="bone")
    eager, eager_mb, eager_s = _walk(lambda: [read_row(args.cohort, r) for r in rows], settings)
    held = []  # the lazy arm's cases, kept to count their reads

    def lazy_load():
        held.extend(read_cases(args.cohort, budget=int(args.budget_mb * 2**20)))
        return held

    lazy, lazy_mb, lazy_s = _walk(lazy_load, settings)
    same = all(np.array_equal(a, b) for pe, pl in zip(eager, lazy, strict=True)
               for a, b in zip(pe, pl, strict=True) if a is not None)
    study_mb = [case_bytes(read_row(args.cohort, r)) / 2**20 for r in rows[:1]][0]
    result = {"command": "python -m benchmarks.bench_seg3d_cases " + " ".join(sys.argv[1:]),
              "studies": len(rows), "ct_spacing_mm": spacing, "study_mb": round(study_mb, 1),
              "budget_mb": args.budget_mb, "read_at_once": {"peak_mb": round(eager_mb, 1),
                                                          "seconds": round(eager_s, 2)},
              "read_when_used": {"peak_mb": round(lazy_mb, 1), "seconds": round(lazy_s, 2),
                                 "reads": held[0]._cache.reads},
              "peak_ratio": round(lazy_mb / eager_mb, 3), "identical_prepared_arrays": same}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
