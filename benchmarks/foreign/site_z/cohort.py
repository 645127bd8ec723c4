"""One study and a whole cohort: patient, findings, projection, DICOM, masks and truth."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from . import findings as F
from .anatomy import Builder, draw_patient
from .dicomio import CAMERAS, write_study
from .limbs import build
from .render import Geometry, add_noise, project

SITE = "site_z"
COLUMNS = ["patient_id", "study_id", "image", "label", "site", "primary", "bsi",
           "lesion_count", "lesion_masks", "truth", "camera"]


def met_count(rng) -> tuple[int, bool]:
    """Malignant lesions of a metastatic study: REALISM.md's 45 % <= 3, 20 % 4-6, 35 % > 6
    (median about 4); 5 % of them superscans."""
    u = rng.random()
    if u < 0.05:
        return int(rng.integers(25, 41)), True
    if u < 0.50:
        return int(rng.integers(1, 4)), False
    if u < 0.70:
        return int(rng.integers(4, 7)), False
    return int(min(rng.pareto(2.0) * 4 + 7, 25)), False


def geometry(rng, cam: str, height: float) -> Geometry:
    """Pixel size of the protocol and the patient's placement on the table."""
    c = CAMERAS[cam]
    pix = float(rng.choice(c["pix_mm"])) / 10
    fov = c["rows"] * pix
    top = float(rng.uniform(1.5, max(min(8.0, fov - height - 2.0), 1.6)))
    return Geometry(c["rows"], c["cols"], pix, top, float(rng.normal(0, 1.5)),
                    float(np.deg2rad(np.clip(rng.normal(0, 3), -7, 7))),
                    float(np.clip(rng.normal(0, 1.0), -3, 3)), float(rng.uniform(1.5, 5.0)))


def simulate(seed: int, i: int, metastatic: bool) -> dict:
    """Everything of study i: images (anterior orientation), mask, truth."""
    rng = np.random.default_rng([seed, i, 26])
    p = draw_patient(rng)
    age = float(np.clip(rng.normal(68, 10), 35, 92))
    n, superscan = met_count(rng) if metastatic else (0, False)
    cam = "anyscan" if rng.random() < 0.6 else "symbia"
    g = geometry(rng, cam, p.height)
    B = Builder(p, rng)
    info = build(B, rng, superscan)
    benign = F.degenerative(B, rng, age)
    if rng.random() < 0.1:
        benign += F.rib_fractures(B, rng)
    phys = info["physiology"] + F.physiology(B, rng, info["joints"])
    boost = F.superscan_uptake(B, rng) if superscan else 1.0
    mets = F.metastases(B, rng, n, superscan)
    soft = 0.04 * float(rng.lognormal(0, 0.25)) * (0.5 if superscan else 1.0)
    ant, post, mask, reg_area, _ = project(g, p, B.prims, info["tissue"], soft)
    total = float(np.exp(rng.uniform(np.log(3e5), np.log(2.5e6))))
    a, b = add_noise(rng, ant, post, total)
    lesion_area = {str(k): int((mask == k).sum()) for k in range(1, n + 1)}
    mets = [m for m in mets if lesion_area[str(m["id"])] > 0]
    bsi = F.bsi(mets, lesion_area, reg_area)
    truth = {"site": SITE, "camera": cam, "pixel_mm": round(g.pix * 10, 3),
             "patient": {"height_cm": round(p.height, 1), "sex": p.sex, "age": round(age),
                         "wide": round(p.wide, 3), "thick": round(p.thick, 3), "pose": p.pose,
                         "yaw_deg": round(float(np.rad2deg(g.yaw)), 2),
                         "tilt_deg": round(g.tilt, 2), "top_cm": round(g.top, 2)},
             "counts": {"anterior": int(a.sum()), "posterior": int(b.sum())},
             "superscan": superscan, "superscan_factor": round(boost, 3),
             "normal_variants": {k: (round(v, 3) if isinstance(v, float) else v)
                                 for k, v in p.var.items()},
             "lesions": mets, "benign_findings": benign, "physiology": phys,
             "bsi": round(bsi, 4), "mask_orientation": "anterior (posterior mirrored)"}
    return {"ant": a, "post": b, "mask": mask, "truth": truth, "cam": cam, "pix": g.pix,
            "patient": p, "age": age, "total": total, "g": g}


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint16)).save(path, optimize=False)


def write_one(out: Path, seed: int, i: int, metastatic: bool, primary: str) -> dict:
    """Simulate study i and write its DICOM, masks and truth; return the manifest row."""
    s = simulate(seed, i, metastatic)
    pid, sid = f"Z{seed:04d}P{i:04d}", f"Z{seed:04d}S{i:04d}"
    g = s["g"]
    meta = {"patient_id": pid, "study_id": sid, "sex": s["patient"].sex, "age": s["age"],
            "height_cm": s["patient"].height, "dose_mbq": 550 + (i * 37 + seed) % 350,
            "scan_length_mm": min(s["patient"].height * 10 + 60, g.rows * g.pix * 10),
            "scan_velocity": 120 if s["cam"] == "anyscan" else 150}
    meta["duration_ms"] = meta["scan_length_mm"] / meta["scan_velocity"] * 60000
    image = write_study(out, f"dicom/{sid}", s["cam"], seed, meta, s["pix"] * 10,
                        s["ant"], s["post"])
    for v in ("anterior", "posterior"):
        _png(out / "masks" / f"{sid}_{v}.png", s["mask"])
    t = s["truth"]
    (out / "truth").mkdir(exist_ok=True)
    (out / "truth" / f"{sid}.json").write_text(json.dumps(t, indent=1, sort_keys=True))
    return {"patient_id": pid, "study_id": sid, "image": image,
            "label": "metastasis" if metastatic else "normal", "site": SITE,
            "primary": primary, "bsi": f"{t['bsi']:.4f}", "lesion_count": len(t["lesions"]),
            "lesion_masks": f"anterior:masks/{sid}_anterior.png;"
                            f"posterior:masks/{sid}_posterior.png",
            "truth": f"truth/{sid}.json", "camera": s["cam"]}


def write_cohort(out, n: int, seed: int, prevalence: float = 0.5, progress: bool = True) -> Path:
    """Write n studies (round(n * prevalence) metastatic) to ``out``; return the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 7])
    labels = np.zeros(n, bool)
    labels[: int(round(n * prevalence))] = True
    rng.shuffle(labels)
    prim = rng.choice(["prostate", "breast", "lung", "other"], size=n, p=[.45, .3, .17, .08])
    rows = []
    for i in range(n):
        rows.append(write_one(out, seed, i, bool(labels[i]), str(prim[i])))
        if progress:
            print(f"\rsite_z: {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    path = out / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path
