"""The same simulated patient under other acquisitions: count level, pixel size, file format.

Robustness checks (issue 16, docs/robustness.md "The same patient, imaged differently") need
one patient (anatomy, physiology, lesions in mm) imaged several ways. :func:`render_variants`
images the patient once, noiselessly, on a base grid (1024 x 256 pixels of 2.4 mm, the
camera of ``site`` otherwise), then for each :class:`Variant`:

* scales the expected image to the variant's total counts (anterior view), so 0.3 M and
  1.5 M counts are the same patient with 5 times the acquisition time;
* for a pixel k times the base one, sums k x k blocks of the *expected* image: that is what a
  camera with the same resolution and larger pixels records, since a sum of Poisson
  variables is Poisson (binning the noisy image would give the same distribution);
* draws its own Poisson noise; ``Variant(..., draw=k)`` for k > 0 is the same acquisition
  repeated with an independent draw (a test-retest pair: what noise alone changes).

The variant's ground truth (lesion ids, regions, bone) is carried onto its grid by blocks;
the findings and the BSI are the patient's, unchanged. :func:`screen_export` writes a study
as a reading station exports it (inverted 8-bit grey, anterior and posterior side by side,
windowed so that the bladder saturates), and :func:`write_variant_dicom` as DICOM NM with the
variant's matrix and pixel spacing.

Example:
    >>> vs = render_variants(3, [Variant(0.3e6, 2.4), Variant(1.5e6, 4.8)],
    ...                      force_label="metastasis")          # doctest: +SKIP
    >>> [v.scan.shape for v in vs.values()]                     # doctest: +SKIP
    [(1024, 256), (512, 128)]
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from osteoscan.errors import ConfigError
from osteoscan.simulate import physics
from osteoscan.simulate.gallery import display_max
from osteoscan.simulate.sites import SiteProfile, get_site
from osteoscan.simulate.study import VIEWS, SimulatedStudy, StudyPlan, difficulty_value, render_plan
from osteoscan.simulate.writer import write_dicom

BASE_SHAPE = (1024, 256)
BASE_SPACING_MM = 2.4
"""The base grid every variant is derived from (the GE Discovery 670 whole-body matrix)."""


@dataclass(frozen=True)
class Variant:
    """One acquisition of a patient.

    Attributes:
        counts: total counts of the anterior view (the posterior follows the anatomy).
        spacing_mm: square pixel size; a whole multiple of the base grid's.
        draw: which Poisson draw: 0 the acquisition's own, k > 0 an independent repeat of
            the same acquisition (same expected image, new noise).
    """

    counts: float
    spacing_mm: float = BASE_SPACING_MM
    draw: int = 0

    @property
    def name(self) -> str:
        """A short name, e.g. ``0.3M_2.4mm`` (``0.3M_2.4mm_r1`` for the first repeat)."""
        base = f"{self.counts / 1e6:g}M_{self.spacing_mm:g}mm"
        return f"{base}_r{self.draw}" if self.draw else base


def base_profile(site: str, shape: tuple[int, int] = BASE_SHAPE,
                 spacing_mm: float = BASE_SPACING_MM) -> SiteProfile:
    """The site's camera (resolution, scatter, placement, vendor) on the base grid."""
    return dataclasses.replace(get_site(site), shape=tuple(shape), spacing_mm=float(spacing_mm))


def _factor(variant: Variant, base_mm: float) -> int:
    k = variant.spacing_mm / base_mm
    if round(k) < 1 or abs(k - round(k)) > 1e-6:
        raise ConfigError(f"variant pixel {variant.spacing_mm} mm: must be a whole multiple of "
                          f"the base grid's {base_mm} mm")
    if variant.counts <= 0:
        raise ConfigError(f"variant counts {variant.counts}: must be positive")
    if variant.draw < 0:
        raise ConfigError(f"variant draw {variant.draw}: must be 0 or a positive repeat number")
    return int(round(k))


def _blocks(img: np.ndarray, k: int, how: str) -> np.ndarray:
    """k x k blocks of an image (rows and columns cut to whole blocks): sum, max, any or the
    block's centre pixel (``"pick"``, for label maps that must keep a valid code)."""
    if k == 1:
        return img.copy()
    r, c = img.shape[0] // k * k, img.shape[1] // k * k
    if how == "pick":
        return img[k // 2:r:k, k // 2:c:k].copy()
    b = img[:r, :c].reshape(r // k, k, c // k, k)
    return {"sum": b.sum((1, 3)), "max": b.max((1, 3)), "any": b.any((1, 3))}[how]


def _variant(base: SimulatedStudy, expected: dict, variant: Variant, base_mm: float,
             rng: np.random.Generator) -> SimulatedStudy:
    k = _factor(variant, base_mm)
    scale = variant.counts / max(float(expected["anterior"].sum()), 1e-9)
    counts = {v: physics.to_counts(_blocks(expected[v] * scale, k, "sum"), rng) for v in VIEWS}
    acq = dataclasses.replace(base.scan.acquisition,
                              total_counts=tuple(float(counts[v].sum()) for v in VIEWS))
    scan = dataclasses.replace(base.scan, anterior=counts["anterior"],
                               posterior=counts["posterior"], acquisition=acq,
                               spacing_mm=(variant.spacing_mm, variant.spacing_mm),
                               meta={**base.scan.meta, "variant": variant.name})
    anns = tuple(dataclasses.replace(a, points=tuple((x / k, y / k) for x, y in a.points))
                 for a in base.label.annotations)  # pixel corners scale with the pixel
    return dataclasses.replace(
        base, scan=scan, label=dataclasses.replace(base.label, annotations=anns),
        bone_mask=_blocks(base.bone_mask, k, "any"),
        lesion_masks={v: _blocks(m, k, "max") for v, m in base.lesion_masks.items()},
        region_maps={v: _blocks(m, k, "pick") for v, m in base.region_maps.items()})


def render_variants(seed: int, variants: Sequence[Variant], *, site: str = "site_a",
                    difficulty: str | float = "default", force_label: str | None = None,
                    shape: tuple[int, int] = BASE_SHAPE,
                    spacing_mm: float = BASE_SPACING_MM) -> dict[Variant, SimulatedStudy]:
    """One patient imaged as each variant (module docstring).

    Args:
        seed: patient seed (as :func:`osteoscan.simulate.simulate_study`).
        variants: the acquisitions wanted.
        site: whose camera (resolution, scatter), placement and vendor; its matrix and pixel
            size are replaced by the base grid's.
        difficulty: "easy", "default", "hard" or a number in 0..1.
        force_label: "normal"/"metastasis" instead of a random draw.
        shape, spacing_mm: the base grid.

    Returns:
        Variant -> the study as acquired that way (each with its own Poisson noise, the same
        patient and findings).

    Raises:
        ConfigError: a variant's pixel is not a whole multiple of the base's, or counts <= 0.
    """
    for v in variants:
        _factor(v, spacing_mm)
    plan = StudyPlan(patient_seed=int(seed), site=site, difficulty=difficulty_value(difficulty),
                     force_label=force_label, patient_id=f"SIM{int(seed):06d}",
                     study_id=f"SIM{int(seed):06d}-0")
    render = render_plan(plan, profile=base_profile(site, shape, spacing_mm))
    out = {}
    for v in variants:
        key = [int(seed), 11, int(round(v.counts)), _factor(v, spacing_mm)]
        rng = np.random.default_rng(key + [int(v.draw)] if v.draw else key)  # draw 0 as before
        out[v] = _variant(render.study, render.expected, v, spacing_mm, rng)
    return out


def screen_export(study: SimulatedStudy, *, fmt: str = "png", quality: int = 90,
                  gap: int = 16) -> bytes:
    """The study as a reading station's screen export: 8-bit, inverted (dark uptake on white),
    anterior left and posterior right as acquired (not mirrored), each view windowed at
    :func:`osteoscan.simulate.gallery.display_max` (the bladder and the hottest lesions
    saturate), PNG or JPEG bytes.
    """
    if fmt not in ("png", "jpeg"):
        raise ConfigError(f"screen export format {fmt!r}: use png or jpeg")
    panels = []
    for view in VIEWS:
        img = np.asarray(getattr(study.scan, view), np.float32)
        top = display_max(img, study.bone_mask)
        grey = 255.0 - 255.0 * np.clip(img / max(top, 1e-6), 0.0, 1.0)
        panels.append(grey[:, ::-1] if view == "posterior" else grey)
    white = np.full((panels[0].shape[0], gap), 255.0, np.float32)
    pic = np.rint(np.concatenate([panels[0], white, panels[1]], axis=1)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pic).save(buf, format=fmt.upper(), **({"quality": quality} if fmt == "jpeg"
                                                            else {}))
    return buf.getvalue()


def write_variant_dicom(study: SimulatedStudy, folder: str | Path, *, seed: int = 0) -> Path:
    """Write a variant as its site's DICOM NM, with the variant's matrix and pixel spacing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    profile = dataclasses.replace(get_site(study.site), shape=study.scan.shape,
                                  spacing_mm=float(study.scan.spacing_mm[0]))
    return write_dicom(study, folder, seed, profile=profile)
