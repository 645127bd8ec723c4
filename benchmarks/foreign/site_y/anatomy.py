"""The patient: body habitus, soft-tissue outline and the organs that take up 99mTc-MDP.

Landmark heights are fractions of stature from the vertex, after the segment proportions of
Drillis & Contini (1966) as tabulated in Winter, *Biomechanics and Motor Control of Human
Movement* (chin 0.130 H, acromion 0.182 H, elbow 0.370 H, greater trochanter 0.470 H,
wrist 0.515 H, knee 0.715 H, ankle 0.961 H). Trunk breadths and depths are adult
anthropometric means (chest breadth ~0.17 H, hip breadth ~0.19 H) scaled by a habitus factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Volume, capsule, elliptic_slab, ellipsoid, paint

MU_TISSUE = 0.0150   # 1/mm: water-equivalent soft tissue at 140 keV (0.150 /cm, NIST XCOM)
MU_LUNG = 0.0040     # inflated lung, density ~0.26
MU_BONE = 0.0250     # mixed cortical/trabecular bone, density ~1.5-1.9 (0.25-0.29 /cm)

# Trunk keyframes: (z / H, rx / H, ry / H); rx, ry semi-axes of the elliptic cross-section.
_TRUNK = [(0.165, 0.060, 0.045), (0.185, 0.095, 0.058), (0.215, 0.097, 0.064),
          (0.280, 0.090, 0.066), (0.360, 0.080, 0.060), (0.440, 0.092, 0.062),
          (0.500, 0.095, 0.060), (0.520, 0.080, 0.052)]


@dataclass
class Body:
    """One patient's body: stature (mm), habitus, sex and pose."""

    H: float
    w: float          # lateral habitus factor (1 = average)
    wd: float         # antero-posterior habitus factor
    belly: float      # extra abdominal depth factor
    female: bool
    arms: str         # "side" or "belly" (hands resting on the abdomen)
    arm_abduct: float  # radians from vertical

    def trunk(self, z: float) -> tuple[float, float]:
        """Soft-tissue trunk semi-axes (rx, ry) in mm at height z (mm from vertex)."""
        f = z / self.H
        zs = [k[0] for k in _TRUNK]
        rx = np.interp(f, zs, [k[1] for k in _TRUNK]) * self.H * self.w
        ry = np.interp(f, zs, [k[2] for k in _TRUNK]) * self.H * self.wd
        bump = np.exp(-((f - 0.38) / 0.06) ** 2) * (self.belly - 1.0)
        return float(rx * (1 + 0.6 * bump)), float(ry * (1 + bump))

    def spine_y(self, z: float) -> float:
        """Antero-posterior position (mm) of the vertebral body centre at height z."""
        f = z / self.H
        frac = np.interp(f, [0.12, 0.19, 0.26, 0.34, 0.40, 0.445, 0.50],
                         [0.05, 0.28, 0.40, 0.35, 0.20, 0.30, 0.62])
        return float(frac * self.trunk(max(z, 0.19 * self.H))[1])


def draw_body(rng: np.random.Generator) -> Body:
    """A random adult: 50 % women, statures N(1630, 65) / N(1760, 70) mm."""
    female = bool(rng.random() < 0.5)
    H = float(np.clip(rng.normal(1630 if female else 1760, 65 if female else 70), 1480, 1960))
    w = float(np.clip(rng.lognormal(0.0, 0.10), 0.82, 1.25))
    wd = float(np.clip(w * rng.lognormal(0.0, 0.06), 0.80, 1.30))
    belly = float(np.clip(1 + (w - 0.95) * 1.5 + rng.normal(0, 0.05), 0.9, 1.6))
    arms = "belly" if rng.random() < 0.25 else "side"
    return Body(H, w, wd, belly, female, arms, float(rng.uniform(0.04, 0.16)))


def make_volume(body: Body, voxel: float) -> Volume:
    """An empty grid large enough for this body with arms and feet."""
    H = body.H
    half_x = 0.125 * H * body.w + 0.05 * H
    y0, y1 = -(0.075 * H * body.wd * body.belly + 110), 0.075 * H * body.wd + 30
    shape = (int((H + 40) / voxel), int((y1 - y0) / voxel) + 1, int(2 * half_x / voxel) + 1)
    return Volume(voxel, (-20.0, y0, -half_x), shape)


def _trunk_slabs(vol: Volume, body: Body, tissue: float) -> None:
    zs = np.linspace(0.165, 0.52, 30) * body.H
    for z0, z1 in zip(zs[:-1], zs[1:]):
        rx0, ry0 = body.trunk(z0)
        rx1, ry1 = body.trunk(z1)
        cy = -0.5 * (ry0 + ry1 - self_ry(body, z0, z1))
        sl, m = elliptic_slab(vol, z0, z1, cy, 0.0, ry0, rx0, ry1, rx1)
        paint(vol, sl, m, act=tissue, mu=MU_TISSUE)


def self_ry(body: Body, z0: float, z1: float) -> float:
    """Twice the trunk depth without the belly: the abdomen grows forward, not backward."""
    flat = Body(body.H, body.w, body.wd, 1.0, body.female, body.arms, body.arm_abduct)
    return flat.trunk(z0)[1] + flat.trunk(z1)[1]


def arm_points(body: Body, side: int) -> list[np.ndarray]:
    """Shoulder, elbow, wrist and fingertip centres (z, y, x mm) of one arm (side -1 = right)."""
    H = body.H
    sh = np.array([0.19 * H, 0.0, side * (body.trunk(0.21 * H)[0] - 0.012 * H)])
    ua = 0.186 * H
    el_x = max(body.trunk(0.37 * H)[0] + 0.028 * H * body.w,
               abs(sh[2]) + ua * np.sin(body.arm_abduct) * 0.5)
    el = np.array([0.37 * H, 0.01 * H, side * el_x])
    if body.arms == "belly":
        ry = body.trunk(0.43 * H)[1]
        wr = np.array([0.44 * H, -(ry + 0.02 * H), side * 0.05 * H])
        tip = wr + np.array([0.03 * H, -0.01 * H, -side * 0.07 * H])
    else:
        wr = np.array([0.515 * H, 0.0, side * (el_x + 0.146 * H * np.sin(body.arm_abduct))])
        tip = wr + np.array([0.105 * H, -0.01 * H, side * 0.01 * H])
    return [sh, el, wr, tip]


def leg_points(body: Body, side: int) -> list[np.ndarray]:
    """Hip, knee, ankle centres and toe tip (z, y, x mm) of one leg."""
    H = body.H
    hx = side * 0.050 * H * (0.9 + 0.1 * body.w)
    return [np.array([0.47 * H, 0.0, hx]), np.array([0.715 * H, 0.0, side * 0.042 * H]),
            np.array([0.961 * H, 0.005 * H, side * 0.040 * H]),
            np.array([0.985 * H, -0.07 * H, side * 0.046 * H])]


def _limbs(vol: Volume, body: Body, tissue: float) -> None:
    H, w = body.H, body.w
    for side in (-1, 1):
        sh, el, wr, tip = arm_points(body, side)
        for a, b, r0, r1 in ((sh, el, 0.027, 0.021), (el, wr, 0.021, 0.014), (wr, tip, 0.016, 0.010)):
            paint(vol, *capsule(vol, a, b, r0 * H * w, r1 * H * w), act=tissue, mu=MU_TISSUE)
        hip, knee, ank, toe = leg_points(body, side)
        hip = hip + np.array([-0.02 * H, 0, 0])
        for a, b, r0, r1 in ((hip, knee, 0.050, 0.030), (knee, ank, 0.032, 0.018), (ank, toe, 0.020, 0.016)):
            paint(vol, *capsule(vol, a, b, r0 * H * w, r1 * H * w), act=tissue, mu=MU_TISSUE)


def draw_soft_tissue(vol: Volume, body: Body, tissue: float) -> None:
    """Head, neck, trunk and limbs as water-equivalent tissue of activity ``tissue``."""
    H = body.H
    paint(vol, *ellipsoid(vol, (0.068 * H, 0.0, 0.0), (0.068 * H, 0.057 * H, 0.044 * H)),
          act=tissue, mu=MU_TISSUE)
    paint(vol, *elliptic_slab(vol, 0.115 * H, 0.19 * H, 0.008 * H, 0.0, 0.030 * H, 0.031 * H,
                              0.036 * H, 0.040 * H), act=tissue, mu=MU_TISSUE)
    _trunk_slabs(vol, body, tissue)
    _limbs(vol, body, tissue)
    if body.female:
        ry = body.trunk(0.28 * H)[1]
        for side in (-1, 1):
            paint(vol, *ellipsoid(vol, (0.285 * H, -ry + 0.01 * H, side * 0.052 * H),
                                  (0.036 * H, 0.032 * H * body.wd, 0.036 * H)),
                  act=tissue, mu=MU_TISSUE)
