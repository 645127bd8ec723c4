"""A cohort's studies as reading-station screen captures (the layouts osteoscan's simulator
draws, ``osteoscan.simulate.captures``), for cohorts osteoscan did not simulate.

Each row of a manifest (a phantom's DICOM cohort, ``benchmarks/foreign/site_*``) is read as a
user's study (``osteoscan.io.read_manifest``) and drawn by
:func:`osteoscan.simulate.captures.render_capture` in a layout taken in turn, as an 8-bit JPEG
(qualities cycled). The manifest written keeps the patient, label, site and primary, so
``lesions calibrate`` and ``lesions adapt`` read it like any site's pictures
(docs/site-threshold.md, "Screen captures"). No LabelMe boxes are written: the phantoms' masks
are not mapped onto the pictures, so these cohorts score patients, not lesions.

    python -m benchmarks.foreign.captures --data COHORT/manifest.csv --out CAPS [--seed S]
        [--normals-only] [--limit N]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("patient_id", "study_id", "image", "label", "site", "primary", "layout")


@dataclass(frozen=True)
class _Shown:
    """What :func:`render_capture` reads of a study: its scan and the patient's id."""

    scan: object
    patient_id: str


def write_captures(manifest: Path, out: Path, seed: int = 0, normals_only: bool = False,
                   limit: int | None = None) -> Path:
    """Draw the rows of ``manifest`` (only those labelled normal with ``normals_only``; the
    first ``limit``) as captures under ``out``; return the manifest written."""
    from osteoscan.artefacts import atomic_write_bytes
    from osteoscan.io import read_manifest
    from osteoscan.lesions.site_threshold import label_value
    from osteoscan.simulate.captures import LAYOUTS, QUALITIES, jpeg_bytes, render_capture
    from osteoscan.simulate.writer import write_manifest_csv

    m = read_manifest(manifest, validate=False)
    rows = [i for i in range(len(m))
            if not normals_only or label_value(m.value(i, "label")) == 0][:limit]
    (out / "captures").mkdir(parents=True, exist_ok=True)
    written = []
    for k, i in enumerate(rows):
        layout = LAYOUTS[k % len(LAYOUTS)]
        shown = _Shown(m.load_scan(i), m.value(i, "patient_id"))
        pic, _ = render_capture(shown, layout, np.random.default_rng([seed, k]))
        sid = f"{m.value(i, 'study_id')}_{layout}"
        image = out / "captures" / f"{sid}.jpg"
        atomic_write_bytes(image, jpeg_bytes(pic, QUALITIES[k % len(QUALITIES)]))
        written.append({"patient_id": m.value(i, "patient_id"), "study_id": sid,
                        "image": os.path.relpath(image, out), "label": m.value(i, "label"),
                        "site": m.value(i, "site"), "primary": m.value(i, "primary"),
                        "layout": layout})
    path = out / "manifest.csv"
    write_manifest_csv(written, path, columns=COLUMNS)
    return path


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the cohort's manifest.csv")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--normals-only", action="store_true")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    path = write_captures(args.data, args.out, args.seed, args.normals_only, args.limit)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
