"""The site_x camera: a dual-head whole-body sweep (GE Discovery / Infinia-like).

Lesions are drawn into the canvas as excess uptake on their host bone's layer; the two
views are then blurred by a Gaussian system response (FWHM 7-12 mm, plus a little more for
the far half of the body: LEHR resolution degrades with source distance), a little scatter
is added (a broad Gaussian, scatter fraction 5-15 % inside the 15 % photopeak window), the
posterior head sees the patient through the pallet (transmission 0.85-0.93) and less soft
tissue signal than the anterior (x 0.65-0.9: the abdominal contents and most subcutaneous
fat of a supine patient lie ventrally; calibrated to REALISM.md's body-pixel medians), the
image is scaled to the anterior view's total counts, sampled with Poisson noise, and rows
beyond the table travel (ScanLength) are left empty, as a sweep stores them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from benchmarks.foreign.site_x.render import MU_PER_CM, Canvas, ellipsoid

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
DEPTH_BLUR_MM = 5.0
"""x 2.2 = 11 mm of extra FWHM, added in quadrature, for the half of the body away from the
detector (FWHM 10 mm -> 14.9 mm: LEHR resolution at ~20 cm instead of ~8 cm)."""


@dataclass(frozen=True)
class Camera:
    """Acquisition settings of one study."""

    rows: int
    cols: int
    pixel_mm: float
    fwhm_mm: float
    counts_ant: float
    scatter: float
    scan_mm: float
    soft_conc: float
    table: float = 0.9  # transmission of the patient pallet seen by the posterior head
    soft_post: float = 0.8  # posterior / anterior soft-tissue signal (ventral soft tissue)
    binning: int = 1  # render at pixel_mm / binning, then sum binning x binning blocks


def sigmas(cam: Camera) -> tuple[float, float]:
    """(near, far) Gaussian sigma in RENDER pixels."""
    p = cam.pixel_mm / cam.binning
    near = cam.fwhm_mm * FWHM_TO_SIGMA / p
    far = np.hypot(cam.fwhm_mm, DEPTH_BLUR_MM * 2.2) * FWHM_TO_SIGMA / p
    return float(near), float(far)


def lesion_profile(canvas: Canvas, les) -> tuple | None:
    """Normalised footprint (ellipsoid chord, peak 1) of a lesion on the render grid."""
    place = canvas.place
    c = place.to_px(np.array([[les.x, les.z]]))[0]
    p = place.pixel_mm
    out = ellipsoid(canvas.shape, c, max(les.a / p, 0.6), max(les.b / p, 0.6),
                    les.angle + place.angle_deg, 1.0, 1.0)
    if out is None or out[1].max() <= 0:
        return None
    sl, prof, _ = out
    return sl, prof / prof.max()


def draw_lesions(canvas: Canvas, lesions: list) -> dict[int, tuple]:
    """Add each lesion's excess uptake to its host layer in both views.

    Excess = amp x (90th percentile of the host layer's bone activity under the footprint)
    x footprint, per view, so that a lesion in a thin rib is fainter than one in a vertebral
    body of the same relative uptake. Returns id -> (slices, profile, layer).
    """
    drawn = {}
    for les in lesions:
        fp = lesion_profile(canvas, les)
        if fp is None:
            continue
        sl, prof = fp
        layer = 0 if les.depth < 0.5 else 1
        for v in (0, 1):
            host = canvas.layers[v, layer][sl]
            level = np.percentile(host[prof > 0.3], 90) if (prof > 0.3).any() else 0.0
            if level <= 0:
                level = float(np.exp(-MU_PER_CM * les.thick_cm / 2)) * 0.5
            canvas.layers[v, layer][sl] += les.amp * level * prof
        drawn[les.id] = (sl, prof, layer)
    return drawn


def expected_views(canvas: Canvas, cam: Camera) -> np.ndarray:
    """Noise-free (2, rows, cols) anterior/posterior images on the render grid."""
    near, far = sigmas(cam)
    mu_l = MU_PER_CM * canvas.soft
    soft = cam.soft_conc * np.where(mu_l > 1e-6, -np.expm1(-mu_l) / MU_PER_CM, canvas.soft)
    soft_b = gaussian_filter(soft, far)
    out = np.empty((2, *canvas.shape), np.float32)
    for v in (0, 1):
        near_layer = v  # the anterior head sees the front half sharper, the posterior the back
        img = gaussian_filter(canvas.layers[v, near_layer], near)
        img += gaussian_filter(canvas.layers[v, 1 - near_layer], far)
        img += soft_b * (cam.soft_post if v == 1 else 1.0)
        img += cam.scatter * gaussian_filter(img, 30.0 / (cam.pixel_mm / cam.binning))
        out[v] = img
    return out


def bin_views(img: np.ndarray, k: int) -> np.ndarray:
    """Sum k x k blocks of the last two axes (the camera's coarser matrix)."""
    if k == 1:
        return img
    *lead, r, c = img.shape
    return img.reshape(*lead, r // k, k, c // k, k).sum(axis=(-3, -1))


def acquire(canvas: Canvas, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Counts (2, rows, cols) uint16 in the anterior orientation (posterior not mirrored)."""
    img = bin_views(expected_views(canvas, cam), cam.binning)
    img[1] *= cam.table
    img *= cam.counts_ant / float(img[0].sum())
    end = int(np.ceil(cam.scan_mm / cam.pixel_mm))
    img[:, end:, :] = 0.0
    counts = rng.poisson(np.clip(img, 0, None).astype(np.float64))
    return np.clip(counts, 0, 65535).astype(np.uint16)


def lesion_masks(canvas: Canvas, cam: Camera, drawn: dict[int, tuple]) -> np.ndarray:
    """Instance masks (2, rows, cols) uint16 on the camera grid, anterior orientation.

    A lesion's mask in a view is where its blurred excess is at least half its peak (the
    extent a reader outlines); overlapping lesions keep each pixel for the stronger one.
    """
    near, far = sigmas(cam)
    best = np.zeros((2, *canvas.shape), np.float32)
    ids = np.zeros((2, *canvas.shape), np.uint16)
    for k, (sl, prof, layer) in drawn.items():
        for v in (0, 1):
            s = near if layer == v else far
            pad = int(np.ceil(3 * s))
            r0, r1 = max(sl[0].start - pad, 0), min(sl[0].stop + pad, canvas.shape[0])
            c0, c1 = max(sl[1].start - pad, 0), min(sl[1].stop + pad, canvas.shape[1])
            big = np.zeros((r1 - r0, c1 - c0), np.float32)
            big[sl[0].start - r0:sl[0].stop - r0, sl[1].start - c0:sl[1].stop - c0] = prof
            blur = gaussian_filter(big, s)
            take = (blur >= 0.5 * blur.max()) & (blur > best[v, r0:r1, c0:c1])
            best[v, r0:r1, c0:c1][take] = blur[take]
            ids[v, r0:r1, c0:c1][take] = k
    return _bin_ids(ids, best, cam.binning)


def _bin_ids(ids: np.ndarray, best: np.ndarray, k: int) -> np.ndarray:
    """Coarser instance masks: each block takes the id of its strongest sub-pixel."""
    if k == 1:
        return ids
    v, r, c = ids.shape
    b = best.reshape(v, r // k, k, c // k, k).transpose(0, 1, 3, 2, 4).reshape(v, r // k,
                                                                              c // k, k * k)
    i = ids.reshape(v, r // k, k, c // k, k).transpose(0, 1, 3, 2, 4).reshape(v, r // k,
                                                                              c // k, k * k)
    pick = np.take_along_axis(i, b.argmax(-1)[..., None], -1)[..., 0]
    return pick.astype(np.uint16)


def bone_scan_index(canvas: Canvas, drawn: dict[int, tuple], malignant: set[int]) -> float:
    """BSI (%): bone path (mass) under the union of malignant footprints / all bone path."""
    involved = np.zeros(canvas.shape, bool)
    for k, (sl, prof, _) in drawn.items():
        if k in malignant:
            involved[sl] |= prof > 0
    total = float(canvas.path.sum())
    return 100.0 * float(canvas.path[involved].sum()) / total if total > 0 else 0.0
