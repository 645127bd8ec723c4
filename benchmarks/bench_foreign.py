"""The bundled lesion stages on an independent simulated site (``benchmarks/foreign/``: phantoms
written without osteoscan's simulator), with baselines in the same run.

Arms, on the same studies: the bundled hotspot-first detector (what ``Predictor.default()`` and
``analyze`` use), the bundled lesion networks (the older stage), and the bundled whole-image
reference model (patient level only). Figures per arm: :mod:`osteoscan.lesions.scoring`
(patient AUC with DeLong CI, specificity at sensitivity 0.90, FROC of metastases with
patient-bootstrap CIs, normals, BSI r, the stage's own call); paired: detector minus networks
(patient-bootstrap CIs on the same replicates) and the DeLong test detector vs image model;
with ``--previous DIR`` also the bundle being replaced (a saved detector folder), paired.

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


def _stream(manifest: Path, limit: int | None, failures: list):
    """The manifest's studies one at a time (a cohort of 2048 x 512 scans does not fit in
    memory at once); unreadable rows go to ``failures``."""
    import osteoscan as osc
    from osteoscan.errors import OsteoscanError
    from osteoscan.lesions.data import study_from_row

    m = osc.read_manifest(manifest)
    n = len(m.frame) if limit is None else min(limit, len(m.frame))
    for i in range(n):
        try:
            yield study_from_row(m, i, "auto")
        except OsteoscanError as exc:
            failures.append({"study": m.value(i, "study_id"), "problem": str(exc)})
        if (i + 1) % 25 == 0:
            log.info("%d/%d", i + 1, n)


def _row(st, outs: dict, image: float | None) -> dict:
    row = {"study_id": st.scan.study_id, "bsi_true": st.bsi,
           "metastases": int(sum(v == "malignant" for v in st.lesion_labels.values()))}
    for arm, o in outs.items():
        row["y"] = o.y
        row[arm] = {"probability": o.probability, "bsi": o.bsi, "malignant": o.malignant,
                    "metastases_hit": int(o.metastasis.detected.sum())}
    if image is not None:
        row["image_probability"] = image
    return row


def run(manifest: Path, *, limit: int | None, n_boot: int, image: bool,
        previous: Path | None = None) -> dict:
    from osteoscan.evaluation.lesions import patient_level
    from osteoscan.evaluation.statistics import delong_roc_test
    from osteoscan.inference import Predictor
    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none
    from osteoscan.lesions.scoring import figures, outcome, paired

    stages = {"detector": bundled_detector_or_none(), "networks": LesionAnalyzer.default()}
    if previous is not None:  # the bundle being replaced, a second baseline
        stages["previous"] = HotspotDetector.load(previous)
    predictor = Predictor.default(lesions=False) if image else None
    outs: dict = {arm: [] for arm in stages}
    rows, probs, failures = [], [], []
    t0 = time.perf_counter()
    for st in _stream(manifest, limit, failures):
        now = {arm: outcome(stage, st) for arm, stage in stages.items()}
        p = float(predictor.predict(st.scan).probability) if predictor else None
        for arm, o in now.items():
            outs[arm].append(o)
        probs.append(p)
        rows.append(_row(st, now, p))
    res = {arm: figures(o, n_boot=n_boot) for arm, o in outs.items()}
    res["detector_minus_networks"] = paired(outs["detector"], outs["networks"], n_boot=n_boot)
    if previous is not None:
        res["detector_minus_previous"] = paired(outs["detector"], outs["previous"], n_boot=n_boot)
    if predictor is not None:
        y = np.array([o.y for o in outs["detector"]])
        res["image"] = {"patient": patient_level(y, probs, n_boot=n_boot)}
        res["detector_vs_image_delong"] = delong_roc_test(
            y == 1, np.array([o.probability for o in outs["detector"]]), np.array(probs))
    return {"manifest": str(manifest), "studies": len(rows), "seconds": time.perf_counter() - t0,
            "failures": failures, "figures": res, "per_study": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the foreign cohort's manifest.csv")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="first N studies only (a smoke run)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--no-image", action="store_true", help="skip the whole-image baseline")
    ap.add_argument("--previous", type=Path, default=None,
                    help="a saved detector folder (the bundle being replaced) scored beside the "
                         "bundled one, paired")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_json

    out = run(args.data, limit=args.limit, n_boot=args.n_boot, image=not args.no_image,
              previous=args.previous)
    atomic_write_json(args.out, out, default=float)
    brief = {arm: {k: out["figures"][arm].get(k) for k in ("patient", "froc_metastasis", "normals", "called")}
             for arm in ("detector", "networks", *(["previous"] if args.previous else []))}
    print(json.dumps(brief, indent=1, default=float))
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
