"""Site profiles of the SPECT/CT simulator: one hospital's CT and SPECT camera and habits.

Like the planar simulator's (:mod:`osteoscan.simulate.sites`), profiles are *generated*:
``profile_<seed>`` draws a CT (vendor, kVp, noise, sharpness, field of view, bone calibration)
and its realistic CT sampling (slice thickness 1.25-5 mm, a 512 or 256 matrix), and a SPECT
(vendor, voxel size, matrix, resolution FWHM 8-12 mm, count level, attenuation
correction on or off, scatter, SPECT-to-CT misregistration) from ranges of real systems, so
models are trained on some profiles and tested on one never seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.simulate.sites import PROFILE_PREFIX

_CT = (("GE MEDICAL SYSTEMS", "Discovery NM/CT 670"), ("SIEMENS", "Symbia Intevo 16"),
       ("Philips", "Precedence"), ("GE MEDICAL SYSTEMS", "Optima NM/CT 640"),
       ("SIEMENS", "Symbia T6"), ("Mediso", "AnyScan SC"))

CT_SLICES_MM = (1.25, 2.0, 2.5, 3.0, 3.75, 5.0)
"""Slice thicknesses of SPECT/CT CTs (GE 1.25/2.5/3.75/5, Siemens 2/3/5 mm)."""


@dataclass(frozen=True)
class VolumeProfile:
    """How one site acquires a SPECT/CT of the trunk.

    Attributes:
        name: ``profile_<seed>``.
        manufacturer, model: DICOM Manufacturer / ManufacturerModelName (CT and NM alike).
        kvp: CT tube voltage; bone HU scale with it (lower kVp, brighter bone).
        ct_noise_hu: CT noise standard deviation (HU) in soft tissue.
        ct_sharpness: reconstruction kernel blur in voxels (gaussian sigma).
        fov_mm: CT display field of view (in-plane side, mm).
        length_mm: (low, high) z extent of the scan (thighs to neck).
        spect_voxel_mm: SPECT voxel side (mm); the SPECT matrix is ``spect_matrix`` square.
        spect_matrix: SPECT in-plane matrix.
        fwhm_mm: SPECT system resolution after reconstruction (8-12 mm).
        counts_per_ml: expected counts per ml of normal bone (the count level).
        attenuation_corrected: whether the SPECT was reconstructed with CT-based attenuation
            correction (else deep activity is damped).
        scatter: fraction of counts in a broad scatter halo.
        misregistration_mm: standard deviation of the SPECT-to-CT shift per axis (mm).
        contrast: multiplier of lesion uptake ratios (camera and protocol).
        ct_slice_mm: the site's CT slice thickness = spacing (1.25-5 mm, as SPECT/CT
            scanners reconstruct the attenuation/localisation CT).
        ct_matrix: the site's CT in-plane matrix (512, or 256 as on some hybrid cameras);
            the pixel is ``fov_mm / ct_matrix`` (:attr:`ct_pixel_mm`).
        Both are used when a study is simulated with ``spacing="profile"``
        (:func:`osteoscan.simulate.volume_study.simulate_study`); the default grid is set by
        the study's ``shape`` instead.
    """

    name: str
    manufacturer: str
    model: str
    kvp: float
    ct_noise_hu: float
    ct_sharpness: float
    fov_mm: float
    length_mm: tuple[float, float]
    spect_voxel_mm: float
    spect_matrix: int
    fwhm_mm: float
    counts_per_ml: float
    attenuation_corrected: bool
    scatter: float
    misregistration_mm: float
    contrast: float
    ct_slice_mm: float = 2.5
    ct_matrix: int = 512

    @property
    def ct_pixel_mm(self) -> float:
        """The CT's in-plane pixel (mm): field of view over matrix."""
        return float(self.fov_mm / self.ct_matrix)

    @property
    def bone_hu_scale(self) -> float:
        """Bone attenuation relative to 120 kVp (about +12 % at 100 kVp, -8 % at 140)."""
        return float(1.0 + 0.006 * (120.0 - self.kvp))


def generate_volume_profile(seed: int) -> VolumeProfile:
    """Draw a SPECT/CT site profile (deterministic in seed).

    Args:
        seed: the profile seed.

    Returns:
        The profile, named ``profile_<seed>``.
    """
    rng = np.random.default_rng([int(seed), 3031])
    manufacturer, model = _CT[int(rng.integers(len(_CT)))]
    matrix = int(rng.choice([128, 128, 64]))
    voxel = float(rng.uniform(3.9, 4.8) if matrix == 128 else rng.uniform(7.0, 8.8))
    length = float(rng.uniform(520, 600))
    return VolumeProfile(
        name=f"{PROFILE_PREFIX}{int(seed)}", manufacturer=manufacturer, model=model,
        kvp=float(rng.choice([100.0, 120.0, 130.0, 140.0])),
        ct_noise_hu=float(rng.uniform(8.0, 30.0)), ct_sharpness=float(rng.uniform(0.3, 0.9)),
        fov_mm=float(rng.uniform(420.0, 500.0)), length_mm=(length - 20, length + 20),
        spect_voxel_mm=round(voxel, 3), spect_matrix=matrix,
        fwhm_mm=float(rng.uniform(8.0, 12.0)),
        counts_per_ml=float(np.exp(rng.uniform(np.log(200.0), np.log(1500.0)))),
        attenuation_corrected=bool(rng.random() < 0.7), scatter=float(rng.uniform(0.0, 0.2)),
        misregistration_mm=float(rng.uniform(0.0, 2.5)), contrast=float(rng.uniform(0.8, 1.2)),
        # drawn last, so the fields above stay what earlier versions drew for each seed
        ct_slice_mm=float(rng.choice(CT_SLICES_MM)), ct_matrix=int(rng.choice([512, 512, 512, 256])))


@lru_cache(maxsize=1024)
def get_volume_profile(name: str | int) -> VolumeProfile:
    """The profile ``profile_<seed>`` (an int is taken as the seed).

    Raises:
        ConfigError: the name is not ``profile_<non-negative integer>``.
    """
    text = f"{PROFILE_PREFIX}{name}" if isinstance(name, int) else str(name)
    seed = text[len(PROFILE_PREFIX):] if text.startswith(PROFILE_PREFIX) else ""
    if not seed.isdigit():
        raise ConfigError(f"unknown SPECT/CT profile {name!r}: use {PROFILE_PREFIX}<seed>, "
                          "a generated profile")
    return generate_volume_profile(int(seed))
