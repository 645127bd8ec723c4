"""CT contrast of true lesions on the model's grid in the bone and trabecular windows,
found vs missed (docs/seg3d.md, "Fifth run"); with ``lesion_stats`` also the noise of the
surrounding bone, for the contrast-to-noise ratios of ``benchmarks.seg3d_ct_visibility``
(seventh run).

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

CHANNEL_NAMES = ("spect", "ct_bone", "ct_trabecular")
BONE_HU = 150.0


def _grid(case, spacing_mm: float | None, anti_alias: bool = False):
    """The three input channels, the lesion ids and a bone mask (CT > 150 HU) on the model's
    isotropic grid at ``spacing_mm``, or on the study's own grid (None); ``anti_alias``:
    ``osteoscan.volumetric.inputs.resize``'s."""
    from osteoscan.volumetric.inputs import channel_stack, resize, work_image, work_shape

    if spacing_mm is None:
        return channel_stack(case, "spectct2w"), case.instances, case.ct > BONE_HU
    shape = work_shape(case.shape, case.spacing_mm, spacing_mm)
    bone = resize((case.ct > BONE_HU)[None].astype(np.float32), shape)[0] > 0.5
    return (work_image(case, "spectct2w", spacing_mm, anti_alias=anti_alias),
            resize(case.instances[None], shape, labels=True)[0], bone)


def lesion_stats(table: pd.DataFrame, cohort, spacing_mm: float | None = 5.0,
                 bone_shell: bool = False, anti_alias: bool = False) -> pd.DataFrame:
    """Per lesion of ``table`` on the grid of ``spacing_mm`` (None: the study's own): per
    channel, lesion mean minus shell mean (the 1-voxel shell outside every lesion; with
    ``bone_shell`` only its bone voxels, falling back to the whole shell when it has fewer
    than 3) and the shell's SD (``<channel>_sd``), and the lesion's voxel count there.
    ``cohort``: a cohort folder, or the cases themselves (a list of ``Case``)."""
    from scipy import ndimage

    from osteoscan.workflows.seg3d import read_cases

    rows = []
    for case in read_cases(cohort) if isinstance(cohort, (str, Path)) else cohort:
        mine = table[table["case"] == case.case_id]
        if mine.empty:
            continue
        image, inst, bone = _grid(case, spacing_mm, anti_alias)
        for les in mine.itertuples():
            mask = inst == int(les.id)
            if not mask.any():
                continue
            shell = ndimage.binary_dilation(mask) & ~mask & (inst == 0)
            if bone_shell and (shell & bone).sum() >= 3:
                shell = shell & bone
            row = {"case": case.case_id, "id": int(les.id), "kind": les.kind,
                   "found": bool(les.found_kept), "voxels": int(mask.sum())}
            for c, name in enumerate(CHANNEL_NAMES):
                row[name] = float(image[c][mask].mean() - image[c][shell].mean())
                row[f"{name}_sd"] = float(image[c][shell].std())
            rows.append(row)
    return pd.DataFrame(rows)


def contrasts(table: pd.DataFrame, cohort: str, spacing_mm: float = 5.0) -> pd.DataFrame:
    """The fifth run's table: contrasts on the model grid against the whole shell."""
    return lesion_stats(table, cohort, spacing_mm)


def main(argv: list[str]) -> None:
    table, cohort, out = pd.read_csv(argv[0]), argv[1], Path(argv[2])
    frame = contrasts(table, cohort)
    summary = {f"{kind} {'found' if found else 'missed'}": {
        "n": len(g), **{c: float(np.median(g[c])) for c in CHANNEL_NAMES}}
        for (kind, found), g in frame.groupby(["kind", "found"])}
    report = {"lesions": argv[0], "cohort": cohort, "median_contrast": summary}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for k, v in summary.items():
        print(f"{k:28s} n={v['n']:2d} spect {v['spect']:+.3f} bone {v['ct_bone']:+.3f} "
              f"trabecular {v['ct_trabecular']:+.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
