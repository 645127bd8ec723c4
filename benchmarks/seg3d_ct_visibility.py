"""Is the CT signal of each lesion kind there on the network's input? (docs/seg3d.md,
"Seventh run").

Per true lesion of an error-analysis table (``benchmarks.analyze_seg3d_fp``'s
``*-lesions.csv``) and its cohort, on the study's own grid and on isotropic model grids
(5 mm, the runs' grid; 4 and 3 mm), the input channels as ``osteoscan.volumetric.inputs``
makes them (``benchmarks.seg3d_ct_contrast.lesion_stats``, shell limited to bone): the
contrast-to-noise ratio of the lesion against its surrounding bone, (lesion mean - shell
mean) / shell SD, per channel. Medians per kind (and over the lesions the table's model
missed), the share of lesions with |CNR| >= 1, and
the median voxel count on each grid.

Usage: ``python -m benchmarks.seg3d_ct_visibility LESIONS_CSV COHORT OUT.json [MM ...]``
(default grids: native 5 4 3).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.seg3d_ct_contrast import CHANNEL_NAMES, lesion_stats


def _stats(g: pd.DataFrame) -> dict:
    row = {"n": len(g), "found": int(g["found"].sum()), "voxels": float(g["voxels"].median())}
    for c in CHANNEL_NAMES:
        cnr = g[c] / g[f"{c}_sd"].clip(lower=1e-6)
        row[c] = {"contrast": float(g[c].median()), "sd": float(g[f"{c}_sd"].median()),
                  "cnr": float(cnr.median()), "abs_cnr_ge_1": float((cnr.abs() >= 1).mean())}
    return row


def summarise(frame: pd.DataFrame) -> dict:
    """Per kind (and, as "<kind> missed", its lesions the model missed): n, found, median
    voxels, and per channel the median contrast, shell SD, CNR and the share with
    |CNR| >= 1."""
    out = {}
    for kind, g in frame.groupby("kind"):
        out[kind] = _stats(g)
        if (~g["found"]).any():
            out[f"{kind} missed"] = _stats(g[~g["found"]])
    return out


def main(argv: list[str]) -> None:
    table, cohort, out = pd.read_csv(argv[0]), argv[1], Path(argv[2])
    grids = [None if g == "native" else float(g) for g in (argv[3:] or ["native", 5, 4, 3])]
    report = {"lesions": argv[0], "cohort": cohort, "shell": "1 voxel, bone (CT > 150 HU)",
              "grids": {}}
    for grid in grids:
        name = "native" if grid is None else f"{grid:g}mm"
        summary = summarise(lesion_stats(table, cohort, grid, bone_shell=True))
        report["grids"][name] = summary
        for kind, v in summary.items():
            print(f"{name:7s} {kind:20s} n={v['n']:2d} found={v['found']:2d} "
                  f"vox={v['voxels']:5.1f} " + " ".join(
                      f"{c} c={v[c]['contrast']:+.3f} sd={v[c]['sd']:.3f} "
                      f"cnr={v[c]['cnr']:+.2f} ({v[c]['abs_cnr_ge_1']:.2f})"
                      for c in CHANNEL_NAMES), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
