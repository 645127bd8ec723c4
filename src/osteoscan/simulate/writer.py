"""Write simulated studies as a site's scanner would, with a manifest and full ground truth.

Layout under the output folder (docs/simulator.md)::

    manifest.csv
    dicom/<study>/<study>.dcm                     multi-frame sites (image = this file)
    dicom/<study>/<study>_ant.dcm, _post.dcm      split sites (image = the folder)
    labels/<study>/<study>_<view>.json            LabelMe polygons (annotations column)
    labels/<study>/<study>_<view>_boxes.json      LabelMe rectangles (boxes column)
    labels/<study>/<study>_<view>_lesions.png     uint16 lesion instance ids
    labels/<study>/<study>_<view>_regions.png     uint8 region codes
    labels/<study>/<study>_truth.json             every finding, BSI, labels

Every file is written to a temporary name in its folder and then renamed (atomic).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from osteoscan.artefacts import atomic_write_bytes
from osteoscan.csvsafe import neutralise_row
from osteoscan.simulate.cohort import check_cohort_args, cohort_plan
from osteoscan.simulate.dicom_nm import dicom_bytes, nm_dataset
from osteoscan.simulate.sites import SiteProfile, get_site
from osteoscan.simulate.study import VIEWS, SimulatedStudy, difficulty_value, render_plan

MANIFEST_COLUMNS = ("patient_id", "study_id", "image", "label", "site", "primary", "lesion_count",
                    "annotations", "split", "multiclass_label", "bsi", "difficulty", "n_benign",
                    "superscan", "boxes", "lesion_masks", "region_maps", "truth")


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _as_acquired(study: SimulatedStudy, view: str) -> np.ndarray:
    img = getattr(study.scan, view)
    img = img[:, ::-1] if view == "posterior" else img  # the posterior detector sees it mirrored
    return np.ascontiguousarray(img).astype(np.uint16)


def write_dicom(study: SimulatedStudy, folder: Path, seed: int,
                profile: SiteProfile | None = None) -> Path:
    """Write a study's DICOM file(s) in its site's style; return the manifest ``image`` path.

    ``profile`` replaces the site's camera (matrix, pixel size) for a re-rendered variant.
    """
    site = profile or get_site(study.site)
    a = study.scan.acquisition
    acq = {"scan_length_mm": a.scan_length_mm, "frame_duration_ms": a.frame_duration_ms,
           "velocity_mm_s": a.scan_velocity_mm_s, "mbq": a.injected_mbq}
    common = dict(patient_id=study.patient_id, study_id=study.study_id,
                  visit=int(study.scan.meta.get("visit", 0)), seed=seed, acq=acq)
    sid = study.study_id
    if site.dicom_style == "split":
        for view, desc, tag in (("anterior", "WB ANT", "ant"), ("posterior", "WB POST", "post")):
            ds = nm_dataset([(view, _as_acquired(study, view))], site, series=desc, **common)
            atomic_write_bytes(folder / f"{sid}_{tag}.dcm", dicom_bytes(ds))
        return folder
    order = ("posterior", "anterior") if site.posterior_first else VIEWS
    ds = nm_dataset([(v, _as_acquired(study, v)) for v in order], site, series="WHOLE BODY",
                    **common)
    atomic_write_bytes(folder / f"{sid}.dcm", dicom_bytes(ds))
    return folder / f"{sid}.dcm"


def _labelme(study: SimulatedStudy, view: str, image: str, kind: str) -> dict:
    """LabelMe JSON of one view; the posterior is drawn on the view as acquired (mirrored)."""
    rows, cols = study.scan.shape
    shapes = []
    for ann in (a for a in study.label.annotations if a.view == view):
        pts = np.array(ann.points, dtype=float)
        if view == "posterior":
            pts[:, 0] = cols - pts[:, 0]
        if kind == "rectangle":
            pts = np.array([pts.min(0), pts.max(0)])
        shapes.append({"label": ann.label, "points": np.round(pts, 2).tolist(), "group_id": None,
                       "description": "", "shape_type": kind, "flags": {}})
    return {"version": "5.4.1", "flags": {"anterior": view == "anterior",
                                          "posterior": view == "posterior"},
            "shapes": shapes, "imagePath": image, "imageData": None,
            "imageHeight": rows, "imageWidth": cols}


def _truth(study: SimulatedStudy) -> dict:
    return {"patient_id": study.patient_id, "study_id": study.study_id, "site": study.site,
            "label": study.label.label, "multiclass_label": study.multiclass_label,
            "primary": study.label.primary, "bsi": study.bsi, "superscan": study.superscan,
            "difficulty": study.difficulty, "lesions": [asdict(les) for les in study.lesions]}


def _jbytes(obj: dict) -> bytes:
    return json.dumps(obj, indent=1, sort_keys=True).encode()


def write_study(study: SimulatedStudy, out_dir: str | Path, *, seed: int = 0) -> dict[str, str]:
    """Write one study's DICOM, annotations, masks and truth; return its manifest row."""
    out = Path(out_dir)
    sid = study.study_id
    image = write_dicom(study, out / "dicom" / sid, seed)
    lab = out / "labels" / sid
    rel = lambda p: Path(os.path.relpath(p, out)).as_posix()  # noqa: E731
    files: dict[str, list[str]] = {"ann": [], "box": [], "mask": [], "reg": []}
    for view in VIEWS:
        img_rel = os.path.relpath(image, lab)
        for key, kind, suffix in (("ann", "polygon", ""), ("box", "rectangle", "_boxes")):
            p = lab / f"{sid}_{view}{suffix}.json"
            atomic_write_bytes(p, _jbytes(_labelme(study, view, img_rel, kind)))
            files[key].append(rel(p))
        p = lab / f"{sid}_{view}_lesions.png"
        atomic_write_bytes(p, _png(study.lesion_masks[view].astype(np.uint16)))
        files["mask"].append(rel(p))
        p = lab / f"{sid}_{view}_regions.png"
        atomic_write_bytes(p, _png(study.region_maps[view].astype(np.uint8)))
        files["reg"].append(rel(p))
    atomic_write_bytes(lab / f"{sid}_truth.json", _jbytes(_truth(study)))
    return {"patient_id": study.patient_id, "study_id": sid, "image": rel(image),
            "label": study.label.label, "site": study.site, "primary": study.label.primary or "",
            "lesion_count": str(study.label.lesion_count), "annotations": ";".join(files["ann"]),
            "split": "", "multiclass_label": study.multiclass_label, "bsi": f"{study.bsi:.4f}",
            "difficulty": f"{study.difficulty:.2f}",
            "n_benign": str(sum(not les.malignant for les in study.lesions)),
            "superscan": str(int(study.superscan)), "boxes": ";".join(files["box"]),
            "lesion_masks": ";".join(files["mask"]), "region_maps": ";".join(files["reg"]),
            "truth": rel(lab / f"{sid}_truth.json")}


def _one(args: tuple) -> dict[str, str]:
    i, out_dir, seed, kw = args
    return write_study(render_plan(cohort_plan(i, seed=seed, **kw)).study, out_dir, seed=seed)


def write_manifest_csv(rows: list[dict[str, str]], path: Path,
                       columns: Sequence[str] = MANIFEST_COLUMNS) -> None:
    """Write the manifest rows (``columns``, MANIFEST_COLUMNS by default) atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(neutralise_row(r) for r in rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def _run(jobs: list, workers: int, progress: Callable[[int], None] | None) -> list[dict]:
    """Simulate and write every job, in order, in this process or a pool."""
    rows: list[dict[str, str]] = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for row in pool.map(_one, jobs, chunksize=4):
                rows.append(row)
                if progress:
                    progress(len(rows))
        return rows
    for job in jobs:
        rows.append(_one(job))
        if progress:
            progress(len(rows))
    return rows


def write_cohort(out_dir: str | Path, n: int, *, seed: int = 0, sites: Sequence[str] = ("site_a",),
                 difficulty: str | float = "default", workers: int = 1, prevalence: float = 0.5,
                 studies_per_patient: float = 1.15, uptake_balance: bool = False,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Simulate n studies and write them as DICOM with a manifest and ground truth.

    Args:
        out_dir: output folder (created).
        n: number of studies.
        seed: cohort seed; the same arguments give byte-identical files.
        sites: site profiles (each patient at one site).
        difficulty: "easy", "default", "hard" or a number in 0..1.
        workers: processes to use.
        prevalence: fraction of patients with metastases.
        studies_per_patient: mean studies per patient (1..2).
        uptake_balance: each patient's balance of uptake between the skeleton's parts
            (:func:`osteoscan.simulate.physiology.sample_uptake_balance`; off by default).
        progress: called with the number of studies done after each one.

    Returns:
        The manifest path (``out_dir/manifest.csv``).
    """
    kw = dict(sites=tuple(sites), difficulty=difficulty_value(difficulty), prevalence=prevalence,
              studies_per_patient=studies_per_patient, uptake_balance=uptake_balance)
    check_cohort_args(n, sites, prevalence, studies_per_patient)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out), seed, kw) for i in range(n)]
    rows = _run(jobs, workers, progress)
    path = out / "manifest.csv"
    write_manifest_csv(rows, path)
    return path
