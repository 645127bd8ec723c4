"""CT and SPECT images of the labelled phantom: tissue values, blur, attenuation, noise.

* **CT**: Hounsfield units per tissue (bone scaled with the profile's kVp; a bone voxel mixes
  cortex and core by its cortical share), a little tissue texture (a random field of
  :data:`TISSUE_TEXTURE_MM` correlation, averaged over the voxel), the reconstruction kernel
  (gaussian blur) and noise; the last two are the scanner's and follow its voxel.
* **SPECT** (99mTc-MDP): uptake per tissue (bone 1, kidneys 0.5, bladder 2..6, soft tissue
  0.06, ...) times the lesions' factors, in counts per ml; resampled onto the SPECT grid (with
  an anti-alias blur when the CT is much finer), attenuated along the four in-plane directions
  (narrow-beam mu from the CT; all but 10 % undone when the profile corrects attenuation),
  blurred to the profile's FWHM (8-12 mm) plus a broad scatter halo, then Poisson noise on
  the counts per SPECT voxel. The SPECT grid is the camera's (its own voxel size, matrix and a
  small misregistration); :func:`osteoscan.io.resample.resample_to` puts it on the CT grid.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from osteoscan.io.resample import resample_to
from osteoscan.io.volume import Volume, VolumeSource
from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate.volume_profiles import VolumeProfile

_TEXTURE_HU = np.array([0, 5, 8, 30, 40, 50, 10, 5, 5, 2, 5], np.float32)
"""SD (HU) of each tissue's texture as a point field (a coarse voxel averages some away)."""
TISSUE_TEXTURE_MM = 1.0
"""Correlation (gaussian sigma, mm) of the tissue texture: trabeculae are 0.5-1 mm apart,
which a clinical CT sees as a grain of about 1-2 mm."""
_MU_WATER = 0.0153  # 1/mm at 140 keV
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def hu_table(rng: np.random.Generator, profile: VolumeProfile) -> np.ndarray:
    """Hounsfield units of each tissue label for one patient on one scanner."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    bone = profile.bone_hu_scale
    return np.array([-1000, u(-110, -80), u(35, 55), u(-870, -820), u(1100, 1500) * bone,
                     u(140, 320) * bone, u(-40, 20), u(50, 65), u(30, 40), u(0, 15), u(35, 45)],
                    np.float32)


def uptake_table(rng: np.random.Generator) -> np.ndarray:
    """Relative 99mTc-MDP concentration of each tissue label (normal bone = 1)."""
    return np.array([0, 0.03, 0.06, 0.015, 0.9, 1.1, 0.25, 0.07, rng.uniform(0.35, 0.7),
                     rng.uniform(2.0, 6.0), 0.1], np.float32)


def tissue_values(table: np.ndarray, cv: vc.Canvas) -> np.ndarray:
    """A per-tissue table (HU or uptake) on the canvas: ``table[labels]``, and in bone the
    cortical share's mix of cortex and core (so a 1.2 mm cortex on a 4.4 mm voxel is 27 %
    cortical bone, not a whole voxel of it)."""
    out = table[cv.labels]
    bone = cv.core > 0
    share = cv.cortex[bone].astype(np.float32)
    out[bone] = share * table[vc.CORTICAL] + (1 - share) * table[cv.core[bone]]
    return out


def _field(shape, rng, sigma: float) -> np.ndarray:
    f = rng.standard_normal(shape, dtype=np.float32)
    if sigma > 0:
        ndimage.gaussian_filter(f, sigma, output=f)
    f /= f.std() + 1e-6
    return f


def smooth_texture(white: np.ndarray, spacing, sigma_mm: float) -> np.ndarray:
    """A gaussian random field of correlation ``sigma_mm`` and SD 1 as a point field, from
    white noise drawn on the grid (float32, in place): smoothed by sigma_mm / spacing voxels
    per axis and scaled to the SD that averaging over the voxel leaves, sqrt(prod over axes
    of sigma / sqrt(sigma^2 + spacing^2 / 12)) (the voxel as a box of variance s^2 / 12), so
    a texture finer than the voxel fades on a coarse grid instead of being drawn voxel-sized."""
    f = white.astype(np.float32, copy=False)
    ndimage.gaussian_filter(f, [sigma_mm / s for s in spacing], output=f)
    f /= f.std() + 1e-6
    f *= texture_sd(spacing, sigma_mm)
    return f


def texture_sd(spacing, sigma_mm: float) -> float:
    """SD left of a unit point field of correlation ``sigma_mm`` averaged over a voxel."""
    return float(np.sqrt(np.prod([sigma_mm / np.hypot(sigma_mm, s / np.sqrt(12.0))
                                  for s in spacing])))


def ct_image(hu: np.ndarray, labels: np.ndarray, profile: VolumeProfile, rng,
             noise_hu: float | None = None, *, spacing) -> np.ndarray:
    """Texture (:data:`TISSUE_TEXTURE_MM`), kernel blur (``ct_sharpness`` voxels) and noise
    (SD ``noise_hu`` per voxel, default the profile's ``ct_noise_hu``; grain 0.5 voxel) on a
    HU map of voxel ``spacing`` (z, y, x) mm (in place; returned)."""
    white = rng.standard_normal(hu.shape, dtype=np.float32)
    hu += _TEXTURE_HU[labels] * smooth_texture(white, spacing, TISSUE_TEXTURE_MM)
    ndimage.gaussian_filter(hu, profile.ct_sharpness, output=hu)
    hu += (profile.ct_noise_hu if noise_hu is None else noise_hu) * _field(hu.shape, rng, 0.5)
    np.clip(hu, -1024, 3071, out=hu)
    return hu


def spect_grid(ct: Volume, profile: VolumeProfile, shift=(0.0, 0.0, 0.0)) -> Volume:
    """The camera's empty SPECT grid, centred on the CT's field of view (plus a shift)."""
    s, n = profile.spect_voxel_mm, profile.spect_matrix
    centre = ct.position(np.subtract(ct.shape, 1) / 2.0)
    nz = int(np.ceil(ct.shape[0] * ct.spacing_mm[0] / s))
    shape = (nz, n, n)
    origin = centre - np.array([(nz - 1) / 2, (n - 1) / 2, (n - 1) / 2]) * s + np.asarray(shift)
    return Volume(np.zeros(shape, np.float32), (s, s, s), tuple(origin), np.eye(3), "NM",
                  ct.frame_of_reference_uid, VolumeSource(kind="simulated"))


def attenuation(mu: np.ndarray, step_mm: float) -> np.ndarray:
    """Mean transmission exp(-line integral of mu) towards the four in-plane directions.

    One cumulative sum per axis gives both directions: the backward integral is the line's
    total minus the forward one.
    """
    out = np.zeros_like(mu)
    for axis in (1, 2):
        fwd = np.cumsum(mu, axis=axis, dtype=np.float32)
        total = np.take(fwd, [-1], axis=axis)
        half = 0.5 * mu
        out += np.exp(-(fwd - half) * step_mm)
        out += np.exp(-(total - fwd + half) * step_mm)
    return out / 4.0


def spect_image(conc: Volume, hu: Volume, profile: VolumeProfile, rng,
                shift=(0.0, 0.0, 0.0)) -> Volume:
    """Counts per SPECT voxel, on the camera's grid.

    Args:
        conc: counts per ml on the CT grid (noise free, unblurred).
        hu: the CT (for the attenuation map), same grid.
        profile: the site profile.
        rng: random stream (Poisson noise).
        shift: where the patient lay during SPECT relative to the CT ((z, y, x) mm).
    """
    s = profile.spect_voxel_mm
    grid = spect_grid(conc, profile)
    seen = spect_grid(conc, profile, shift)  # the body sat there during the SPECT
    ratio = np.asarray(s) / np.asarray(conc.spacing_mm)
    if ratio.max() > 2.0:  # anti-alias a fine CT before sampling it at SPECT voxels
        conc = conc.with_array(ndimage.gaussian_filter(conc.array, 0.4 * ratio))
    act = resample_to(conc, seen).array
    mu = resample_to(hu, seen, fill=-1000.0).array
    mu = np.clip(_MU_WATER * (1.0 + np.where(mu > 0, 0.5, 1.0) * mu / 1000.0), 0, None)
    trans = attenuation(mu, s)
    act *= trans ** (0.1 if profile.attenuation_corrected else 1.0)
    sigma = profile.fwhm_mm * FWHM_TO_SIGMA / s
    blurred = ndimage.gaussian_filter(act, sigma)
    if profile.scatter > 0:
        halo = ndimage.gaussian_filter(act, 30.0 / s, truncate=2.5)
        blurred = (1 - profile.scatter) * blurred + profile.scatter * halo
    counts = rng.poisson(np.clip(blurred, 0, None) * (s ** 3 / 1000.0)).astype(np.float32)
    return replace(grid, array=counts)
