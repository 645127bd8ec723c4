"""Soft-tissue physiology: kidneys, bladder, injection site, urine contamination.

Organs are :class:`~osteoscan.simulate.anatomy.Structure` objects with an empty region, so
they add counts but never enter the bone mask, the region maps or the Bone Scan Index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteoscan.simulate._raster import Grid
from osteoscan.simulate.anatomy import AnatomyBuilder, Body, Structure, arm_points

SOFT_TISSUE_UPTAKE = 0.055
"""Tracer concentration of soft tissue relative to normal bone (per mm of path)."""

SOFT_TISSUE_VIEW = {"anterior": 1.2, "posterior": 0.6}
"""Soft-tissue activity seen by each view relative to a uniform source: the abdominal wall,
breasts and bowel lie nearer the anterior detector and the couch attenuates the posterior view.
Calibrated on REALISM.md (median counts per body pixel 5.5 anterior vs 3.5 posterior, 99th
percentile / median 6.4 vs 7.8 on real GE files)."""


@dataclass(frozen=True)
class Physiology:
    """Drawn physiological findings of one scan.

    Attributes:
        kidney_uptake: relative concentration in the renal parenchyma.
        bladder_fill: bladder radius in mm (0 = empty).
        bladder_uptake: relative concentration of the urine.
        injection_arm: "right" or "left".
        injection_uptake: relative concentration at the injection site.
        contamination: whether a urine spot is on the skin.
    """

    kidney_uptake: float
    bladder_fill: float
    bladder_uptake: float
    injection_arm: str
    injection_uptake: float
    contamination: bool


def sample_physiology(rng: np.random.Generator, superscan: bool) -> Physiology:
    """Draw kidney, bladder and injection-site parameters (superscan: faint kidneys)."""
    kid = rng.uniform(0.35, 0.9) * (0.12 if superscan else 1.0)
    return Physiology(
        kidney_uptake=float(kid),
        bladder_fill=float(rng.uniform(12, 52)),
        bladder_uptake=float(rng.uniform(0.6, 2.6) * (0.35 if superscan else 1.0)),
        injection_arm="right" if rng.random() < 0.6 else "left",
        injection_uptake=float(rng.choice([0.0, rng.uniform(8, 80)], p=[0.35, 0.65])),
        contamination=bool(rng.random() < 0.08),
    )


def _variants(b: AnatomyBuilder, h: float, phys: Physiology, rv: np.random.Generator) -> None:
    """Normal variants drawn from their own stream (so other draws do not shift).

    Renal pelvis retention (20 %, a hot spot at a kidney's hilum that mimics a rib or
    vertebral lesion posteriorly), one poorly functioning kidney (5 %), free pertechnetate
    (4 %: thyroid and stomach).
    """
    u = rv.random(4)
    s = -1 if u[3] < 0.5 else 1
    y = 0.352 + (0.006 if s < 0 else 0.0)  # the right kidney sits lower (build_organs)
    if u[0] < 0.20:
        b.blob("renal_pelvis", "", 0.7, phys.kidney_uptake * rv.uniform(3, 8),
               s * 0.030 * h, y + 0.004, rv.uniform(6, 11), rv.uniform(7, 13), 8)
    if u[1] < 0.05:
        b.blob("kidney_faint", "", 0.72, -0.8 * phys.kidney_uptake, s * 0.040 * h, y,
               28, 52, 24, angle=-s * 12)
    if u[2] < 0.04:
        b.blob("thyroid", "", 0.15, rv.uniform(2, 5), 0, 0.155, 22, 12, 10)
        b.blob("stomach", "", 0.3, rv.uniform(0.3, 0.8), 0.04 * h, 0.33, 45, 40, 35)


def build_organs(grid: Grid, body: Body, phys: Physiology, rng: np.random.Generator,
                 variants: np.random.Generator | None = None) -> list[Structure]:
    """Rasterise the organs of one scan.

    Args:
        grid: the pixel grid.
        body: the patient (for landmarks).
        phys: the drawn physiology.
        rng: random generator (contamination position).
        variants: random generator of the normal variants (None: no variants).

    Returns:
        Organ structures (region "").
    """
    b = AnatomyBuilder(grid, body)
    h = body.height
    for s, side, dy in ((-1, "right", 0.006), (1, "left", 0.0)):
        b.blob(f"kidney_{side}", "", 0.72, phys.kidney_uptake, s * 0.040 * h, 0.352 + dy,
               28, 52, 24, angle=-s * 12)
    if phys.bladder_fill > 0:
        r = phys.bladder_fill
        b.blob("bladder", "", 0.33, phys.bladder_uptake, 0, 0.492 - 0.2 * r / h, r * 1.15, r, r)
    if phys.injection_uptake > 0:
        s = -1 if phys.injection_arm == "right" else 1
        pts = arm_points(b, s, body.arms)
        t = rng.uniform(0.0, 0.9)
        x = pts[1][0] + t * (pts[2][0] - pts[1][0])
        y = pts[1][1] + t * (pts[2][1] - pts[1][1])
        b.blob("injection", "", 0.4, phys.injection_uptake, x, y, 7, 9, 7)
    if phys.contamination:
        s = rng.choice([-1, 1])
        b.blob("contamination", "", 0.02, rng.uniform(10, 40), s * rng.uniform(10, 0.06 * h),
               rng.uniform(0.5, 0.62), rng.uniform(5, 12), rng.uniform(5, 15), 3)
    if variants is not None:
        _variants(b, h, phys, variants)
    return b.out
