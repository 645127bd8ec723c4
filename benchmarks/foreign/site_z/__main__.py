"""``python -m benchmarks.foreign.site_z --out COHORT --n 200 --seed S [--prevalence 0.5]``."""

from __future__ import annotations

import argparse

from .cohort import write_cohort


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_z",
                                 description="Write a site_z cohort (DICOM, masks, truth).")
    ap.add_argument("--out", required=True, help="cohort folder (manifest.csv goes here)")
    ap.add_argument("--n", type=int, default=200, help="number of studies")
    ap.add_argument("--seed", type=int, default=0, help="seed; a seed gives identical bytes")
    ap.add_argument("--prevalence", type=float, default=0.5, help="share of metastatic studies")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    a = ap.parse_args(argv)
    print(write_cohort(a.out, a.n, a.seed, a.prevalence, progress=not a.quiet))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
