"""CT contrast of true lesions on the model's grid in the bone and trabecular windows,
found vs missed (docs/seg3d.md, "Fifth run").

Reads an error-analysis lesion table (``benchmarks.analyze_seg3d_fp``'s ``*-lesions.csv``:
case, id, kind, found_kept) and its cohort; per lesion the CT goes through each window
(``volumetric.inputs.channel_stack``), to the 5 mm model grid, and the lesion's mean minus
its 1-voxel shell's mean is taken there. Medians per kind and found/missed.

Usage: ``python -m benchmarks.seg3d_ct_contrast LESIONS_CSV COHORT OUT.json``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def contrasts(table: pd.DataFrame, cohort: str, spacing_mm: float = 5.0) -> pd.DataFrame:
    from scipy import ndimage

    from osteoscan.volumetric.inputs import resize, work_image, work_shape
    from osteoscan.workflows.seg3d import read_cases

    rows = []
    for case in read_cases(cohort):
        mine = table[table["case"] == case.case_id]
        if mine.empty:
            continue
        image = work_image(case, "spectct2w", spacing_mm)
        inst = resize(case.instances[None], work_shape(case.shape, case.spacing_mm,
                                                       spacing_mm), labels=True)[0]
        for les in mine.itertuples():
            mask = inst == int(les.id)
            if not mask.any():
                continue
            shell = ndimage.binary_dilation(mask) & ~mask & (inst == 0)
            diff = [float(image[c][mask].mean() - image[c][shell].mean()) for c in range(3)]
            rows.append({"kind": les.kind, "found": bool(les.found_kept),
                         "spect": diff[0], "ct_bone": diff[1], "ct_trabecular": diff[2]})
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    table, cohort, out = pd.read_csv(argv[0]), argv[1], Path(argv[2])
    frame = contrasts(table, cohort)
    summary = {f"{kind} {'found' if found else 'missed'}": {
        "n": len(g), **{c: float(np.median(g[c])) for c in ("spect", "ct_bone", "ct_trabecular")}}
        for (kind, found), g in frame.groupby(["kind", "found"])}
    report = {"lesions": argv[0], "cohort": cohort, "median_contrast": summary}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for k, v in summary.items():
        print(f"{k:28s} n={v['n']:2d} spect {v['spect']:+.3f} bone {v['ct_bone']:+.3f} "
              f"trabecular {v['ct_trabecular']:+.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
