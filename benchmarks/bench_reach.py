"""Time of the reach features (``context.reach_features``) against the rest of
``study_arrays`` on the same selection studies in the same run (docs/lesions.md, "BSI extent
(session 8)"); writes ``benchmarks/results/reach_cost.json``.

Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_reach --n 10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv=None) -> int:
    from benchmarks.bench_lesion_count import step_share
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions import context
    from osteoscan.simulate.study import simulate_study

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--out", default=str(RESULTS / "reach_cost.json"))
    args = ap.parse_args(argv)
    scans = [simulate_study(400_000 + i, site=SELECT[i % len(SELECT)]).scan
             for i in range(args.n)]
    total, spent = step_share(context, "reach_features", scans, count_band=BAND, reach=True)
    res = {"studies": args.n, "study_arrays_with_reach_s": total, "reach_features_s": spent,
           "reach_share": spent / total}
    Path(args.out).write_text(json.dumps({"config": vars(args), **res}, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
