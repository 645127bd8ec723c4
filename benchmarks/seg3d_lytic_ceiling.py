"""Can a network find the lytic metastases it misses from the CT alone? (docs/seg3d.md,
"Ninth run (session 8)", the ceiling.)

Per lesion of one kind (default ``osteolytic``) of an error-analysis table
(``benchmarks.analyze_seg3d_fp``'s ``*-lesions.csv``: which lesions the model found) and its
cohort, on the study's own grid and on the isotropic model grids, the CT input channels as
``osteoscan.volumetric.inputs`` makes them, against the bone (> 150 HU) of a 1-voxel shell
around the lesion (``benchmarks.seg3d_ct_contrast.lesion_stats``, ``bone_shell``): the
contrast in HU and the contrast-to-noise ratio (lesion mean - shell mean) / shell SD. The HU
contrast is the bone window's contrast times its width (2000 HU): the window is linear
between -500 and 1500 HU, where the lesions and their bone lie. Medians by found / missed and
by size on the model grid, with the share of lesions at |CNR| >= 1 (the visibility rule).

Usage: ``python -m benchmarks.seg3d_lytic_ceiling LESIONS_CSV COHORT OUT.json [MM ...]``
(default grids: native 5). Writes the summary and, beside it, ``OUT.csv`` (one row per
lesion and grid).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.seg3d_ct_contrast import lesion_stats
from benchmarks.seg3d_ct_visibility import _stats

HU_PER_BONE_WINDOW = 2000.0  # the bone window's width (level 500): channel units -> HU
SIZE_BINS_ML = (0.0, 2.0, 4.0, 8.0, np.inf)


def per_lesion(table: pd.DataFrame, cohort, grid: float | None) -> pd.DataFrame:
    """``lesion_stats`` on one grid, with the HU contrast, both CNRs, the lesion's volume in
    ml on that grid and the table's found / largest-probability / SPECT columns."""
    stats = lesion_stats(table, cohort, grid, bone_shell=True)
    if stats.empty:
        return stats
    extra = table.set_index(["case", "id"])[["max_p_lesion_voxel", "spect_contrast",
                                              "found_any"]]
    stats = stats.join(extra, on=["case", "id"])
    voxel_ml = (grid ** 3 / 1000.0) if grid else np.nan
    return stats.assign(
        grid="native" if grid is None else f"{grid:g}mm",
        hu_contrast=stats["ct_bone"] * HU_PER_BONE_WINDOW,
        hu_shell_sd=stats["ct_bone_sd"] * HU_PER_BONE_WINDOW,
        cnr_bone=stats["ct_bone"] / stats["ct_bone_sd"].clip(lower=1e-6),
        cnr_trabecular=stats["ct_trabecular"] / stats["ct_trabecular_sd"].clip(lower=1e-6),
        ml=stats["voxels"] * voxel_ml)


def _group(g: pd.DataFrame) -> dict:
    """``seg3d_ct_visibility``'s per-channel medians plus the HU contrast and the share
    visible in either CT window."""
    visible = (g["cnr_bone"].abs() >= 1) | (g["cnr_trabecular"].abs() >= 1)
    return {**_stats(g), "hu_contrast": float(g["hu_contrast"].median()),
            "hu_shell_sd": float(g["hu_shell_sd"].median()),
            "visible_either_window": int(visible.sum())}


def summarise(frame: pd.DataFrame) -> dict:
    """Per found / missed, and per size bin (ml on the grid; the native grid by the model
    grid's bins is not meaningful, so only model grids are binned)."""
    out = {"all": _group(frame)}
    for found, g in frame.groupby("found"):
        out["found" if found else "missed"] = _group(g)
    if frame["ml"].notna().all():
        bins = pd.cut(frame["ml"], SIZE_BINS_ML)
        for (size, found), g in frame.groupby([bins, "found"], observed=True):
            out[f"{size} ml {'found' if found else 'missed'}"] = _group(g)
    return out


def main(argv: list[str]) -> None:
    table, cohort, out = pd.read_csv(argv[0]), argv[1], Path(argv[2])
    kind = "osteolytic"
    table = table[table["kind"] == kind]
    grids = [None if g == "native" else float(g) for g in (argv[3:] or ["native", 5])]
    frames = [per_lesion(table, cohort, grid) for grid in grids]
    frame = pd.concat(frames, ignore_index=True)
    report = {"lesions": argv[0], "cohort": cohort, "kind": kind,
              "shell": "1 voxel, bone (CT > 150 HU)", "visible": "|CNR| >= 1",
              "grids": {name: summarise(g) for name, g in frame.groupby("grid", sort=False)}}
    for name, summary in report["grids"].items():
        for group, v in summary.items():
            print(f"{name:7s} {group:24s} n={v['n']:3d} vox={v['voxels']:6.1f} "
                  f"HU {v['hu_contrast']:+7.1f} (shell SD {v['hu_shell_sd']:5.1f}) "
                  f"CNR bone {v['ct_bone']['cnr']:+.2f} ({v['ct_bone']['abs_cnr_ge_1']:.2f}) "
                  f"trab {v['ct_trabecular']['cnr']:+.2f} "
                  f"({v['ct_trabecular']['abs_cnr_ge_1']:.2f}) "
                  f"spect {v['spect']['cnr']:+.2f} either {v['visible_either_window']}",
                  flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out.with_suffix(".csv"), index=False)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
