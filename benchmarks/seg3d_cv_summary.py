"""The k-fold comparison of 3-D networks in one JSON and one CSV (docs/seg3d.md, "5-fold
comparison at 600 steps").

Reads a ``seg3d train --cv`` study folder after ``osteoscan compare --render-only`` rendered it:
per arm the lesion-level benign/metastatic AUC with its DeLong 95 % CI and the DeLong p-value
against the best arm (raw and Holm-adjusted, ``comparison/summary.json``), the pooled
out-of-fold segmentation figures (mean over scans with patient-bootstrap 95 % CIs), the
paired difference in lesion and metastatic DSC against the arm with the best lesion DSC
(same scans, patient-bootstrap 95 % CI; not adjusted for the several arms), and the training
budget (steps per training, minutes per training). The references in the same run: chance
(AUC 0.5), predicting no lesion (DSC 0 on every scan that holds a lesion) and, with
``hotspot=EVAL_DIR``, the learning-free hot-spot rule (``seg3d baseline`` on the same studies),
with each arm's paired lesion-DSC difference against it.

Usage: ``python -m benchmarks.seg3d_cv_summary STUDY OUT.json [hotspot=EVAL_DIR]``
(``OUT.csv`` is written beside the JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEG_KEYS = ("dice_lesion", "dice_metastatic", "iou_lesion", "hd95_lesion_mm",
            "sensitivity_voxel", "specificity_voxel")


def scans(study: Path, arm: str) -> pd.DataFrame:
    """The out-of-fold per-scan rows of one arm (``arms/<arm>/seg/fold-*.csv``)."""
    files = sorted((study / "arms" / arm / "seg").glob("fold-*.csv"))
    return pd.concat([pd.read_csv(f).assign(fold=f.stem) for f in files], ignore_index=True)


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, key: str) -> dict:
    """Mean of arm A minus arm B over the same scans, patient-bootstrap 95 % CI."""
    from osteoscan.evaluation.statistics import bootstrap_block

    m = a.merge(b, on="case_id", suffixes=("_a", "_b"))
    d = (m[f"{key}_a"] - m[f"{key}_b"]).to_numpy(float)
    return bootstrap_block(lambda w: {"mean": (w @ d) / w.sum(axis=1)},
                           m["patient_id_a"].astype(str).to_numpy())["mean"]


def arm_figures(shown: dict, frame: pd.DataFrame) -> dict:
    """Every figure of one arm."""
    from osteoscan.evaluation.volumes import mean_ci

    pid = frame["patient_id"].astype(str).to_numpy()
    per_fold = frame.groupby("fold")[["train_steps", "train_seconds"]].first()
    vs = shown.get("vs_best") or {}
    return {
        "lesions": shown["n"], "scans": int(len(frame)),
        "lesion_auc": shown["pooled"]["auc"],
        "delong_p_vs_best": vs.get("delong_p"), "delong_p_vs_best_holm": vs.get("delong_p_holm"),
        **{k: mean_ci(frame[k].to_numpy(float), pid) for k in SEG_KEYS},
        "train_steps": sorted({int(v) for v in per_fold["train_steps"]}),
        "train_minutes_per_fold": float(per_fold["train_seconds"].mean() / 60),
        "train_minutes_total": float(per_fold["train_seconds"].sum() / 60),
    }


def summarise(study: Path, hotspot: Path | None = None) -> dict:
    """The comparison as one dict (see the module docstring)."""
    summary = json.loads((study / "comparison" / "summary.json").read_text())
    result = summary["sets"]["internal"]
    frames = {arm: scans(study, arm) for arm in result["arms"]}
    arms = {arm: arm_figures(shown, frames[arm])
            for arm, shown in result["arms"].items()}
    best_dsc = max(arms, key=lambda a: arms[a]["dice_lesion"]["value"])
    for arm, figures in arms.items():
        if arm != best_dsc:
            for key in ("dice_lesion", "dice_metastatic"):
                figures[f"{key}_minus_{best_dsc}"] = paired_difference(
                    frames[arm], frames[best_dsc], key)
    any_frame = next(iter(frames.values()))
    has_lesion = any_frame["sensitivity_voxel"].notna()  # NaN: no lesion voxel in the truth
    references = {"chance_lesion_auc": 0.5,
                  "no_lesion_dice_lesion": float(np.where(has_lesion, 0.0, 1.0).mean())}
    if hotspot:
        hot = json.loads((Path(hotspot) / "summary.json").read_text())
        references["hotspot"] = {k: hot[k] for k in SEG_KEYS}
        hot_scans = pd.read_csv(Path(hotspot) / "scans.csv")
        for arm, figures in arms.items():
            figures["dice_lesion_minus_hotspot"] = paired_difference(
                frames[arm], hot_scans, "dice_lesion")
    return {"study": str(study), "best_lesion_auc": result["best"], "best_dice_lesion": best_dsc,
            "arms": arms, "references": references}


def table(result: dict) -> pd.DataFrame:
    """One display row per arm."""
    def ci(e: dict) -> str:
        return f"{e['value']:.3f} ({e['ci_low']:.3f}-{e['ci_high']:.3f})"

    rows = []
    for arm, f in result["arms"].items():
        p, holm = f["delong_p_vs_best"], f["delong_p_vs_best_holm"]
        rows.append({"arm": arm, "lesion_auc": ci(f["lesion_auc"]),
                     "p_vs_best": "best" if p is None else f"{holm:.3g} (raw {p:.3g})",
                     **{k: ci(f[k]) for k in SEG_KEYS},
                     "train_steps": "/".join(map(str, f["train_steps"])),
                     "train_min_per_fold": round(f["train_minutes_per_fold"], 1)})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    study, out = Path(argv[0]), Path(argv[1])
    extra = dict(a.split("=", 1) for a in argv[2:])
    result = summarise(study, Path(extra["hotspot"]) if "hotspot" in extra else None)
    from osteoscan.artefacts import atomic_write_json, atomic_write_text

    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    frame = table(result)
    atomic_write_text(out.with_suffix(".csv"), frame.to_csv(index=False))
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
