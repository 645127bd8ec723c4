"""Acquisition site profiles: the scanner, its resolution, count level and DICOM style.

A site stands for one hospital's camera and export habits. Three named profiles are shipped
(site_a, site_b, site_c; docs/simulator.md and /work/shared/FIELD.md: GE Discovery 670 files
have 2.40 mm pixels and 0.4-0.9 million counts per view), and any number of *generated*
profiles, ``profile_<seed>``, drawn from the ranges of real cameras by
:func:`generate_profile`: matrices 512x128 to 2048x512, pixels 1.2-4.8 mm, 0.2-3 M counts per
view, resolution, scatter, where the body sits in the field, vendor and DICOM style. Training
uses some profiles and testing a profile never seen (domain randomisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from osteoscan.errors import ConfigError


@dataclass(frozen=True)
class SiteProfile:
    """How one site's camera acquires and stores a whole-body scan.

    Attributes:
        name: site name used in manifests ("site_a", ...).
        manufacturer: DICOM Manufacturer.
        model: DICOM ManufacturerModelName.
        shape: (rows, cols) of one view.
        spacing_mm: square pixel size in mm.
        counts_range: (low, high) total counts of the anterior view (uniformly drawn).
        fwhm_face_mm: system resolution (FWHM) at the collimator face.
        fwhm_per_cm: FWHM growth in mm per cm of source-collimator distance (added in quadrature).
        dicom_style: "multiframe" (one object, a frame per detector) or "split" (one file per view).
        view_codes: whether DetectorInformationSequence items carry a ViewCodeSequence.
        posterior_first: whether the posterior frame is stored first in a multi-frame object.
        scan_speed_mm_min: table speed, for ActualFrameDuration and ScanVelocity.
        station: DICOM StationName.
        scatter: fraction of the detected counts that are scattered (a broad halo).
        y_top_mm: (low, high) of the vertex's distance from the first row, mm.
        x_offset_sd_mm: standard deviation of the body's lateral offset, mm.
    """

    name: str
    manufacturer: str
    model: str
    shape: tuple[int, int]
    spacing_mm: float
    counts_range: tuple[float, float]
    fwhm_face_mm: float
    fwhm_per_cm: float
    dicom_style: str
    view_codes: bool
    posterior_first: bool
    scan_speed_mm_min: float
    station: str
    scatter: float = 0.0
    y_top_mm: tuple[float, float] = (15.0, 55.0)
    x_offset_sd_mm: float = 8.0


SITES: dict[str, SiteProfile] = {
    "site_a": SiteProfile(
        name="site_a",
        manufacturer="GE MEDICAL SYSTEMS",
        model="Discovery NM/CT 670",
        shape=(1024, 256),
        spacing_mm=2.40,
        counts_range=(0.38e6, 0.75e6),  # REALISM.md: real GE files, median 0.54 M
        fwhm_face_mm=6.5,
        fwhm_per_cm=0.55,
        dicom_style="multiframe",
        view_codes=False,
        posterior_first=False,
        scan_speed_mm_min=140.0,
        station="NMWB01",
    ),
    "site_b": SiteProfile(
        name="site_b",
        manufacturer="SIEMENS NM",
        model="Symbia Intevo",
        shape=(1024, 256),
        spacing_mm=2.26,
        counts_range=(0.8e6, 1.8e6),
        fwhm_face_mm=5.5,
        fwhm_per_cm=0.50,
        dicom_style="split",
        view_codes=False,
        posterior_first=False,
        scan_speed_mm_min=120.0,
        station="SYMBIA2",
    ),
    "site_c": SiteProfile(
        name="site_c",
        manufacturer="Philips Medical Systems",
        model="BrightView",
        shape=(1024, 256),
        spacing_mm=2.21,
        counts_range=(0.3e6, 0.6e6),
        fwhm_face_mm=8.0,
        fwhm_per_cm=0.70,
        dicom_style="multiframe",
        view_codes=True,
        posterior_first=True,
        scan_speed_mm_min=160.0,
        station="BVIEW-3",
    ),
}
"""The shipped site profiles, by name."""


PROFILE_PREFIX = "profile_"
_MATRICES = ((512, 128), (1024, 256), (2048, 512))
_VENDORS = (("GE MEDICAL SYSTEMS", "Discovery NM/CT 670"), ("GE MEDICAL SYSTEMS", "Infinia"),
            ("SIEMENS NM", "Symbia T2"), ("SIEMENS NM", "Symbia Intevo"),
            ("Philips Medical Systems", "BrightView"), ("Mediso", "AnyScan"),
            ("CANON_MEC", "GCA-9300"))
_STYLES = (("multiframe", False, False), ("multiframe", True, False), ("multiframe", True, True),
           ("split", False, False))


def generate_profile(seed: int) -> SiteProfile:
    """Draw a site profile from the ranges of real whole-body cameras (deterministic in seed).

    Matrix 512x128 (20 %), 1024x256 (65 %) or 2048x512 (15 %) over a 2.05-2.46 m field, so
    pixels are 1.2-4.8 mm; counts per view 0.2-3 M (log-uniform low end, 1.3-2x spread);
    FWHM at the face 5-9.5 mm growing 0.4-0.8 mm/cm; scatter 0-25 %; the vertex 10-120 mm below
    the first row and a lateral offset of sd 3-25 mm; vendor and DICOM style at random.

    Args:
        seed: the profile seed (``profile_<seed>``).

    Returns:
        The profile, named ``profile_<seed>``.
    """
    rng = np.random.default_rng([int(seed), 2027])
    rows, cols = _MATRICES[int(rng.choice(3, p=[0.2, 0.65, 0.15]))]
    spacing = float(np.clip(rng.uniform(2050.0, 2460.0) / rows, 1.2, 4.8))
    low = float(np.exp(rng.uniform(np.log(0.2e6), np.log(2.0e6))))
    manufacturer, model = _VENDORS[int(rng.integers(len(_VENDORS)))]
    style, codes, post_first = _STYLES[int(rng.integers(len(_STYLES)))]
    y0 = float(rng.uniform(10.0, 80.0))
    return SiteProfile(
        name=f"{PROFILE_PREFIX}{int(seed)}", manufacturer=manufacturer, model=model,
        shape=(rows, cols), spacing_mm=round(spacing, 2),  # DICOM keeps 2 decimals
        counts_range=(low, min(low * float(rng.uniform(1.3, 2.0)), 3.0e6)),
        fwhm_face_mm=float(rng.uniform(5.0, 9.5)), fwhm_per_cm=float(rng.uniform(0.4, 0.8)),
        dicom_style=style, view_codes=codes, posterior_first=post_first,
        scan_speed_mm_min=float(rng.uniform(100.0, 220.0)), station=f"WB{int(seed) % 1000:03d}",
        scatter=float(rng.uniform(0.0, 0.25)), y_top_mm=(y0, y0 + float(rng.uniform(20, 40))),
        x_offset_sd_mm=float(rng.uniform(3.0, 25.0)))


def profile_names(seed: int, n: int) -> tuple[str, ...]:
    """Names of n generated profiles starting at a seed: profile_<seed> ... profile_<seed+n-1>."""
    return tuple(f"{PROFILE_PREFIX}{int(seed) + k}" for k in range(int(n)))


@lru_cache(maxsize=4096)
def get_site(name: str) -> SiteProfile:
    """Return the profile of a named site or of a generated one (``profile_<seed>``).

    Args:
        name: one of :data:`SITES`, or ``profile_<non-negative integer>``.

    Returns:
        The site profile.

    Raises:
        ConfigError: the name is unknown.
    """
    if name in SITES:
        return SITES[name]
    seed = name[len(PROFILE_PREFIX):] if name.startswith(PROFILE_PREFIX) else ""
    if seed.isdigit():
        return generate_profile(int(seed))
    raise ConfigError(f"unknown site {name!r}; choose one of {', '.join(SITES)} or "
                      f"{PROFILE_PREFIX}<seed> (a generated profile)")
