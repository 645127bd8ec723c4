"""Model selection for the detector, on the SELECT sites only (never a test site).

Fits the detector on each candidate training set, calibrates it on the first half of the
selection cohort and scores it on the other half:

* ``site_a``: 250 site_a studies (seeds 100000-100249), the recipe of the first bundles;
* ``varied``: 400 studies spread over site_a and nine generated camera profiles
  (:data:`VARIED`; seeds 100000-100399, study ``i`` on profile ``i % 10``).

Selection cohort: 60 studies alternating site_b and ``profile_9`` (seeds 400000-400059).
Test profiles (site_c, profile_7, profile_13) appear nowhere here. Records are cached as in
``bench_detector`` (the same files), so the build reuses them.

Run: ``.venv/bin/python -m benchmarks.select_detector --cache /tmp/detector-cache``;
writes ``benchmarks/results/detector_select.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

VARIED = ("site_a", "profile_0", "profile_1", "profile_2", "profile_3", "profile_4",
          "profile_5", "profile_6", "profile_8", "profile_11")
"""Training sites of the ``varied`` set (pixel sizes 2.1-4.3 mm, 0.2-3 M counts)."""

SELECT = ("site_b", "profile_9")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from benchmarks.bench_detector import score_detector
    from osteoscan.artefacts import atomic_write_text
    from osteoscan.lesions.detector_train import fit_detector, simulated_records

    sel = simulated_records(SELECT, range(400000, 400060), args.cache)
    sets = {"site_a": (("site_a",), 250), "varied": (VARIED, 400)}
    out = {}
    for name, (sites, n) in sets.items():
        train = simulated_records(sites, range(100000, 100000 + n), args.cache)
        r = score_detector(fit_detector(train, sel[:30]), sel[30:])
        out[name] = {"auc": r["patient"]["auc"], "auc_ci": r["patient"]["auc_ci"],
                     "spec_at_sens90": r["patient"]["spec_at_sens90"],
                     "cpm": r["froc_metastasis"]["cpm"], "sens_at_1fp": r["sens_at_1fp"],
                     "bsi_r": r["bsi"]["pearson_r"], "normals": r["normals"]}
        print(name, out[name], flush=True)
    atomic_write_text(RESULTS / "detector_select.json", json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
