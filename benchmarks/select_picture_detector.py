"""Selection of the picture-domain detector, on selection data only (docs/robustness.md, "The
picture-domain detector": the rule, written before the figures).

Candidates: S, the bundled detector answering pictures; T, picture trees
(``scripts/build_detector.py --picture`` with ``--save DIR`` outside the package); C, the
bundled trees with only the patient stage's Platt scaling and threshold refitted on the
selection exports (``--calibration-only DIR`` writes it, the bundled files + ``picture/``).

Figures:

* on the 200 selection studies (site_b, profile_9, profile_14-16; seeds 400000-400199) as
  exports: AUC, sensitivity / specificity at each candidate's threshold, BSI r, normals with
  >= 2 malignant; S also on the same studies' DICOM records (the matched false-positive rate);
* ``--robustness JSON...`` (``bench_robustness --arms main --detector DIR --previous bundled``
  on the 40 selection patients): DICOM-vs-picture flips of the candidate and of S in the same
  run, picture and DICOM sensitivity / false-positive rate at each rendering's threshold.

Run::

    .venv/bin/python -m benchmarks.select_picture_detector --cache DIR \\
        --calibration-only /tmp/picture/candC --detectors /tmp/picture/candC /tmp/picture/candT \\
        --robustness /tmp/picture/rob-candC.json /tmp/picture/rob-candT.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from benchmarks.bench_detector import score_detector
from benchmarks.bench_robustness import load_detector, positive

SEEDS = list(range(400_000, 400_200))


def _brief(det, records) -> dict:
    f = score_detector(det, records)
    return {"auc": f["patient"]["auc"], "at_threshold": f["sens_spec_at_threshold"],
            "decision_threshold": f["decision_threshold"], "bsi_r": f["bsi"]["pearson_r"],
            "normals": f["normals"]}


def on_exports(args) -> dict:
    """Selection figures (1); writes candidate C when asked."""
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import calibrate

    bundled = load_detector("bundled")
    dcm = simulated_records(SELECT, SEEDS, cache=args.cache,
                            count_band=tuple(bundled.card["count_band"]))
    exp = simulated_records(SELECT, SEEDS, cache=args.cache, augment="export")
    ref = score_detector(bundled, dcm)["sens_spec_at_threshold"]
    out = {"S_on_dicom": ref, "S_on_exports": _brief(bundled, exp)}
    if args.calibration_only:
        pic = replace(bundled, card=dict(bundled.card), picture=None)
        calibrate(pic, exp, max_fpr=1.0 - ref["specificity"])
        pic.card.update(domain="picture", matched_to={"false_positive_rate":
                                                      1.0 - ref["specificity"]})
        replace(bundled, picture=pic).save(args.calibration_only)
    for folder in args.detectors:
        det = load_detector(folder)
        out[folder] = _brief(det.picture or det, exp)
    return out


def on_robustness(path: str) -> dict:
    """Selection figures (2) from one ``bench_robustness --previous bundled`` run."""
    d = json.loads(open(path).read())
    recs, out = d["records"], {}
    for name, key, t in (("candidate", "outcomes", d["decision_threshold"]),
                         ("S", "outcomes_previous", d["previous_decision_threshold"])):
        kinds = {"picture": ("png", "jpg"), "dicom": ("dcm",)}
        for kind, fmts in kinds.items():
            keys = [k for k in recs[0][key] if k.split(":")[0] in fmts]
            for label, fig in (("metastasis", "sensitivity"), ("normal", "false_positive_rate")):
                calls = [positive(r[key][k], t) for r in recs if r["label"] == label for k in keys]
                out.setdefault(name, {})[f"{kind}_{fig}"] = float(np.mean(calls))
    b = d["blocks"]["selection"]
    out["flips"] = {"candidate": b["detector"]["flips"], "S": b["previous"]["flips"]}
    out["paired"] = b["paired"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    ap.add_argument("--calibration-only", default=None, help="write candidate C here")
    ap.add_argument("--detectors", nargs="*", default=[])
    ap.add_argument("--robustness", nargs="*", default=[])
    args = ap.parse_args(argv)
    out = {"selection_exports": on_exports(args),
           "robustness": {p: on_robustness(p) for p in args.robustness}}
    print(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
