"""Saved detectors side by side on the selection sites only (never a test site), with their
robustness runs: the figures a candidate bundle is chosen on (docs/lesions.md, "Augmented
training").

Each ``--detector NAME=FOLDER`` is scored (``bench_detector.score_detector``) on the 200
selection records of the build (``select_detector.SELECT``, seeds 400000-400199, made with
the count band ``select_detector.BAND`` as ``analyze`` makes them), on all of them and on the
two low-count selection sites (profile_9, profile_16: 0.24-0.43 and 0.26-0.36 M counts).
These records set each detector's calibration and threshold, so its figures at the threshold
are in-sample; AUC, CPM, sensitivity at 1 FP and BSI r are not moved by calibration. Each
``--robustness NAME=JSON`` (a ``bench_robustness`` output) gives the decision flips of
:func:`benchmarks.bench_robustness.flip_block`, and per kind of pair the patients with a flip
against the first run's, paired (exact McNemar, "correct" = no flip).

Run::

    .venv/bin/python -m benchmarks.compare_detectors --cache DIR \\
        --detector bundle=src/osteoscan/assets/lesions arm=/tmp/arm \\
        --robustness bundle=rob-bundle.json arm=rob-arm.json --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

LOW_COUNT_SITES = ("profile_9", "profile_16")
"""The selection sites with the lowest counts (0.24-0.43 and 0.26-0.36 M)."""


def _figures(r: dict) -> dict:
    return {"n": r["patient"]["n"], "auc": r["patient"]["auc"], "auc_ci": r["patient"]["auc_ci"],
            "spec_at_sens90": r["patient"]["spec_at_sens90"],
            "cpm": r["froc_metastasis"]["cpm"], "sens_at_1fp": r["sens_at_1fp"],
            "bsi_r": r["bsi"]["pearson_r"], "normals": r["normals"],
            "at_threshold": r["sens_spec_at_threshold"]}


def selection_figures(folders: dict[str, str], cache: str) -> dict:
    """Per detector: its figures on all selection records and on the low-count sites."""
    from benchmarks.bench_detector import score_detector
    from benchmarks.select_detector import BAND, SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector

    records = simulated_records(SELECT, list(range(400000, 400200)), cache=cache, count_band=BAND)
    low = [r for i, r in enumerate(records) if SELECT[i % len(SELECT)] in LOW_COUNT_SITES]
    out = {}
    for name, folder in folders.items():
        det = HotspotDetector.load(folder)
        out[name] = {"decision_threshold": det.decision_threshold,
                     "train_studies": det.card.get("train_studies"),
                     "all": _figures(score_detector(det, records)),
                     "low_count_sites": _figures(score_detector(det, low))}
    return out


def robustness_figures(runs: dict[str, str]) -> dict:
    """Per run: flips (:func:`flip_block`) and patients with a flip against the first run."""
    from benchmarks.bench_robustness import flip_block, patient_flips
    from osteoscan.evaluation.statistics import mcnemar_test

    data = {k: json.loads(open(v).read()) for k, v in runs.items()}
    first = next(iter(data.values()))
    ref = patient_flips(first["records"], first["decision_threshold"])
    out = {}
    for name, r in data.items():
        t = r["decision_threshold"]
        per = patient_flips(r["records"], t)
        block = flip_block(r["records"], t)
        out[name] = {"decision_threshold": t, "n": block["n"], "flips": block["flips"],
                     "auc": block["auc"],
                     "paired_vs_first": {k: mcnemar_test(~np.array(per[k]), ~np.array(ref[k]))
                                         for k in per}}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="the build's record cache")
    ap.add_argument("--detector", nargs="+", default=[], help="NAME=FOLDER of a saved detector")
    ap.add_argument("--robustness", nargs="+", default=[], help="NAME=JSON of bench_robustness")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from osteoscan.artefacts import atomic_write_text, dumps_json

    pairs = lambda items: dict(item.split("=", 1) for item in items)  # noqa: E731
    result = {"config": vars(args),
              "selection": selection_figures(pairs(args.detector), args.cache),
              "robustness": robustness_figures(pairs(args.robustness))}
    atomic_write_text(args.out, dumps_json(result, default=float))
    json.dump({k: {kk: (vv["auc"], vv["cpm"], vv["bsi_r"]) for kk, vv in v.items()
                   if kk in ("all", "low_count_sites")} for k, v in result["selection"].items()},
              sys.stdout, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
