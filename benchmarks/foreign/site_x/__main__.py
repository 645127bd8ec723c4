"""Command line: ``python -m benchmarks.foreign.site_x --out DIR --n N --seed S``.

Sub-commands: ``stats DIR`` (cohort statistics beside REALISM.md's real values) and
``montage DIR PNG`` (a picture of 8 studies).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Generate a cohort, or run ``stats`` / ``montage``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["stats"]:
        from benchmarks.foreign.site_x.stats import main as stats_main

        return stats_main(argv[1:])
    if argv[:1] == ["montage"]:
        from benchmarks.foreign.site_x.montage import main as montage_main

        return montage_main(argv[1:])
    from benchmarks.foreign.site_x.cohort import write_cohort

    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_x",
                                 description="Write an independent simulated bone-scan site.")
    ap.add_argument("--out", required=True, help="output folder (manifest.csv, dicom/, ...)")
    ap.add_argument("--n", type=int, required=True, help="number of studies")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--metastatic-fraction", type=float, default=0.5)
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    args = ap.parse_args(argv)
    if args.n < 1 or not 0.0 <= args.metastatic_fraction <= 1.0:
        ap.error("--n must be >= 1 and --metastatic-fraction within 0..1")
    path = write_cohort(args.out, args.n, args.seed, args.metastatic_fraction,
                        progress=not args.quiet)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
