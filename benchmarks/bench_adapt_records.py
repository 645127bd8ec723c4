"""How much a pool of workers speeds up the first run of ``osteoscan lesions adapt``: the
recipe's first studies simulated serially and with ``--workers`` in the same run, each into
an empty cache (docs/site-threshold.md).

    python -m benchmarks.bench_adapt_records --n-train 40 --n-select 10 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=40)
    ap.add_argument("--n-select", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from osteoscan.lesions import site_adapt as sa
    from osteoscan.lesions.patient import bundled_detector_or_none

    recipe = sa.recipe_of(bundled_detector_or_none()).sized(args.n_train, args.n_select)
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, args.workers):
            start = time.perf_counter()
            sa.simulated(recipe, Path(tmp) / str(workers), workers=workers)
            seconds[workers] = time.perf_counter() - start
    n = args.n_train + args.n_select
    out = {"studies": n, "seconds": seconds, "speedup": seconds[1] / seconds[args.workers],
           "serial_s_per_study": seconds[1] / n}
    print(out)
    return out


if __name__ == "__main__":
    main()
