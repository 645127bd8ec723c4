"""Soft-tissue physiology: kidneys, bladder, injection site, urine contamination.

Organs are :class:`~osteoscan.simulate.anatomy.Structure` objects with an empty region, so
they add counts but never enter the bone mask, the region maps or the Bone Scan Index.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
        soft_tissue: multiplier of the soft-tissue uptake (renal function, hydration, timing).
        injection_radius: radius of the injection site in mm (large: extravasation).
        breast_depth: semi-axis in mm of the breasts in front of the chest (0: none); they
            attenuate the anterior view over the lower chest.
    """

    kidney_uptake: float
    bladder_fill: float
    bladder_uptake: float
    injection_arm: str
    injection_uptake: float
    contamination: bool
    soft_tissue: float = 1.0
    injection_radius: float = 7.0
    breast_depth: float = 0.0


def sample_physiology(rng: np.random.Generator, superscan: bool, female: float = 0.0
                      ) -> Physiology:
    """Draw kidney, bladder, injection-site, soft-tissue and breast parameters.

    Args:
        rng: the study's random stream.
        superscan: faint kidneys and bladder.
        female: probability that the patient is a woman (breasts attenuate the chest).
    """
    kid = rng.uniform(0.1, 1.1) * (0.12 if superscan else 1.0)
    fill = 0.0 if rng.random() < 0.08 else float(rng.uniform(12, 52))  # voided / catheter
    extrav = rng.random() < 0.25
    woman = rng.random() < female
    return Physiology(
        kidney_uptake=float(kid),
        bladder_fill=fill,
        bladder_uptake=float(rng.uniform(0.6, 2.6) * (0.35 if superscan else 1.0)),
        injection_arm="right" if rng.random() < 0.6 else "left",
        injection_uptake=float(rng.choice([0.0, rng.uniform(8, 80)], p=[0.35, 0.65])),
        contamination=bool(rng.random() < 0.08),
        soft_tissue=float(np.clip(rng.lognormal(0.0, 0.22), 0.6, 1.7)),
        injection_radius=float(rng.uniform(12, 25) if extrav else rng.uniform(5, 9)),
        breast_depth=float(rng.uniform(12, 38)) if woman else 0.0,
    )


UPTAKE_BALANCE = {"axial": 0.22, "spine": 0.06, "pelvis": 0.08, "thorax": 0.08, "skull": 0.18,
                  "limbs": 0.12}
"""Log-scale standard deviations of :func:`sample_uptake_balance`'s factors."""
AXIAL_MEAN = 0.1
"""Log-scale mean of the axial factor: on balance the spine sits a little brighter."""
FACTOR_RANGE = (0.85, 2.2)
"""Clip of every factor. Below 0.85 a dim spine under a bright sternum fell short of the
posterior/anterior ratio of the thoracic spine on real files (1.2-1.7, REALISM.md)."""

_BALANCE_GROUPS = {
    "spine": ("cervical_spine", "thoracic_spine", "lumbar_spine"),
    "pelvis": ("sacrum", "pelvis"),
    "thorax": ("ribs", "sternum", "clavicles", "scapulae"),
    "skull": ("skull",),
    "limbs": ("humeri", "femurs", "distal_limbs"),
}


def sample_uptake_balance(rng: np.random.Generator) -> dict[str, float]:
    """One patient's balance of normal uptake between the skeleton's parts: a multiplier of
    each region's bone uptake (lesions on a bone scale with it, so their contrast against
    their host is kept).

    Patients differ in it: age and degenerative change raise the axial skeleton's uptake
    against the ribs and limbs, and calvarial uptake varies widely. A detector that reads a
    candidate against the whole skeleton mistakes a bright spine for disease (the
    independent phantom ``site_x``, docs/independent-sites.md: its normal lumbar spine sits
    1.7 times higher against the same height's bone than osteoscan's did). The spine and
    the pelvis share one axial factor (log-normal, mean :data:`AXIAL_MEAN`, sd
    :data:`UPTAKE_BALANCE` ``axial``: the spine's factor is 0.85 (the clip) to 1.7 for 95 %
    of patients), each with a small own part; the thorax follows it by a third and varies on
    its own, the skull and limbs vary on their own. Every factor is clipped to
    :data:`FACTOR_RANGE`."""
    sd = UPTAKE_BALANCE
    axial = rng.normal(AXIAL_MEAN, sd["axial"])
    logs = {"spine": axial + rng.normal(0.0, sd["spine"]),
            "pelvis": 0.6 * axial + rng.normal(0.0, sd["pelvis"]),
            "thorax": 0.3 * axial + rng.normal(0.0, sd["thorax"]),
            "skull": rng.normal(0.0, sd["skull"]), "limbs": rng.normal(0.0, sd["limbs"])}
    return {region: float(np.clip(np.exp(logs[group]), *FACTOR_RANGE))
            for group, regions in _BALANCE_GROUPS.items() for region in regions}


def balanced(bones: list[Structure], factors: dict[str, float]) -> list[Structure]:
    """The bones with each region's uptake times its factor (:func:`sample_uptake_balance`)."""
    return [replace(st, uptake=st.uptake * factors.get(st.region, 1.0)) for st in bones]


def breast_transmission(grid: Grid, body: Body, phys: Physiology) -> np.ndarray | None:
    """Transmission of the anterior view through the breasts (None when there are none).

    Each breast is an ellipsoid in front of the lower chest; photons from behind it are
    attenuated by ``exp(-mu t)`` with t its projected thickness (the "breast shadow").
    """
    if phys.breast_depth <= 0:
        return None
    from osteoscan.simulate.physics import MU_PER_MM

    b = AnatomyBuilder(grid, body)
    for s in (-1, 1):
        b.blob("breast", "", 0.0, 0.0, s * 0.052 * body.height * body.build, 0.265,
               62 * body.build, 55, phys.breast_depth, angle=s * 15)
    trans = np.ones((grid.rows, grid.cols), dtype=np.float32)
    for st in b.out:
        rs, cs, th = st.patch
        trans[rs, cs] *= np.exp(-MU_PER_MM * th).astype(np.float32)
    return trans


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
        r = phys.injection_radius
        uptake = phys.injection_uptake * (7.0 / r) ** 2  # extravasation: spread, not more
        b.blob("injection", "", 0.4, uptake, x, y, r, 1.3 * r, 7)
    if phys.contamination:
        s = rng.choice([-1, 1])
        b.blob("contamination", "", 0.02, rng.uniform(10, 40), s * rng.uniform(10, 0.06 * h),
               rng.uniform(0.5, 0.62), rng.uniform(5, 12), rng.uniform(5, 15), 3)
    if variants is not None:
        _variants(b, h, phys, variants)
    return b.out
