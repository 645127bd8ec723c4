"""Planar gamma-camera physics: attenuation, depth-dependent collimator blur, Poisson counts.

Activity is kept in a few depth layers (fractions of the local body thickness). For a view,
each layer is attenuated by ``exp(-mu * d)`` where d is the pixel's distance to that view's
detector, then spread over a few source-to-collimator distance bins (linear weights) and each
bin is blurred with its own Gaussian: FWHM(d) = sqrt(FWHM_face^2 + (k * d_cm)^2), the usual
LEHR collimator model. Soft tissue is a uniform source through the thickness T, whose
attenuated integral is (1 - exp(-mu T)) / mu, the same for both views.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from osteoscan.simulate.anatomy import Structure
from osteoscan.simulate.sites import SiteProfile

MU_PER_MM = 0.015
"""Linear attenuation of soft tissue at 140 keV (0.15 / cm, narrow beam with some scatter)."""

FRAC_BINS = np.array([0.03, 0.2, 0.4, 0.6, 0.8, 0.97])
"""Depth-layer centres as fractions of body thickness from the anterior skin."""

DIST_BINS = np.array([0.0, 50.0, 100.0, 160.0, 240.0])
"""Source-to-collimator distance bins (mm) of the blur."""


def empty_layers(shape: tuple[int, int]) -> np.ndarray:
    """A zeroed (layers, rows, cols) activity stack."""
    return np.zeros((len(FRAC_BINS), *shape), dtype=np.float32)


def _split(frac: float) -> tuple[int, int, float]:
    """Two neighbouring depth layers of a depth fraction and the weight of the second."""
    f = float(np.clip(frac, FRAC_BINS[0], FRAC_BINS[-1]))
    j1 = int(min(np.searchsorted(FRAC_BINS, f), len(FRAC_BINS) - 1))
    j0 = max(j1 - 1, 0)
    a = 0.0 if j1 == j0 else (f - FRAC_BINS[j0]) / (FRAC_BINS[j1] - FRAC_BINS[j0])
    return j0, j1, a


def deposit(layers: np.ndarray, st: Structure, values: np.ndarray | None = None,
            scale: float = 1.0) -> None:
    """Add a structure's activity (uptake x thickness, or ``values``) to the layer stack.

    Args:
        layers: (layers, rows, cols) stack, modified in place.
        st: the structure (patch, depth fraction, uptake).
        values: activity over the patch box instead of uptake x thickness.
        scale: multiplier (superscan, Paget).
    """
    rs, cs, th = st.patch
    act = (th * st.uptake if values is None else values) * scale
    j0, j1, a = _split(st.frac)
    layers[j0, rs, cs] += (1 - a) * act
    if a > 0:
        layers[j1, rs, cs] += a * act


def view_distance(frac: float | np.ndarray, thickness: np.ndarray, view: str) -> np.ndarray:
    """Distance (mm) from a depth fraction to the detector of a view."""
    f = frac if view == "anterior" else 1.0 - np.asarray(frac)
    return f * thickness


def attenuation(thickness: np.ndarray, view: str) -> np.ndarray:
    """Transmission ``exp(-mu d)`` of each depth layer towards one view (layers, rows, cols)."""
    d = view_distance(FRAC_BINS[:, None, None], thickness[None], view)
    return np.exp(-MU_PER_MM * d).astype(np.float32)


def blur_sigma_px(site: SiteProfile, dist_mm: float) -> float:
    """Gaussian sigma in pixels of the system resolution at a source distance."""
    fwhm = np.hypot(site.fwhm_face_mm, site.fwhm_per_cm * dist_mm / 10.0)
    return float(fwhm / 2.355 / site.spacing_mm)


def body_box(thickness: np.ndarray, margin: int = 16) -> tuple[slice, slice]:
    """Bounding box of the body plus a margin wider than any blur kernel (3 sigma)."""
    rows = np.flatnonzero(thickness.any(axis=1))
    cols = np.flatnonzero(thickness.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def project(att: np.ndarray, thickness: np.ndarray, view: str, site: SiteProfile) -> np.ndarray:
    """Blur attenuated layers with the depth-dependent collimator response and sum them.

    Args:
        att: layers times :func:`attenuation`.
        thickness: body thickness map (mm).
        view: "anterior" or "posterior".
        site: the camera (resolution).

    Returns:
        The expected image of these layers (rows, cols), before scaling to counts.
    """
    box = body_box(thickness)
    out = np.zeros(thickness.shape, dtype=np.float32)
    out[box] = project_box(att[(slice(None), *box)], thickness[box], view, site)
    return out


def _hat(d: np.ndarray, k: int) -> np.ndarray:
    """Linear-interpolation weight of distance bin k at distances d (sums to 1 over bins)."""
    centre = DIST_BINS[k]
    if k > 0 and k < len(DIST_BINS) - 1:
        width = np.where(d < centre, centre - DIST_BINS[k - 1], DIST_BINS[k + 1] - centre)
    elif k == 0:
        width = DIST_BINS[1] - centre
    else:
        width = centre - DIST_BINS[k - 1]
    w = 1.0 - np.abs(d - centre) / width
    if k == 0:
        w = np.where(d <= centre, 1.0, w)
    if k == len(DIST_BINS) - 1:
        w = np.where(d >= centre, 1.0, w)
    return np.clip(w, 0.0, 1.0).astype(np.float32)


def project_box(att: np.ndarray, thickness: np.ndarray, view: str, site: SiteProfile
                ) -> np.ndarray:
    """:func:`project` on arrays already cropped to the body box (no cropping done here)."""
    nb = len(DIST_BINS)
    bins = np.zeros((nb, *thickness.shape), dtype=np.float32)
    tmax = float(thickness.max()) if thickness.size else 0.0
    for j, f in enumerate(FRAC_BINS):
        d = view_distance(f, thickness, view)
        near = (f if view == "anterior" else 1.0 - f) * tmax
        for k in range(nb):
            if k > 0 and DIST_BINS[k - 1] > near:
                break  # every pixel of this layer is nearer than bin k's support
            bins[k] += att[j] * _hat(d, k)
    out = np.zeros(thickness.shape, dtype=np.float32)
    for k, dist in enumerate(DIST_BINS):
        if bins[k].any():
            out += gaussian_filter(bins[k], blur_sigma_px(site, dist), mode="constant",
                                   truncate=3.0)
    return out


def soft_tissue(thickness: np.ndarray, concentration: float, site: SiteProfile) -> np.ndarray:
    """Expected soft-tissue image: a uniform source through thickness T, attenuated and blurred."""
    img = concentration * (1.0 - np.exp(-MU_PER_MM * thickness)) / MU_PER_MM
    return gaussian_filter(img.astype(np.float32), blur_sigma_px(site, 80.0), mode="constant")


def to_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson-distributed detected counts, clipped to the uint16 range, as float32."""
    counts = rng.poisson(np.clip(expected, 0, None).astype(np.float64))
    return np.minimum(counts, 65535).astype(np.float32)
