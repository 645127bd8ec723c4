"""Run a 3-D network once over cohorts and keep its model-grid output for the origin study.

Per study it writes ``OUT/<cohort>/<study_id>.npz`` (the normalised input channels, the
softmax probabilities and heatmap as float16, the true instance ids on the model grid) and
``OUT/<cohort>/<study_id>.json`` (primary, profile, truth lesions, tumour), so that
``benchmarks/seg3d_origin_ceiling.py`` and ``benchmarks/seg3d_origin_candidates.py`` can
compute instance features and fit origin models without running the network again.
Skips studies already written (resume). Usage::

    nice -n 10 env OMP_NUM_THREADS=1 python -m benchmarks.seg3d_origin_dump \
        /tmp/seg3d6/exp/stage5-sel /tmp/origin3d/dump train=/tmp/seg3d-long/exp/train ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from osteoscan.volumetric.infer import Segmenter3D
from osteoscan.volumetric.inputs import resize, work_image
from osteoscan.workflows.seg3d_cases import read_row


def dump_cohort(segmenter: Segmenter3D, folder: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    done = 0
    for row in table.itertuples():
        target = out / f"{row.study_id}.json"
        if target.is_file():
            continue
        case = read_row(folder, row)
        image = work_image(case, segmenter.channels, segmenter.spacing, segmenter.hu_window)
        prob, heat = segmenter.probabilities(image)
        true = resize(case.instances[None].astype(np.int32), image.shape[1:], labels=True)[0]
        np.savez_compressed(out / f"{row.study_id}.npz", image=image.astype(np.float32),
                            prob=prob.astype(np.float16),
                            heat=(heat if heat is not None else np.zeros_like(prob[:1]))
                            .astype(np.float16), true=true.astype(np.int16))
        truth = json.loads((folder / row.truth).read_text())
        target.write_text(json.dumps({
            "study_id": row.study_id, "patient_id": row.patient_id, "profile": row.profile,
            "primary": case.primary, "lesions": truth.get("lesions", []),
            "tumour": truth.get("tumour")}))
        done += 1
        print(folder.name, row.study_id, flush=True)
    return done


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    segmenter = Segmenter3D.from_checkpoint(argv[0])
    out = Path(argv[1])
    for spec in argv[2:]:
        name, folder = spec.split("=", 1)
        dump_cohort(segmenter, Path(folder), out / name)


if __name__ == "__main__":
    main(sys.argv[1:])
