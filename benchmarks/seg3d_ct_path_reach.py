"""Which cut of a fused card's CT path keeps or removes what (docs/seg3d.md, "Eighth run").

For a fused ``seg3d`` card and a cohort, the CT path's instances where the primary's mask
has none (what fusion would add) are counted under four settings of cumulative cuts on the
same network output: ``loose`` (threshold 0.5, 4 voxels, no other cut), ``size`` (the
card's threshold and size), ``lesion model`` (and its P(lesion) cut) and ``card`` (and its HU
contrast cut: what the card adds). Per setting: the true lesions per kind that stage 1 (the
primary) misses and an added instance touches, and the added instances on no true lesion
(count and ml per scan). A reading of the chosen card, not a selection.

Usage: ``python -m benchmarks.seg3d_ct_path_reach OUT.json FUSED_RUN COHORT``
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def settings(path) -> dict:
    """The four cumulative settings of the card's CT path."""
    from osteoscan.volumetric.fusion import CTPath

    card = path.to_dict()
    steps = {"loose": {"threshold": 0.5, "min_voxels": 4},
             "size": {"threshold": card["threshold"], "min_voxels": card["min_voxels"]}}
    steps["lesion model"] = {**steps["size"], "min_p_lesion": card["min_p_lesion"]}
    steps["card"] = {**steps["lesion model"], "max_contrast_hu": card["max_contrast_hu"]}
    return {name: CTPath.of(path.net, **v) for name, v in steps.items()}


def reach(run: str, cohort: str) -> dict:
    import torch

    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.inputs import resize
    from osteoscan.workflows.seg3d import read_cases

    torch.set_num_threads(1)
    seg = Segmenter3D.from_checkpoint(run)
    paths, seg.ct_path = settings(seg.ct_path), None
    counts = {name: {"missed_touched": Counter(), "off_lesion": 0, "off_lesion_ml": 0.0}
              for name in paths}
    missed, n = Counter(), 0
    for case in read_cases(cohort):
        n += 1
        primary = seg.predict(case).semantic > 0
        kinds = case.extra.get("lesion_kinds", {})
        lost = [i for i in (int(v) for v in np.unique(case.instances) if v > 0)
                if not primary[case.instances == i].any()]
        missed.update(kinds.get(i, "") for i in lost)
        ct = paths["loose"].outputs(case)
        for name, path in paths.items():
            labels, table = path.instances(case, ct)
            on_grid = resize(labels[None], case.shape, labels=True)[0]
            for t in table:
                where = on_grid == t["id"]
                if primary[where].any():
                    continue  # not added: the primary marks it
                hit = set(np.unique(case.instances[where]).tolist()) - {0}
                counts[name]["missed_touched"].update(kinds.get(i, "") for i in hit & set(lost))
                if not hit:
                    counts[name]["off_lesion"] += 1
                    counts[name]["off_lesion_ml"] += t["volume_ml"]
    return {"run": run, "cohort": cohort, "n_scans": n, "missed_by_primary": dict(missed),
            "ct_path": {k: p.to_dict() for k, p in paths.items()},
            "settings": {k: {"missed_touched": dict(v["missed_touched"]),
                             "off_lesion_instances": v["off_lesion"],
                             "off_lesion_ml_per_scan": v["off_lesion_ml"] / max(n, 1)}
                         for k, v in counts.items()}}


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    report = {"what": "CT-path instances a fused card would add, per cut (docs/seg3d.md)",
              **reach(argv[1], argv[2])}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("missed_by_primary", "settings")}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
