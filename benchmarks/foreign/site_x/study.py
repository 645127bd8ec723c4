"""One site_x study: patient, camera, findings, counts, masks and truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.foreign.site_x.benign import benign_findings
from benchmarks.foreign.site_x.camera import (
    Camera,
    acquire,
    bone_scan_index,
    draw_lesions,
    lesion_masks,
)
from benchmarks.foreign.site_x.lesions import Lesion, metastases, metastasis_count
from benchmarks.foreign.site_x.limbs import POSES, build_body
from benchmarks.foreign.site_x.render import Placement
from benchmarks.foreign.site_x.scene import add_physiology, render_body

MATRICES = ((256, 1024, (2.2, 2.4), 1, 0.70), (512, 2048, (1.1, 1.2), 1, 0.15),
            (128, 512, (4.4, 4.8), 2, 0.15))
"""(cols, rows, pixel size range mm, render binning, share of studies)."""


@dataclass
class Study:
    """A simulated study: counts and masks (anterior orientation), camera and truth."""

    counts: np.ndarray  # (2, rows, cols) uint16: anterior, posterior (NOT mirrored: see io)
    masks: np.ndarray  # (2, rows, cols) uint16 instance masks, anterior orientation
    camera: Camera
    truth: dict
    patient: dict


def draw_patient(rng: np.random.Generator) -> dict:
    """Sex, height (mm), habitus, pose, age."""
    sex = "M" if rng.uniform() < 0.55 else "F"
    mean, sd = (1760.0, 70.0) if sex == "M" else (1630.0, 65.0)
    return {"sex": sex, "height": float(np.clip(rng.normal(mean, sd), 1480, 1960)),
            "habitus": float(np.clip(rng.lognormal(0.0, 0.13), 0.82, 1.45)),
            "pose": str(rng.choice(list(POSES), p=list(POSES.values()))),
            "age": int(np.clip(rng.normal(68, 10), 35, 92))}


def draw_camera(rng: np.random.Generator, height: float) -> tuple[Camera, Placement]:
    """Matrix, pixel size, resolution, counts, scatter; where the body lies in the frame."""
    share = np.array([m[4] for m in MATRICES])
    cols, rows, prange, binning, _ = MATRICES[rng.choice(len(MATRICES), p=share)]
    p = float(rng.uniform(*prange))
    vertex = float(rng.uniform(15, 70))
    scan = min(vertex + height + rng.uniform(20, 90), rows * p)
    cam = Camera(rows=rows, cols=cols, pixel_mm=p, fwhm_mm=float(rng.uniform(7, 12)),
                 counts_ant=float(np.clip(rng.lognormal(np.log(0.8e6), 0.4), 0.6e6, 2.5e6)),
                 scatter=float(rng.uniform(0.05, 0.15)), scan_mm=float(scan),
                 soft_conc=float(np.clip(rng.lognormal(np.log(0.11), 0.3), 0.05, 0.3)),
                 table=float(rng.uniform(0.85, 0.93)),
                 soft_post=float(rng.uniform(0.65, 0.9)),
                 binning=binning)
    place = Placement(rows=rows * binning, cols=cols * binning, pixel_mm=p / binning,
                      vertex_mm=vertex, shift_mm=float(rng.uniform(-25, 25)),
                      angle_deg=float(np.clip(rng.normal(0, 1.5), -4, 4)),
                      pivot_z_mm=0.5 * height)
    return cam, place


def draw_physiology(rng: np.random.Generator, superscan: bool) -> dict:
    """Kidney, bladder, injection site, contamination and breast draws."""
    inj = rng.choice(["elbow", "wrist", ""], p=[0.35, 0.2, 0.45])
    return {"kidney": float(np.clip(rng.lognormal(np.log(0.8), 0.5), 0.15, 2.5))
            * (0.1 if superscan else 1.0),
            "pelvis_ratio": float(rng.uniform(1.0, 2.5)),
            "bladder": float(rng.lognormal(np.log(5.0), 0.5)) * (0.3 if superscan else 1.0),
            "bladder_size": float(rng.uniform(20, 45)),
            "injection": str(inj), "injection_side": int(rng.choice([-1, 1])),
            "inj_size": float(rng.uniform(3, 7)),
            "inj_uptake": float(rng.lognormal(np.log(15.0), 0.7)),
            "contamination": bool(rng.uniform() < 0.05),
            "cont_uptake": float(rng.uniform(5, 30)), "breast": float(rng.uniform(45, 75))}


def draw_findings(body, rng: np.random.Generator, metastatic: bool, superscan: bool
                  ) -> list[Lesion]:
    """Metastases (if any) then benign findings, numbered 1..n."""
    spots = []
    if metastatic:
        n = int(rng.integers(20, 41)) if superscan else metastasis_count(rng)
        spots += metastases(body, rng, n, superscan)
        n_benign = int(rng.uniform() < 0.3) + int(rng.uniform() < 0.1)
    else:
        n_benign = 0 if rng.uniform() < 0.2 else 1 + int(rng.poisson(0.7))
    spots += benign_findings(body, rng, min(n_benign, 4))
    keys = ("region", "x", "z", "a", "b", "angle", "amp", "depth", "thick_cm")
    return [Lesion(id=i + 1, malignant=bool(s["malignant"]), kind=s["kind"],
                   **{k: s[k] for k in keys}) for i, s in enumerate(spots)]


def simulate_study(rng: np.random.Generator, metastatic: bool) -> Study:
    """Draw and image one patient."""
    pat = draw_patient(rng)
    superscan = metastatic and rng.uniform() < 0.05
    body = build_body(rng, pat["height"], pat["habitus"], pat["sex"], pat["pose"])
    cam, place = draw_camera(rng, pat["height"])
    canvas = render_body(body, place, float(rng.uniform(1.8, 2.6)) if superscan else 1.0)
    phys = draw_physiology(rng, superscan)
    add_physiology(canvas, body, rng, phys)
    lesions = draw_findings(body, rng, metastatic, superscan)
    drawn = draw_lesions(canvas, lesions)
    malignant = {les.id for les in lesions if les.malignant}
    bsi = bone_scan_index(canvas, drawn, malignant)
    counts = acquire(canvas, cam, rng)
    masks = lesion_masks(canvas, cam, drawn)
    kept = [les for les in lesions if les.id in drawn]
    truth = {"lesions": [les.record() for les in kept], "bsi": round(bsi, 4),
             "label": "metastasis" if metastatic else "normal", "superscan": superscan,
             "metastases": sum(les.malignant for les in kept),
             "patient": pat, "physiology": phys,
             "camera": {k: getattr(cam, k) for k in cam.__dataclass_fields__},
             "placement": {"vertex_mm": place.vertex_mm, "shift_mm": place.shift_mm,
                           "angle_deg": place.angle_deg}}
    return Study(counts=counts, masks=masks, camera=cam, truth=truth, patient=pat)
