"""The held-out figures of a seg3d run in one JSON (docs/seg3d.md, "Fourth run").

Reads the ``summary.json`` that ``osteoscan seg3d evaluate`` / ``seg3d baseline`` wrote for
each arm (same test cohort, same code) and keeps the issue's figures with their 95 % CIs:
lesion DSC, metastatic DSC, HD95, lesion sensitivity at 1.5 FP/scan, FROC CPM, origin AUC.

With ``paired=A,B`` among the arguments it adds the paired differences of arm A minus arm
B on the same scans: lesion and metastatic DSC per scan (patient-bootstrap 95 % CI,
``statistics.bootstrap_block``) and the origin AUC (paired DeLong test,
``statistics.delong_roc_test``; a patient without a metastatic instance scores 0.5).

Usage: ``python -m benchmarks.seg3d_heldout OUT.json NAME=EVAL_DIR ... [paired=A,B]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("dice_lesion", "dice_metastatic", "iou_lesion", "hd95_lesion_mm", "sensitivity_voxel",
        "specificity_voxel", "origin_auc")


def arm(folder: str | Path) -> dict:
    """The kept figures of one evaluation folder."""
    summary = json.loads((Path(folder) / "summary.json").read_text())
    froc = summary["froc"]
    return {"n_scans": summary["n_scans"], "n_metastases": froc.get("n_lesions"),
            **{k: summary[k] for k in KEYS},
            "lesion_sensitivity_at_1.5fp": froc.get("sens@1.5_ci"),
            "froc_cpm": froc.get("cpm"),
            "froc": {k: v for k, v in froc.items() if k.startswith("sens@") and k[-1] != "i"}}


def paired(folder_a: str | Path, folder_b: str | Path) -> dict:
    """Arm A minus arm B on the same scans: DSC differences and the paired DeLong test."""
    import numpy as np
    import pandas as pd

    from osteoscan.evaluation.statistics import bootstrap_block, delong_roc_test

    a, b = (pd.read_csv(Path(f) / "scans.csv") for f in (folder_a, folder_b))
    m = a.merge(b, on="case_id", suffixes=("_a", "_b"))
    out = {}
    for key in ("dice_lesion", "dice_metastatic"):
        d = (m[f"{key}_a"] - m[f"{key}_b"]).to_numpy(float)
        out[f"{key}_difference"] = bootstrap_block(
            lambda w, d=d: {"mean": (w @ d) / w.sum(axis=1)}, m["patient_id_a"].to_numpy())["mean"]
    known = m[m["primary_a"].isin(["lung", "other"])]
    y = (known["primary_a"] == "lung").to_numpy()
    sa, sb = (np.where(np.isfinite(known[c]), known[c], 0.5)
              for c in ("origin_p_lung_a", "origin_p_lung_b"))
    out["origin_auc_delong"] = {k: float(v) for k, v in delong_roc_test(y, sa, sb).items()}
    out["origin_patients"] = int(len(y))
    return out


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    pairs = [a.split("=", 1) for a in argv[1:] if not a.startswith("paired=")]
    compare = [a.split("=", 1)[1].split(",") for a in argv[1:] if a.startswith("paired=")]
    report = {"what": "seg3d held-out test (docs/seg3d.md)",
              "arms": {name: {"eval": folder, **arm(folder)} for name, folder in pairs}}
    folders = dict(pairs)
    for a, b in compare:
        report[f"paired {a} - {b}"] = paired(folders[a], folders[b])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, a in report["arms"].items():
        print(f"{name}: DSC {a['dice_lesion']['value']:.3f} sens@1.5 "
              f"{(a['lesion_sensitivity_at_1.5fp'] or {}).get('value', float('nan')):.3f} "
              f"CPM {a['froc_cpm']:.3f} AUC {a['origin_auc']['value']:.3f}")
    for key in (k for k in report if k.startswith("paired")):
        print(key, json.dumps(report[key]))


if __name__ == "__main__":
    main(sys.argv[1:])
