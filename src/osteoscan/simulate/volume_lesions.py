"""Bone lesions of the SPECT/CT phantom: metastases and their benign look-alikes.

Each lesion is a region of voxels (an irregular blob cut to its bone) with a CT and a SPECT
signature:

| kind | malignant | CT | SPECT |
|---|---|---|---|
| osteoblastic | yes | sclerotic (+250..700 HU, mottled) | hot (x3..8) |
| osteolytic | yes | lucent (bone replaced by 20..70 HU tissue) | cold (x0.2..0.5) or hot rim |
| mixed | yes | sclerotic and lucent patches | hot (x2..5) |
| osteophyte | no | new bone at a vertebral endplate margin | hot (x2.5..5, partial volume) |
| schmorl | no | lucent endplate pit with a sclerotic rim | normal to mild (x0.9..1.4) |
| haemangioma | no | fatty body with thick vertical trabeculae | normal to cold (x0.7..1.1) |
| bone_island | no | small dense focus (900..1400 HU) | normal (x0.9..1.3) |
| fracture | no | rib: lucent line and callus | hot (x3..7) |

The primary shifts metastases: lung -> mostly lytic or mixed, larger, more in ribs and
scapulae, colder; other (prostate, breast) -> mostly blastic, in spine and pelvis.

Every feature inside a lesion is sized in millimetres and partial-volumed (docs/volumes.md,
"Features in millimetres"): the rims (:data:`SCHMORL_RIM_MM`, :data:`LYTIC_RIM_MM`), the
fracture gap (:data:`FRACTURE_GAP_MM`), the haemangioma's trabeculae
(:data:`HAEMANGIOMA_PERIOD_MM`) and the mottling (:data:`LESION_TEXTURE_MM`). A voxel holds
the share of it that it covers, so the grid changes only how a feature is sampled.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate.volume_anatomy import Anatomy
from osteoscan.simulate.volume_canvas import Canvas
from osteoscan.simulate.volume_render import smooth_texture, texture_sd

SCHMORL_RIM_MM = 1.5
"""Sclerotic margin of a Schmorl node (a thin, well-defined rim of 1-2 mm)."""
LYTIC_RIM_MM = 2.0
"""Reactive new bone round a hot-rim lytic metastasis (a band of a few mm)."""
FRACTURE_GAP_MM = 2.0
"""Lucent fracture line through a rib's callus (1-3 mm on CT)."""
HAEMANGIOMA_PERIOD_MM = 4.0
"""Spacing of a haemangioma's thickened vertical trabeculae (the corduroy / polka-dot sign);
each is a third of it thick (1.3 mm)."""
LESION_TEXTURE_MM = 2.0
"""Correlation (gaussian sigma) of a lesion's mottling and of a mixed lesion's sclerotic and
lytic patches (about 5 mm across)."""

MALIGNANT_KINDS = ("osteoblastic", "osteolytic", "mixed")
BENIGN_KINDS = ("osteophyte", "schmorl", "haemangioma", "bone_island", "fracture")
KINDS = MALIGNANT_KINDS + BENIGN_KINDS
PRIMARIES = ("lung", "other")

_MIX = {"lung": (0.2, 0.45, 0.35), "other": (0.6, 0.15, 0.25)}
_PARTS = {  # where metastases land: vertebral body, pelvis, sacrum, rib, sternum, scapula, femur
    "lung": ((vc.VERTEBRA, 0.3), (vc.PELVIS, 0.15), (vc.SACRUM, 0.05), (vc.RIB, 0.25),
             (vc.STERNUM, 0.05), (vc.SCAPULA, 0.1), (vc.FEMUR, 0.1)),
    "other": ((vc.VERTEBRA, 0.45), (vc.PELVIS, 0.25), (vc.SACRUM, 0.1), (vc.RIB, 0.1),
              (vc.STERNUM, 0.03), (vc.SCAPULA, 0.02), (vc.FEMUR, 0.05))}
_BENIGN_P = (0.35, 0.15, 0.15, 0.2, 0.15)


def draw_kinds(rng: np.random.Generator, primary: str | None, n_mets: int | None,
               n_benign: int | None) -> list[str]:
    """The kinds of a study's lesions (metastases first)."""
    if n_mets is None:
        n_mets = 0 if primary is None else 1 + min(int(rng.poisson(3.0)), 9)
    if n_benign is None:
        n_benign = min(int(rng.poisson(1.5)), 5)
    mix = _MIX[primary or "other"]
    kinds = [MALIGNANT_KINDS[int(rng.choice(3, p=mix))] for _ in range(n_mets)]
    return kinds + [BENIGN_KINDS[int(rng.choice(5, p=_BENIGN_P))] for _ in range(n_benign)]


def _blob(cv: Canvas, centre, r: float, rng) -> tuple | None:
    """(slices, mask, depth) of an irregular blob: a sphere and a smaller one beside it;
    depth: mm inside the blob's surface (the larger of the two spheres')."""
    centre = np.asarray(centre, float)
    other = centre + rng.normal(size=3) / np.sqrt(3) * 0.5 * r
    got = cv.box(centre - 1.6 * r, centre + 1.6 * r)
    if got is None:
        return None
    sl, z, y, x = got
    d1 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2
    d2 = (x - other[0]) ** 2 + (y - other[1]) ** 2 + (z - other[2]) ** 2
    depth = np.maximum(r - np.sqrt(d1), 0.7 * r - np.sqrt(d2)).astype(np.float32)
    return sl, (d1 <= r * r) | (d2 <= (0.7 * r) ** 2), depth


def _random_voxel_mm(cv: Canvas, mask: np.ndarray, rng) -> np.ndarray | None:
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return None
    k, j, i = np.unravel_index(int(idx[rng.integers(idx.size)]), mask.shape)
    return np.array([cv.origin[0] + i * cv.spacing[2], cv.origin[1] + j * cv.spacing[1],
                     cv.origin[2] + k * cv.spacing[0]])


def _site(cv: Canvas, anat: Anatomy, kind: str, primary: str | None, rng):
    """(centre mm, radius mm, allowed-voxel test) for one lesion of a kind."""
    bone = np.isin(cv.labels, vc.BONE)
    if kind in MALIGNANT_KINDS:
        parts, p = zip(*_PARTS[primary or "other"])
        part = parts[int(rng.choice(len(parts), p=p))]
        r = rng.uniform(7, 17) if primary == "lung" else rng.uniform(5, 14)
        return _random_voxel_mm(cv, bone & (cv.parts == part), rng), r, lambda lab, par: \
            np.isin(lab, vc.BONE) & (par == part)
    if kind == "bone_island":
        return _random_voxel_mm(cv, cv.labels == vc.TRABECULAR, rng), rng.uniform(2.5, 6), \
            lambda lab, par: np.isin(lab, vc.BONE)
    if kind == "fracture":
        path = anat.ribs[int(rng.integers(len(anat.ribs)))]
        c = path[int(rng.integers(3, len(path) - 2))]
        return c, rng.uniform(5, 8), lambda lab, par: par == vc.RIB
    v = anat.spine[int(rng.integers(0, 12))]  # L5..T5: degenerative changes sit low
    cx, cy, cz = v.centre
    end = cz + rng.choice([-1, 1]) * v.height / 2
    if kind == "osteophyte":
        phi = rng.uniform(np.pi, 2 * np.pi)  # anterior and lateral margins (y < centre)
        return np.array([cx + v.rx * np.cos(phi), cy + v.ry * np.sin(phi), end]), \
            rng.uniform(4, 7), lambda lab, par: ~np.isin(lab, (*vc.BONE, vc.AIR))
    if kind == "schmorl":
        r = rng.uniform(3.5, 6)
        return np.array([cx + rng.normal(0, 3), cy + rng.normal(0, 3), end - np.sign(end - cz)
                         * 0.3 * r]), r, lambda lab, par: par == vc.VERTEBRA
    return np.array([cx + rng.normal(0, 4), cy + rng.normal(0, 3), cz]), rng.uniform(6, 11), \
        lambda lab, par: par == vc.VERTEBRA  # haemangioma


def place(cv: Canvas, anat: Anatomy, kind: str, primary: str | None, instances: np.ndarray,
          rng, tries: int = 25):
    """(slices, mask, centre mm, depth mm inside the blob's surface) of a lesion that
    overlaps no other, or None."""
    for _ in range(tries):
        centre, r, allowed = _site(cv, anat, kind, primary, rng)
        if centre is None:
            return None
        got = _blob(cv, centre, r, rng)
        if got is None:
            continue
        sl, mask, depth = got
        mask = mask & allowed(cv.labels[sl], cv.parts[sl])
        if mask.sum() >= 2 and not instances[sl][mask].any():
            return sl, mask, centre, depth
    return None


def _covered(n: int, step: float, lo, hi) -> np.ndarray:
    """Share of each of n voxels (centres 0, step, 2 step.. mm) between lo and hi (mm, may
    be arrays of periodic bands' edges, summed)."""
    x = np.arange(n) * step
    over = np.clip(np.minimum(x[:, None] + step / 2, hi) - np.maximum(x[:, None] - step / 2, lo),
                   0, None)
    return over.sum(axis=1) / step


def _axis_share(mask: np.ndarray, ax: int, share: np.ndarray) -> np.ndarray:
    shape = [1, 1, 1]
    shape[ax] = mask.shape[ax]
    return np.where(mask, share.reshape(shape), 0.0).astype(np.float32)


def _gap(mask: np.ndarray, spacing) -> np.ndarray:
    """Share of each voxel in a :data:`FRACTURE_GAP_MM` slab across the middle of the mask's
    longest in-plane extent (a rib runs in the axial plane, so this cuts it across)."""
    idx = np.nonzero(mask)
    ext = [float(i.max() - i.min()) * s if i.size else 0.0 for i, s in zip(idx, spacing)]
    ax = 1 + int(np.argmax(ext[1:]))
    mid = (idx[ax].min() + idx[ax].max()) / 2 * spacing[ax]
    half = FRACTURE_GAP_MM / 2
    return _axis_share(mask, ax, _covered(mask.shape[ax], spacing[ax], mid - half, mid + half))


def _trabeculae(mask: np.ndarray, spacing) -> np.ndarray:
    """Share of each voxel in a haemangioma's vertical trabeculae: plates across x, one
    :data:`HAEMANGIOMA_PERIOD_MM` apart and a third of it thick."""
    p, n, step = HAEMANGIOMA_PERIOD_MM, mask.shape[2], spacing[2]
    lo = p / 12 + p * np.arange(-1, int(n * step / p) + 2)
    return _axis_share(mask, 2, _covered(n, step, lo, lo + p / 3))


def _dense_share(tex: np.ndarray, spacing) -> np.ndarray:
    """Share of each voxel where the point field behind the voxel-averaged ``tex`` is > 0:
    what the voxel's mean leaves of the field's variance is spread within it (gaussian)."""
    within = np.sqrt(max(1.0 - texture_sd(spacing, LESION_TEXTURE_MM) ** 2, 1e-6))
    return special.ndtr(tex / within).astype(np.float32)


def _rim(mask: np.ndarray, depth: np.ndarray, spacing, t: float) -> np.ndarray:
    """Share of each voxel of the mask within ``t`` mm of the blob's own surface (where the
    lesion meets bone; a face cut by the bone's edge has no bone to react)."""
    share = vc.shell_share(depth, vc.normal_extent(depth, spacing, t), t)
    return np.where(mask, share, 0.0).astype(np.float32)


def apply(kind: str, hu: np.ndarray, uptake: np.ndarray, mask: np.ndarray, depth, rng,
          contrast: float, primary: str | None, spacing) -> None:
    """Write a lesion's CT and SPECT signature into the (boxed) HU and uptake arrays of a
    grid of voxel ``spacing`` (z, y, x) mm, ``depth`` mm inside the lesion's surface; every
    feature in mm, partial-volumed."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    tex = smooth_texture(rng.normal(size=mask.shape), spacing, LESION_TEXTURE_MM)
    if kind == "osteoblastic":
        hu[mask] += (u(250, 700) * (1 + 0.3 * tex))[mask]
        uptake[mask] *= u(3, 8) * contrast
    elif kind == "osteolytic":
        hu[mask] = u(20, 70) + 15 * tex[mask]
        if rng.random() < (0.5 if primary == "lung" else 0.25):
            uptake[mask] *= u(0.2, 0.5)
        else:
            uptake[mask] *= u(0.3, 0.7)
            rim = _rim(mask, depth, spacing, LYTIC_RIM_MM)
            uptake *= 1 + (u(2.5, 5) * contrast / 0.5 - 1) * rim
    elif kind == "mixed":  # dense where the point field > 0: a share of each voxel
        dense, sclerosis = _dense_share(tex, spacing), u(300, 700)
        hu[mask] = (dense * (hu + sclerosis) + (1 - dense) * u(25, 70))[mask]
        uptake[mask] *= u(2, 5) * contrast
    elif kind == "osteophyte":
        hu[mask] = u(500, 1000) + 60 * tex[mask]
        uptake[mask] = u(2.5, 5.0) * contrast  # degenerative change: a classic hot mimic
    elif kind == "schmorl":
        hu[mask] = u(40, 90)
        hu += 300 * _rim(mask, depth, spacing, SCHMORL_RIM_MM)
        uptake[mask] *= u(0.9, 1.4)
    elif kind == "haemangioma":
        fat = u(-40, 30)  # drawn first, as before
        hu[mask] = fat + (_trabeculae(mask, spacing) * u(300, 500))[mask]
        uptake[mask] *= u(0.7, 1.1)
    elif kind == "bone_island":
        hu[mask] = u(900, 1400)
        uptake[mask] *= u(0.9, 1.3)
    else:  # fracture: callus round a lucent gap through the middle
        hu[mask] += u(150, 400)
        hu += _gap(mask, spacing) * (60.0 - hu)
        uptake[mask] = np.maximum(uptake[mask], 1.0) * u(3, 7) * contrast


def place_soft(cv: Canvas, label: int, rng) -> np.ndarray | None:
    """A random point (LPS mm) inside a tissue (e.g. the lung, for a primary tumour)."""
    return _random_voxel_mm(cv, cv.labels == label, rng)
