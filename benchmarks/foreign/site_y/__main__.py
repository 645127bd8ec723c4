"""Command line: ``python -m benchmarks.foreign.site_y --out DIR --n N --seed S
[--metastatic-fraction 0.5]`` writes a cohort; ``... stats DIR [--json FILE]`` measures it;
``... montage DIR OUT.png [--n 8]`` draws it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "stats":
        from .stats import main as stats_main
        return stats_main(argv[1:])
    if argv and argv[0] == "montage":
        from .montage import main as montage_main
        return montage_main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_y",
                                 description="Write an independent simulated bone-scan cohort (site_y).")
    ap.add_argument("--out", required=True, type=Path, help="cohort folder (created)")
    ap.add_argument("--n", required=True, type=int, help="number of studies (one per patient)")
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--metastatic-fraction", type=float, default=0.5)
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    a = ap.parse_args(argv)
    if a.n < 1 or not 0.0 <= a.metastatic_fraction <= 1.0:
        ap.error("--n must be >= 1 and --metastatic-fraction within 0..1")
    from .cohort import generate
    path = generate(a.out, a.n, a.seed, a.metastatic_fraction, quiet=a.quiet)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
