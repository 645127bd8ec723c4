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

def main(argv=None) -> int:
    from unittest import mock

    from benchmarks.select_detector import SELECT
    from osteoscan.artefacts import atomic_write_json
    from osteoscan.lesions import patient
    from osteoscan.simulate.study import simulate_study

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--out", default=str(RESULTS / "lesion_count_cost.json"))
    args = ap.parse_args(argv)
    det = patient.bundled_detector_or_none()
    band = det.card["count_band"]
    scans = [simulate_study(400_000 + i, site=SELECT[i % len(SELECT)],
                            force_label="metastasis").scan for i in range(args.n)]
    spent = {"joined_ids": 0.0}
    real = patient.joined_ids

    def timed(*a, **k):
        t = time.perf_counter()
        out = real(*a, **k)
        spent["joined_ids"] += time.perf_counter() - t
        return out

    t0 = time.perf_counter()
    with mock.patch.object(patient, "joined_ids", timed):
        for scan in scans:
            patient.study_arrays(scan, count_band=band)
    total = time.perf_counter() - t0
    result = {"studies": args.n, "study_arrays_s": total, "joined_ids_s": spent["joined_ids"],
              "share": spent["joined_ids"] / total,
              "per_study_ms": 1000 * spent["joined_ids"] / args.n}
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=1))
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
