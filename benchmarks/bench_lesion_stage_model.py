"""The lesion stage beside a user's own image model (``Predictor.from_path(run)``, ``osteoscan
analyze --model RUN``, the demo): the hotspot-first detector against the lesion networks.

With a user's image model the image model decides the study and the lesion stage's answer is
made to agree with it (``lesions.analyzer.agreeing``). Both arms see the same decisions; what
differs is the hotspots and the BSI. Per arm, on the studies of one site of a manifest with
the simulator's truth (``bsi``, ``label``): the BSI's Pearson r and mean |BSI - truth| with
patient-bootstrap 95 % CIs and the paired difference (detector minus networks), the malignant
lesions called in the truly normal studies, the largest hotspot called malignant, and the
lesion stage's time per study. docs/analyze.md ("The lesion stage beside your own model").

    python -m benchmarks.bench_lesion_stage_model --run demo-out/run \\
        --manifest demo-out/data/manifest.csv --site site_c
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _arm_rows(predictor, manifest, rows: list[int]) -> list[dict]:
    out = []
    for i in rows:
        scan, _ = manifest.load(i)
        pred = predictor.predict(scan)
        called = [h for h in pred.hotspots if h.probability >= pred.lesions.threshold]
        out.append({"bsi": float(pred.bsi), "malignant": int(pred.lesions.malignant_count),
                    "positive": bool(pred.positive),
                    "largest_called_mm2": max((h.area_mm2 for h in called), default=0.0),
                    "seconds": float(pred.timings["lesions"])})
    return out


def figures(arms: dict[str, list[dict]], truth: np.ndarray, normal: np.ndarray,
            patients: np.ndarray, n_boot: int = 2000) -> dict:
    """Per arm and paired (``detector`` minus ``networks``), with bootstrap 95 % CIs."""
    from osteoscan.evaluation.metrics import weighted_pearson
    from osteoscan.evaluation.statistics import bootstrap_block

    bsi = {k: np.array([r["bsi"] for r in v]) for k, v in arms.items()}

    def statistic(w):
        out = {}
        for k, b in bsi.items():
            out[f"{k}_r"] = weighted_pearson(b, truth, w)
            out[f"{k}_mae"] = (w * np.abs(b - truth)).sum(1) / w.sum(1)
        out["diff_r"] = out["detector_r"] - out["networks_r"]
        out["diff_mae"] = out["detector_mae"] - out["networks_mae"]
        return out

    res = bootstrap_block(statistic, patients, n_boot=n_boot, seed=0)
    for k, v in arms.items():
        mal = np.array([r["malignant"] for r in v])[normal]
        res[k] = {"normals_malignant_median": float(np.median(mal)) if len(mal) else None,
                  "normals_with_2_or_more": float(np.mean(mal >= 2)) if len(mal) else None,
                  "largest_called_mm2": max(r["largest_called_mm2"] for r in v),
                  "seconds_per_study": float(np.mean([r["seconds"] for r in v]))}
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="the image model (run folder or card)")
    ap.add_argument("--manifest", required=True, help="a simulated manifest with bsi and label")
    ap.add_argument("--site", default="site_c", help="the site whose studies are scored")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--out", default=str(RESULTS / "lesion_stage_model.json"))
    args = ap.parse_args(argv)

    from osteoscan.artefacts import atomic_write_json
    from osteoscan.inference import Predictor
    from osteoscan.io import read_manifest
    from osteoscan.lesions.analyzer import bundled_or_none
    from osteoscan.lesions.patient import bundled_detector_or_none

    manifest = read_manifest(args.manifest)
    frame = manifest.frame
    rows = [i for i in range(len(frame)) if frame["site"].iloc[i] == args.site]
    stages = {"networks": bundled_or_none(), "detector": bundled_detector_or_none()}
    arms = {k: _arm_rows(Predictor.from_path(args.run, lesion_analyzer=s), manifest, rows)
            for k, s in stages.items()}
    sub = frame.iloc[rows]
    truth = sub["bsi"].astype(float).to_numpy()
    normal = (sub["label"] == "normal").to_numpy()
    out = {"run": args.run, "manifest": args.manifest, "site": args.site, "n": len(rows),
           "n_normal": int(normal.sum()),
           "positive_calls": int(sum(r["positive"] for r in arms["detector"])),
           **figures(arms, truth, normal, sub["patient_id"].astype(str).to_numpy(), args.n_boot)}
    atomic_write_json(args.out, out)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
