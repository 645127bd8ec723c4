"""The cost of joining one lesion's candidates for counting (``lesions.lesion_count``): its
share of ``study_arrays``' time, on selection studies (docs/lesions.md, "Lesion counts").

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_lesion_count --n 10
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def step_share(module, name: str, scans, **arrays_kw) -> tuple[float, float]:
    """(seconds of ``study_arrays(scan, **arrays_kw)`` over ``scans``, seconds spent in
    ``module.name`` within them): the step is timed where it is looked up (also serves
    ``bench_reach``)."""
    from unittest import mock

    from osteoscan.lesions.arrays import study_arrays

    spent, real = [0.0], getattr(module, name)

    def timed(*a, **k):
        t = time.perf_counter()
        out = real(*a, **k)
        spent[0] += time.perf_counter() - t
        return out

    t0 = time.perf_counter()
    with mock.patch.object(module, name, timed):
        for scan in scans:
            study_arrays(scan, **arrays_kw)
    return time.perf_counter() - t0, spent[0]


def main(argv=None) -> int:
    from benchmarks.select_detector import SELECT
    from osteoscan.artefacts import atomic_write_json
    from osteoscan.lesions import arrays, patient
    from osteoscan.simulate.study import simulate_study

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--out", default=str(RESULTS / "lesion_count_cost.json"))
    args = ap.parse_args(argv)
    det = patient.bundled_detector_or_none()
    band = det.card["count_band"]
    scans = [simulate_study(400_000 + i, site=SELECT[i % len(SELECT)],
                            force_label="metastasis").scan for i in range(args.n)]
    total, joined = step_share(arrays, "joined_ids", scans, count_band=band,
                               count_lesions=True)
    result = {"studies": args.n, "study_arrays_s": total, "joined_ids_s": joined,
              "share": joined / total, "per_study_ms": 1000 * joined / args.n}
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
