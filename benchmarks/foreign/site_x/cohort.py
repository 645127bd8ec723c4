"""Write a site_x cohort: DICOM studies, instance masks, truth JSON and manifest.csv.

Layout (osteoscan's documented manifest format, docs/data-format.md)::

    OUT/manifest.csv
    OUT/dicom/<study>.dcm            one NM multi-frame object per study
    OUT/masks/<study>_anterior.png   uint16 instance masks, anterior orientation
    OUT/masks/<study>_posterior.png  (posterior mirrored into the anterior orientation)
    OUT/truth/<study>.json

Every file is written to a temporary name in its folder, then renamed (``os.replace``).
Study ``i`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``, so a cohort is
byte-identical for a seed whatever ``--n`` (the first n studies are the same).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.foreign.site_x.dicomout import study_bytes
from benchmarks.foreign.site_x.study import simulate_study

SITE = "site_x"
COLUMNS = ("patient_id", "study_id", "image", "label", "site", "bsi", "lesion_count",
           "lesion_masks", "truth")


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def png_bytes(mask: np.ndarray) -> bytes:
    """A uint16 PNG of an instance mask."""
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def is_metastatic(seed: int, i: int, fraction: float) -> bool:
    """Label of study i: a fixed fraction of each block of 10 is metastatic, order shuffled."""
    block = np.random.default_rng([seed, 10_000_019, i // 10]).permutation(10)
    return bool(block[i % 10] < round(fraction * 10))


def write_study(out: Path, seed: int, i: int, fraction: float) -> dict:
    """Simulate and write study i; return its manifest row."""
    key = f"sx{seed:03d}_{i:05d}"
    rng = np.random.default_rng([seed, i])
    study = simulate_study(rng, is_metastatic(seed, i, fraction))
    mbq = float(np.clip(rng.normal(740, 60), 550, 925))
    write_atomic(out / "dicom" / f"{key}.dcm",
                 study_bytes(study.counts, study.camera, key, study.patient, i, mbq))
    for v, view in enumerate(("anterior", "posterior")):
        write_atomic(out / "masks" / f"{key}_{view}.png", png_bytes(study.masks[v]))
    truth = {**study.truth, "study_id": key, "injected_mbq": round(mbq, 1),
             "note": "lesion ids are the values of masks/<study>_<view>.png"}
    write_atomic(out / "truth" / f"{key}.json", json.dumps(truth, indent=1).encode())
    return {"patient_id": f"SX{seed:03d}P{i:05d}", "study_id": key,
            "image": f"dicom/{key}.dcm", "label": study.truth["label"], "site": SITE,
            "bsi": f"{study.truth['bsi']:.4f}", "lesion_count": str(study.truth["metastases"]),
            "lesion_masks": f"anterior:masks/{key}_anterior.png;"
                            f"posterior:masks/{key}_posterior.png",
            "truth": f"truth/{key}.json"}


def write_manifest(out: Path, rows: list[dict]) -> Path:
    """manifest.csv (atomically)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = out / "manifest.csv"
    write_atomic(path, buf.getvalue().encode())
    return path


def write_cohort(out: str | Path, n: int, seed: int, fraction: float = 0.5,
                 progress: bool = True) -> Path:
    """Simulate and write ``n`` studies; returns the manifest path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        rows.append(write_study(out, seed, i, fraction))
        if progress:
            print(f"\rsite_x: study {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return write_manifest(out, rows)
