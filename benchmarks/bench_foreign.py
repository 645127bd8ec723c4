"""The bundled lesion stages on an independent simulated site (``benchmarks/foreign/``: phantoms
written without osteoscan's simulator), with baselines in the same run.

Arms, on the same studies: the bundled hotspot-first detector (what ``Predictor.default()`` and
``analyze`` use), the bundled lesion networks (the older stage), and the bundled whole-image
reference model (patient level only). Figures per arm: :mod:`osteoscan.lesions.scoring`
(patient AUC with DeLong CI, specificity at sensitivity 0.90, FROC of metastases with
patient-bootstrap CIs, normals, BSI r, the stage's own call); paired: detector minus networks
(patient-bootstrap CIs on the same replicates) and the DeLong test detector vs image model.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_foreign --data COHORT/manifest.csv \\
        --out benchmarks/results/foreign_<site>_<cohort>.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _image_probabilities(studies) -> list[float]:
    from osteoscan.inference import Predictor

    predictor = Predictor.default(lesions=False)
    return [float(predictor.predict(st.scan).probability) for st in studies]


def _per_study(studies, outs: dict, image: list[float] | None) -> list[dict]:
    rows = []
    for i, st in enumerate(studies):
        row = {"study_id": st.scan.study_id, "y": outs["detector"][i].y, "bsi_true": st.bsi,
               "metastases": int(sum(v == "malignant" for v in st.lesion_labels.values()))}
        for arm, o in outs.items():
            r = o[i].result
            row[arm] = {"probability": r.probability, "bsi": r.bsi, "malignant": r.malignant_count,
                        "metastases_hit": int(o[i].metastasis.detected.sum())}
        if image is not None:
            row["image_probability"] = image[i]
        rows.append(row)
    return rows


def run(manifest: Path, *, limit: int | None, n_boot: int, image: bool) -> dict:
    from osteoscan.evaluation.lesions import patient_level
    from osteoscan.evaluation.statistics import delong_roc_test
    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.data import studies_from_manifest
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.lesions.scoring import figures, outcomes, paired

    studies, failures = studies_from_manifest(manifest, "auto")
    studies = studies[:limit] if limit else studies
    stages = {"detector": bundled_detector_or_none(), "networks": LesionAnalyzer.default()}
    outs, seconds = {}, {}
    for arm, stage in stages.items():
        t0 = time.perf_counter()
        outs[arm] = outcomes(stage, studies, lambda k, n, a=arm: k % 25 == 0 and log.info("%s %d/%d", a, k, n))
        seconds[arm] = time.perf_counter() - t0
    res = {arm: figures(o, n_boot=n_boot) for arm, o in outs.items()}
    res["detector_minus_networks"] = paired(outs["detector"], outs["networks"], n_boot=n_boot)
    probs = _image_probabilities(studies) if image else None
    if probs is not None:
        y = np.array([o.y for o in outs["detector"]])
        res["image"] = {"patient": patient_level(y, probs, n_boot=n_boot)}
        res["detector_vs_image_delong"] = delong_roc_test(
            y == 1, np.array([o.result.probability for o in outs["detector"]]), np.array(probs))
    return {"manifest": str(manifest), "studies": len(studies), "seconds": seconds,
            "failures": [{"study": s, "problem": p} for s, p in failures],
            "figures": res, "per_study": _per_study(studies, outs, probs)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the foreign cohort's manifest.csv")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="first N studies only (a smoke run)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--no-image", action="store_true", help="skip the whole-image baseline")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_json

    out = run(args.data, limit=args.limit, n_boot=args.n_boot, image=not args.no_image)
    atomic_write_json(args.out, out, default=float)
    brief = {arm: {k: out["figures"][arm].get(k) for k in ("patient", "froc_metastasis", "normals", "called")}
             for arm in ("detector", "networks")}
    print(json.dumps(brief, indent=1, default=float))
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
