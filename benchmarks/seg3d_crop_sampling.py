"""How often training patches are centred on each lesion type (docs/seg3d.md, "Fifth run").

For a training cohort on the model's grid (``volumetric.training.prepare``, bone-centred
negatives) it gives, per lesion-type group (``KIND_GROUPS``), the share of lesion voxels,
the share of lesion-centred patches each sampling rule draws in expectation (``posneg``:
uniform over lesion voxels inside the centre mask, MONAI ``RandCropByPosNegLabeld`` with
``image_key``; ``kind``: 2/3 split equally over the groups a case holds,
``RandCropByLabelClassesd``), and the fraction of lesion voxels that lie outside the
bone-centre mask (never a centre under ``posneg`` with ``--negatives bone``, whose mask also
limits the positive centres). Exact expectations, no sampling.

Usage: ``python -m benchmarks.seg3d_crop_sampling COHORT OUT.json [--every N]``
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

NAMES = {1: "blastic", 2: "lytic", 3: "mixed", 4: "benign dense", 5: "benign lucent"}


def shares(prepared) -> dict:
    """Expected lesion-centred patches per group (per case: 2/3 of its patches) and voxels."""
    acc = {k: {"voxels": 0.0, "outside_mask": 0.0, "posneg": 0.0, "kind": 0.0, "cases": 0}
           for k in NAMES}
    for _, target, where, groups in prepared:
        g = groups[0]
        allowed = where[0] > 0.5 if where is not None else np.ones(g.shape, bool)
        eligible = float(((g > 0) & allowed).sum())
        present = [k for k in NAMES if (g == k).any()]
        for k in present:
            acc[k]["cases"] += 1
            acc[k]["voxels"] += float((g == k).sum())
            acc[k]["outside_mask"] += float(((g == k) & ~allowed).sum())
            acc[k]["posneg"] += (2 / 3) * float(((g == k) & allowed).sum()) / max(eligible, 1)
            acc[k]["kind"] += (2 / 3) / len(present)
    n = len(prepared)
    total_vox = sum(a["voxels"] for a in acc.values())
    return {NAMES[k]: {"cases_with": a["cases"], "voxel_share": a["voxels"] / total_vox,
                       "voxels_outside_bone_mask": a["outside_mask"] / max(a["voxels"], 1),
                       "patch_share_posneg": a["posneg"] / n, "patch_share_kind": a["kind"] / n}
            for k, a in acc.items()}


def main() -> None:
    from osteoscan.volumetric.training import Seg3DSettings, prepare
    from osteoscan.workflows.seg3d import read_cases

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cohort")
    parser.add_argument("out")
    parser.add_argument("--every", type=int, default=1, help="use every N-th case")
    args = parser.parse_args()
    settings = Seg3DSettings(channels="spectct", spacing_mm=5.0, negatives="bone", crops="kind")
    cases = read_cases(args.cohort)[:: args.every]
    report = {"cohort": args.cohort, "cases": len(cases), "spacing_mm": 5.0,
              "groups": shares([prepare(c, settings) for c in cases])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
