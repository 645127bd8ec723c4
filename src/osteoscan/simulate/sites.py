"""Acquisition site profiles: the scanner, its resolution, count level and DICOM style.

A site stands for one hospital's camera and export habits. Three profiles are shipped so that a
model trained on one site can be tested on another (external validation). The numbers follow
docs/simulator.md and /work/shared/FIELD.md (GE Discovery 670 files: 2.40 mm pixels, 0.4-0.9
million counts per view).
"""

from __future__ import annotations

from dataclasses import dataclass

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


SITES: dict[str, SiteProfile] = {
    "site_a": SiteProfile(
        name="site_a",
        manufacturer="GE MEDICAL SYSTEMS",
        model="Discovery NM/CT 670",
        shape=(1024, 256),
        spacing_mm=2.40,
        counts_range=(0.45e6, 0.9e6),
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


def get_site(name: str) -> SiteProfile:
    """Return the profile of a named site.

    Args:
        name: one of :data:`SITES`.

    Returns:
        The site profile.

    Raises:
        ConfigError: the name is unknown.
    """
    try:
        return SITES[name]
    except KeyError:
        raise ConfigError(f"unknown site {name!r}; choose one of {', '.join(SITES)}") from None
