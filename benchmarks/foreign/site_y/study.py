"""One simulated study: patient -> voxel phantom -> camera -> counts, masks and truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import anatomy, axial, benign, camera, limbs, metastases, physiology
from .findings import BoneIndex, Lesion
from .geometry import ellipsoid

MATRICES = ((1024, 256, 0.60, (2.10, 2.50)), (512, 128, 0.20, (4.20, 4.80)),
            (2048, 512, 0.20, (1.20, 1.25)))
BONE_LEVEL = 45.0   # median bone / soft-tissue uptake ratio per volume (calibrated to REALISM.md)


@dataclass
class Study:
    """What one study produced (views in the anterior orientation, posterior not mirrored back)."""

    anterior: np.ndarray          # uint16 counts, as displayed (patient's right at column 0)
    posterior_acquired: np.ndarray  # uint16 counts as stored (seen from behind)
    masks: dict                   # view -> uint16 instance mask, anterior orientation
    truth: dict
    info: dict                    # what the DICOM writer needs


def draw_camera(rng, H: float) -> camera.Camera:
    """Matrix, pixel size, placement and count level of one acquisition."""
    k = rng.choice(len(MATRICES), p=[m[2] for m in MATRICES])
    rows, cols, _, (p0, p1) = MATRICES[k]
    p = max(float(rng.uniform(p0, p1)), (H + 80) / rows)
    fov = rows * p
    top = 10 + (fov - H - 40) * float(rng.beta(1.3, 3.0))
    width = cols * p
    centre = width / 2 + float(np.clip(rng.normal(0, 0.04), -0.09, 0.09)) * width
    counts = float(np.clip(rng.lognormal(np.log(0.5e6), 0.6), 0.2e6, 3.0e6))
    return camera.Camera(int(rows), int(cols), p, top, centre, float(rng.uniform(15, 60)),
                         float(rng.uniform(25, 50)), float(rng.uniform(0.2, 0.4)),
                         float(rng.uniform(25, 45)), counts)


def _skeleton(vol, body, level):
    levels = axial.draw_spine(vol, body, level)
    ribs = axial.draw_ribs(vol, body, levels, level)
    axial.draw_sternum_clavicles(vol, body, ribs, level)
    axial.draw_scapulae(vol, body, level)
    axial.draw_skull(vol, body, level)
    pelvis = limbs.draw_pelvis(vol, body, level)
    legs = limbs.draw_legs(vol, body, pelvis, level)
    arms = limbs.draw_arms(vol, body, level)
    sj = np.array([0.223 * body.H, min(ribs[(1, 2)][-1][1], ribs[(1, 3)][-1][1]) - 6, 0.0])
    return {"levels": levels, "ribs": ribs, "pelvis": pelvis, "legs": legs, "arms": arms,
            "sternum_joint": sj, "spine_y": body.spine_y, "H": body.H}


def _arthroplasty(vol, rng, marks) -> list:
    """A hip or knee prosthesis (4 %): metal, no uptake: a cold area, not a lesion."""
    if rng.random() >= 0.04:
        return []
    s = int(rng.choice([-1, 1]))
    joint = str(rng.choice(["hip", "knee"]))
    c = marks["legs"][s]["femoral_head" if joint == "hip" else "knee"]
    sl, m = ellipsoid(vol, c + [0.02 * marks["H"] if joint == "hip" else 0, 0, 0],
                      (0.045 * marks["H"], 22, 22))
    m = m & (vol.region[sl] > 0)
    vol.act[sl][m] = 0.3
    vol.mu[sl][m] = 0.08
    return [{"kind": f"arthroplasty_{joint}", "side": "right" if s < 0 else "left"}]


def _phantom(rng, metastatic: bool):
    body = anatomy.draw_body(rng)
    voxel = float(rng.uniform(4.0, 4.6))
    vol = anatomy.make_volume(body, voxel)
    n_met, superscan = metastases.burden(rng) if metastatic else (0, False)
    tissue = float(rng.lognormal(0, 0.2)) * (0.7 if superscan else 1.0)
    level = BONE_LEVEL * float(rng.lognormal(0, 0.2)) * (1.8 if superscan else 1.0)
    anatomy.draw_soft_tissue(vol, body, tissue)
    organs = physiology.draw_organs(vol, body, rng, tissue, float(np.clip(rng.lognormal(np.log(5), 0.5), 1.5, 20)),
                                    superscan)
    marks = _skeleton(vol, body, level)
    implants = _arthroplasty(vol, rng, marks)
    index = BoneIndex(vol)
    mets = metastases.draw_metastases(vol, rng, index, body.H, level, n_met, superscan, 1)
    ben = benign.draw_benign(vol, rng, marks, level, metastatic, len(mets) + 1)
    extras = physiology.draw_extras(vol, body, rng, marks["arms"], tissue)
    meta = {"organs": organs, "extras": extras, "implants": implants, "superscan": superscan,
            "bone_level": round(level / tissue, 1), "voxel_mm": round(voxel, 2)}
    return body, vol, mets, ben, meta


def footprints(vol, cam, lesions: list[Lesion]) -> np.ndarray:
    """Instance mask on the detector (anterior orientation): each lesion's projected outline;
    where outlines overlap the malignant one wins (benign drawn first)."""
    out = np.zeros((cam.rows, cam.cols), np.uint16)
    for les in sorted(lesions, key=lambda l: l.malignant):
        img = np.zeros((vol.shape[0], vol.shape[2]), np.float32)
        img[les.sl[0], les.sl[2]] = les.mask.any(axis=1)
        fp = camera.to_field(img, vol, cam, order=1) >= 0.5
        if not fp.any():  # smaller than a pixel after resampling: its centre pixel
            fp = camera.to_field(img, vol, cam, order=1)
            fp = fp >= fp.max() * 0.999 if fp.max() > 0 else fp > 0
        out[fp] = les.id
    return out


def simulate(rng: np.random.Generator, metastatic: bool) -> Study:
    """Draw and image one patient."""
    body, vol, mets, ben, meta = _phantom(rng, metastatic)
    cam = draw_camera(rng, body.H)
    a, p = camera.project(vol, cam)
    ca, cp, scale = camera.acquire(a, p, vol, cam, rng)
    mask = footprints(vol, cam, mets + ben)
    lesions = [_lesion_truth(vol, les, mask) for les in mets + ben]
    truth = {"lesions": lesions, "bsi": round(metastases.bsi(vol, mets), 4),
             "label": "metastasis" if metastatic else "normal", "lesion_count": len(mets),
             "patient": {"height_mm": round(body.H), "female": body.female, "arms": body.arms,
                         "habitus": round(body.w, 3)},
             "camera": {"rows": cam.rows, "cols": cam.cols, "pixel_mm": round(cam.pixel, 4),
                        "top_mm": round(cam.top_mm, 1), "centre_mm": round(cam.centre_mm, 1),
                        "counts_anterior": int(ca.sum()), "counts_posterior": int(cp.sum())},
             **meta}
    info = {"female": body.female, "height_mm": body.H, "pixel_mm": cam.pixel, "top_mm": cam.top_mm,
            "centre_mm": cam.centre_mm, "gap_ant": cam.gap_ant, "gap_pos": cam.gap_post,
            "dose_mbq": float(rng.uniform(550, 800)), "scan_speed": float(rng.choice([120, 150, 180]))}
    return Study(ca, cp[:, ::-1].copy(), {"anterior": mask, "posterior": mask.copy()}, truth, info)


def _lesion_truth(vol, les: Lesion, mask: np.ndarray) -> dict:
    rows, cols = np.nonzero(mask == les.id)
    return {"id": les.id, "malignant": les.malignant, "kind": les.kind, "region": les.region,
            "uptake_ratio": les.ratio, "volume_ml": round(float(les.mask.sum()) * vol.voxel ** 3 / 1000, 2),
            "area_px": int(rows.size),
            "centroid_rc": [round(float(rows.mean()), 1), round(float(cols.mean()), 1)] if rows.size else None,
            **les.extra}
