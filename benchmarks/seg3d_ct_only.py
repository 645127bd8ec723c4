"""Does a 3-D network find lesions from CT alone? (docs/seg3d.md, "Seventh run").

For each run (a ``seg3d`` checkpoint) and each study of a cohort, the network's input on its
grid (``volumetric.inputs.work_image``) is scored twice: as it is, and with the SPECT
channel zeroed (what modality dropout trains for). Per true lesion, its largest voxel lesion
probability (1 - P(background)) on the model grid; a lesion is ``marked`` when that reaches
the card's threshold. Per scan, the volume marked outside every lesion (dilated by a voxel),
in ml. Medians and counts per lesion kind and input; the per-lesion rows go to
``OUT-<NAME>-lesions.csv``.

Usage: ``python -m benchmarks.seg3d_ct_only OUT.json COHORT NAME=RUN ...``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def scores(run: str, cohort: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per true lesion and input: the largest lesion probability; per scan and input: the
    volume marked off lesions."""
    import torch
    from scipy import ndimage

    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.inputs import channel_indices, resize, work_image
    from osteoscan.workflows.seg3d import read_cases

    torch.set_num_threads(1)
    seg = Segmenter3D.from_checkpoint(run)
    rows, scans = [], []
    for case in read_cases(cohort):
        kinds = {int(k): v for k, v in case.extra.get("lesion_kinds", {}).items()}
        image = work_image(case, seg.channels, seg.spacing, seg.hu_window)
        inst = resize(case.instances[None], image.shape[1:], labels=True)[0]
        off = ~ndimage.binary_dilation(inst > 0)
        for name in ("spect+ct", "ct only"):
            x = image.copy()
            if name == "ct only":
                x[list(channel_indices(seg.channels, "spect"))] = 0.0
            lesion = 1.0 - seg.probabilities(x)[0][0]
            scans.append({"case": case.case_id, "input": name, "off_lesion_ml": float(
                ((lesion >= seg.threshold) & off).sum() * seg.spacing ** 3 / 1000)})
            for i in (int(v) for v in np.unique(inst) if v > 0):
                rows.append({"case": case.case_id, "id": i, "kind": kinds.get(i, ""),
                             "input": name, "max_p": float(lesion[inst == i].max())})
    frame = pd.DataFrame(rows)
    frame["marked"] = frame["max_p"] >= seg.threshold
    return frame, pd.DataFrame(scans)


def summary(frame: pd.DataFrame, scans: pd.DataFrame) -> dict:
    out = {}
    for name, g in frame.groupby("input"):
        out[name] = {"off_lesion_ml_per_scan": float(scans[scans["input"] == name]
                                                     ["off_lesion_ml"].median()),
                     "kinds": {kind: {"marked": int(k["marked"].sum()), "n": len(k),
                                      "median_max_p": float(k["max_p"].median())}
                               for kind, k in g.groupby("kind")}}
    return out


def main(argv: list[str]) -> None:
    out, cohort, pairs = Path(argv[0]), argv[1], [a.split("=", 1) for a in argv[2:]]
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"what": "lesions marked with and without the SPECT channel (docs/seg3d.md)",
              "cohort": cohort, "runs": {}}
    for name, run in pairs:
        frame, scans = scores(run, cohort)
        report["runs"][name] = {"run": run, **summary(frame, scans)}
        frame.to_csv(out.with_name(f"{out.stem}-{name}-lesions.csv"), index=False)
        for mode, v in report["runs"][name].items():
            if isinstance(v, dict):
                print(name, mode, f"off-lesion {v['off_lesion_ml_per_scan']:.1f} ml/scan",
                      {k: f"{c['marked']}/{c['n']} ({c['median_max_p']:.2f})"
                       for k, c in v["kinds"].items()}, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
