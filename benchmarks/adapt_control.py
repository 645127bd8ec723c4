"""The control of ``lesions adapt``: the bundle's recipes refitted with **no** site normal
must give the bundled detectors back (docs/site-threshold.md, "Refitting with the site's
normals"; docs/independent-sites.md, "Screen captures").

Refits the count detector and the picture variant from the recipe records (made once and
cached, as ``lesions adapt`` makes them) and prints, for each, whether the patient model, the
Platt scaling and the decision threshold equal the bundled card's; exit 1 if one differs.

    OMP_NUM_THREADS=1 python -m benchmarks.adapt_control --cache /tmp/rec/s12 [--domain picture]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

KEYS = ("patient_coef", "patient_intercept", "platt", "decision_threshold")


def control(domain: str, cache: Path, workers: int = 1) -> dict[str, bool]:
    """Each of :data:`KEYS`: equal (to 1e-12) between the bundled ``domain`` detector and its
    recipe refitted with no site normal."""
    from osteoscan.lesions import site_adapt as sa
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.lesions.site_threshold import for_domain

    det = bundled_detector_or_none()
    plan = sa.recipes(det, count=domain == "count", picture=domain == "picture")
    records = {k: sa.simulated(r, cache, workers=workers) for k, r in plan.items()}
    new = sa.adapted(det, plan, records, {domain: []}, "control")
    a, b = for_domain(det, domain).card, for_domain(new, domain).card
    return {k: bool(np.allclose(a[k], b[k], rtol=0, atol=1e-12)) for k in KEYS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--domain", choices=("count", "picture"), nargs="+",
                    default=["count", "picture"])
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    bad = 0
    for domain in args.domain:
        same = control(domain, args.cache, args.workers)
        print(domain, " ".join(f"{k}={'equal' if v else 'DIFFERS'}" for k, v in same.items()))
        bad += not all(same.values())
    return int(bad > 0)


if __name__ == "__main__":
    raise SystemExit(main())
