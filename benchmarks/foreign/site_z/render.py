"""Projection of the 2.5-D patient onto the two heads of a whole-body camera.

Each capsule's path length is weighted by its activity and by exp(-mu * depth) to the
anterior or the posterior skin (mu = 0.15 /cm, 140 keV in soft tissue, narrow beam with
some scatter build-up), then put in a layer by its distance to that head and blurred with
that distance's LEHR system resolution, FWHM = sqrt(3.8^2 + (1.6 + 0.048 d)^2) mm (about
7.4 mm at 10 cm, the data sheets' figure). The sum is tilted by the patient's in-plane angle,
scaled to the study's total counts and given Poisson noise. Everything is in the anterior
orientation (patient's right on the low column); the DICOM writer mirrors the posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, rotate

from .anatomy import Patient, Prim, trunk_ab

MU = 0.12     # /cm: narrow-beam 0.15 at 140 keV, less the build-up of scatter in a 20 % window
EDGES = np.array([0.0, 4.0, 8.0, 12.0, 17.0, 24.0, 1e9])  # cm to the collimator face
MIDS = np.array([2.0, 6.0, 10.0, 14.5, 20.0, 28.0])


@dataclass
class Geometry:
    """Matrix, pixel size (cm) and where the patient lies in the field."""

    rows: int
    cols: int
    pix: float
    top: float        # cm from the first row to the vertex
    shift: float      # cm lateral offset of the midline
    yaw: float        # radians, axial rotation (one shoulder nearer the table)
    tilt: float       # degrees, in-plane rotation
    gap: float        # cm from skin to collimator (body-contour orbit)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        return self.cols / 2 - 0.5 + (x + self.shift) / self.pix, (y + self.top) / self.pix


def fwhm_mm(d_cm: float) -> float:
    """LEHR system resolution at d cm from the collimator (intrinsic 3.8 mm)."""
    return float(np.hypot(3.8, 1.6 + 0.48 * d_cm))


def _yawed(g: Geometry, p: tuple[float, float, float]) -> tuple[float, float, float]:
    c, s = np.cos(g.yaw), np.sin(g.yaw)
    return p[0] * c + p[2] * s, p[1], -p[0] * s + p[2] * c


def chord(g: Geometry, pr: Prim):
    """(row slice, col slice, path length cm) of one capsule, or None if off the field."""
    (x0, y0, _), (x1, y1, _) = _yawed(g, pr.p0), _yawed(g, pr.p1)
    c0, r0 = g.to_px(x0, y0)
    c1, r1 = g.to_px(x1, y1)
    rp = pr.r / g.pix + 1
    ra = int(max(np.floor(min(r0, r1) - rp), 0))
    rb = int(min(np.ceil(max(r0, r1) + rp) + 1, g.rows))
    ca = int(max(np.floor(min(c0, c1) - rp), 0))
    cb = int(min(np.ceil(max(c0, c1) + rp) + 1, g.cols))
    if ra >= rb or ca >= cb:
        return None
    rr, cc = np.mgrid[ra:rb, ca:cb].astype(np.float32)
    dr, dc = r1 - r0, c1 - c0
    L2 = dr * dr + dc * dc
    t = np.clip(((rr - r0) * dr + (cc - c0) * dc) / L2, 0, 1) if L2 > 1e-9 else 0.0
    d2 = ((rr - r0 - t * dr) ** 2 + (cc - c0 - t * dc) ** 2) * g.pix ** 2
    ch = 2 * pr.k * np.sqrt(np.maximum(pr.r ** 2 - d2, 0))
    if pr.shell:
        ch -= 2 * pr.k * np.sqrt(np.maximum((pr.shell * pr.r) ** 2 - d2, 0))
    np.minimum(ch, pr.tmax, out=ch)
    return slice(ra, rb), slice(ca, cb), ch


def thickness(g: Geometry, p: Patient, tissue: list) -> np.ndarray:
    """Body thickness (cm) per pixel: the elliptic trunk and the limb/head capsules."""
    rows = np.arange(g.rows)
    y = rows * g.pix - g.top
    a, b = trunk_ab(p, y)
    x = (np.arange(g.cols) - g.cols / 2 + 0.5) * g.pix - g.shift
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 1 - (x[None, :] / np.where(a > 0, a, 1)[:, None]) ** 2
    T = np.where((a[:, None] > 0) & (q > 0), 2 * b[:, None] * np.sqrt(np.clip(q, 0, 1)), 0)
    T = T.astype(np.float32)
    for p0, p1, r in tissue:
        out = chord(g, Prim(p0, p1, r, 0.0, "tissue"))
        if out is not None:
            rs, cs, ch = out
            np.maximum(T[rs, cs], ch, out=T[rs, cs])
    return T


def project(g: Geometry, p: Patient, prims: list[Prim], tissue: list, soft: float):
    """Noise-free anterior and posterior images, lesion instance mask, footprint areas."""
    T = thickness(g, p, tissue)
    nb = len(MIDS)
    lay = np.zeros((2, nb, g.rows, g.cols), np.float32)
    mask = np.zeros((g.rows, g.cols), np.uint16)
    areas: dict[str, int] = {}
    foot = np.zeros((g.rows, g.cols), np.int16)
    regions: dict[str, int] = {}
    for pr in prims:
        out = chord(g, pr)
        if out is None:
            continue
        rs, cs, ch = out
        zc = _yawed(g, tuple((np.array(pr.p0) + np.array(pr.p1)) / 2))[2]
        cx, cy = g.to_px(*_yawed(g, pr.p0)[:2])
        h = T[int(np.clip(cy, 0, g.rows - 1)), int(np.clip(cx, 0, g.cols - 1))] / 2
        for v, depth in enumerate((max(h + zc, 0.3), max(h - zc, 0.3))):
            b = int(np.searchsorted(EDGES, depth + g.gap) - 1)
            lay[v, b, rs, cs] += (pr.act * np.exp(-MU * depth)) * ch
        on = ch > 0.05
        if pr.lid:
            mask[rs, cs][on] = pr.lid
            areas[str(pr.lid)] = areas.get(str(pr.lid), 0) + int(on.sum())
        elif pr.region in BONE_REGIONS:
            code = regions.setdefault(pr.region, len(regions) + 1)
            foot[rs, cs][on] = code
    soft_img = soft * (1 - np.exp(-MU * T)) / MU
    views = []
    for v in range(2):
        img = gaussian_filter(soft_img, fwhm_mm(10 + g.gap) / 23.55 / g.pix)
        for b in range(nb):
            if lay[v, b].any():
                img += gaussian_filter(lay[v, b], fwhm_mm(MIDS[b]) / 23.55 / g.pix)
        views.append(img)
    if abs(g.tilt) > 0.05:
        views = [np.clip(rotate(im, g.tilt, reshape=False, order=1), 0, None) for im in views]
        mask = rotate(mask, g.tilt, reshape=False, order=0)
        foot = rotate(foot, g.tilt, reshape=False, order=0)
    reg_area = {r: int((foot == c).sum()) for r, c in regions.items()}
    return views[0], views[1], mask, reg_area, T


BONE_REGIONS = ("skull", "cervical", "thoracic", "lumbar", "sacrum", "pelvis", "ribs",
                "sternum", "clavicle", "scapula", "humerus", "forearm", "hand", "femur", "leg",
                "foot")


def add_noise(rng: np.random.Generator, ant: np.ndarray, post: np.ndarray, total: float):
    """Scale so the anterior holds ``total`` counts (posterior by the same factor), Poisson."""
    k = total / max(float(ant.sum()), 1e-9)
    a = rng.poisson(ant * k).astype(np.uint16)
    b = rng.poisson(post * k).astype(np.uint16)
    return a, b
