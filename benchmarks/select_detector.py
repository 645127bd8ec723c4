"""Model selection for the detector, on the SELECT site only (site_b; never the test site).

Fits the detector on the 100 site_a training studies, on 250 (seeds 100000-100249), and on
the 100 plus 60 camera-randomised site_a studies (``augment=True``); calibrates each on the
first 25 site_b studies and scores it on the other 25. Uses the records cached by
``bench_detector``.

Run: ``.venv/bin/python -m benchmarks.select_detector --cache /tmp/detector-cache``;
writes ``benchmarks/results/detector_select.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    args = ap.parse_args(argv)
    from benchmarks.bench_detector import score_detector
    from osteoscan.lesions.detector_train import fit_detector, simulated_records

    train = simulated_records(["site_a"], range(100000, 100250), args.cache)
    aug = simulated_records(["site_a"], range(200000, 200060), args.cache, augment=True)
    sel = simulated_records(["site_b"], range(400000, 400050), args.cache)
    out = {}
    for name, tr in (("plain", train[:100]), ("augmented", train[:100] + aug),
                     ("plain_250", train)):
        r = score_detector(fit_detector(tr, sel[:25]), sel[25:])
        out[name] = {"auc": r["patient"]["auc"], "cpm": r["froc_metastasis"]["cpm"],
                     "sens_at_1fp": r["sens_at_1fp"], "bsi_r": r["bsi"]["pearson_r"],
                     "normals": r["normals"]}
        print(name, out[name], flush=True)
    (RESULTS / "detector_select.json").write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
