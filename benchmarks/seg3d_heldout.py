"""The held-out figures of a seg3d run in one JSON (docs/seg3d.md, "Fourth run").

Reads the ``summary.json`` that ``osteoscan seg3d evaluate`` / ``seg3d baseline`` wrote for
each arm (same test cohort, same code) and keeps the issue's figures with their 95 % CIs:
lesion DSC, metastatic DSC, HD95, lesion sensitivity at 1.5 FP/scan, FROC CPM, origin AUC.

Usage: ``python -m benchmarks.seg3d_heldout OUT.json NAME=EVAL_DIR ...``
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


def main(argv: list[str]) -> None:
    out, pairs = Path(argv[0]), [a.split("=", 1) for a in argv[1:]]
    report = {"what": "seg3d held-out test (docs/seg3d.md)",
              "arms": {name: {"eval": folder, **arm(folder)} for name, folder in pairs}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, a in report["arms"].items():
        print(f"{name}: DSC {a['dice_lesion']['value']:.3f} sens@1.5 "
              f"{(a['lesion_sensitivity_at_1.5fp'] or {}).get('value', float('nan')):.3f} "
              f"CPM {a['froc_cpm']:.3f} AUC {a['origin_auc']['value']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
