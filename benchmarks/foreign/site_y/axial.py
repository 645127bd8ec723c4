"""The axial skeleton: skull with facial bones, spine with posterior elements, ribs,
sternum, clavicles, scapulae and pelvis, painted as solids into the volume.

Dimensions are adult means (vertebral body widths 20-50 mm growing caudally, rib tube ~10 mm,
calvarium 6-8 mm thick) scaled to stature; uptake per region follows the normal MDP pattern
(spine and pelvis brighter than the calvarium and long-bone shafts; sacroiliac joints bright).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import MU_BONE, Body
from .geometry import Volume, capsule, elliptic_slab, ellipsoid, paint, polyline

# region ids (also used in truth JSON)
REGIONS = {1: "skull", 2: "cervical", 3: "thoracic", 4: "lumbar", 5: "sacrum", 6: "rib",
           7: "sternum", 8: "clavicle", 9: "scapula", 10: "pelvis", 11: "femur", 12: "humerus",
           13: "tibia", 14: "forearm", 15: "hand", 16: "foot", 17: "patella", 18: "facial"}
# relative uptake of each region's bone (x the patient's bone level)
UPTAKE = {1: 0.45, 2: 1.0, 3: 1.05, 4: 1.15, 5: 1.1, 6: 0.65, 7: 1.0, 8: 0.8, 9: 0.75,
          10: 1.0, 11: 0.65, 12: 0.6, 13: 0.6, 14: 0.55, 15: 0.7, 16: 0.8, 17: 0.9, 18: 0.95}
# bone mass weight per voxel (cortical-rich regions heavier), for the Bone Scan Index
DENSITY = {1: 1.4, 11: 1.3, 12: 1.3, 13: 1.3, 14: 1.3, 6: 1.1}


@dataclass
class Level:
    """One vertebra: name, region id, centre height z, half-height, body semi-axes rx, ry."""

    name: str
    region: int
    z: float
    hz: float
    rx: float
    ry: float


def bone(vol: Volume, sl, mask, region: int, level: float, boost: float = 1.0) -> None:
    """Paint bone of ``region`` with uptake ``level * UPTAKE * boost``."""
    paint(vol, sl, mask, act=level * UPTAKE[region] * boost, mu=MU_BONE, region=region,
          density=DENSITY.get(region, 1.0))


def spine_levels(body: Body) -> list[Level]:
    """C1-L5 with heights and vertebral body sizes scaled to stature."""
    H, out = body.H, []
    spans = (("C", 2, 7, 0.120, 0.070, (8, 12), (7, 9)), ("T", 3, 12, 0.190, 0.155, (13, 19), (11, 15)),
             ("L", 4, 5, 0.345, 0.100, (21, 25), (15, 17)))
    for prefix, reg, n, z0, length, rxs, rys in spans:
        step = length * H / n
        for i in range(n):
            t = i / max(n - 1, 1)
            out.append(Level(f"{prefix}{i + 1}", reg, z0 * H + (i + 0.5) * step, 0.4 * step,
                             (rxs[0] + t * (rxs[1] - rxs[0])) * H / 1700,
                             (rys[0] + t * (rys[1] - rys[0])) * H / 1700))
    return out


def _vertebra(vol: Volume, body: Body, lv: Level, level: float) -> None:
    yc = body.spine_y(lv.z)
    bone(vol, *elliptic_slab(vol, lv.z - lv.hz, lv.z + lv.hz, yc, 0.0, lv.ry, lv.rx, lv.ry, lv.rx),
         lv.region, level, 1.1)
    yb = yc + lv.ry
    arm = 10 + 0.3 * lv.ry
    ped = [np.array([lv.z, yb + arm, s * lv.rx * 0.6]) for s in (-1, 1)]
    tip = np.array([lv.z + 0.6 * lv.hz, yb + arm + 8 + lv.ry, 0.0])
    tr = 12 + lv.rx * (0.5 if lv.region != 4 else 1.0)
    for s, p in zip((-1, 1), ped):
        bone(vol, *capsule(vol, [lv.z, yb, s * lv.rx * 0.6], p, 4.0), lv.region, level)
        bone(vol, *capsule(vol, p, [lv.z, yb + arm + 4, 0.0], 3.5), lv.region, level)
        bone(vol, *capsule(vol, p, p + np.array([0, 0, s * tr]), 3.5), lv.region, level, 0.9)
    bone(vol, *capsule(vol, [lv.z, yb + arm + 4, 0.0], tip, 3.5), lv.region, level, 0.9)


def draw_spine(vol: Volume, body: Body, level: float) -> list[Level]:
    """Vertebral bodies with pedicles, laminae, spinous and transverse processes; sacrum."""
    levels = spine_levels(body)
    for lv in levels:
        _vertebra(vol, body, lv, level)
    H = body.H
    z0, z1 = 0.445 * H, 0.505 * H
    for k in range(6):
        za, zb = z0 + (z1 - z0) * k / 6, z0 + (z1 - z0) * (k + 1) / 6
        t = (k + 0.5) / 6
        y = body.spine_y(0.5 * (za + zb)) + 10 * t
        rx = (0.030 - 0.022 * t) * H
        bone(vol, *elliptic_slab(vol, za, zb, y, 0.0, 13, rx, 13, rx * 0.85), 5, level)
    for s in (-1, 1):  # sacroiliac joints, normally brighter
        a = [z0 + 0.005 * H, body.spine_y(z0) + 12, s * 0.030 * H]
        b = [z0 + 0.035 * H, body.spine_y(z0 + 0.035 * H) + 16, s * 0.022 * H]
        bone(vol, *capsule(vol, a, b, 6.0), 5, level, 1.45)
    return levels


def draw_ribs(vol: Volume, body: Body, levels: list[Level], level: float) -> dict:
    """Twelve pairs of curved tubes around the chest; returns each rib's centre line."""
    ribs = {}
    thor = [lv for lv in levels if lv.name.startswith("T")]
    for i, lv in enumerate(thor):
        rx_t, ry_t = body.trunk(lv.z + 0.02 * body.H)
        shrink = 0.55 + 0.45 * min(1.0, (i + 1) / 5.0)
        rx, ry = (rx_t - 18) * shrink, (ry_t - 12) * (0.75 + 0.25 * shrink)
        yc = body.spine_y(lv.z) + 0.35 * lv.ry - 0.35 * ry
        end = (0.86 if i < 7 else 0.74 if i < 10 else 0.50) * np.pi
        th = np.linspace(0.10 * np.pi, end, 14)
        drop = (0.040 + 0.015 * min(i, 6) / 6) * body.H * (th / np.pi) ** 0.7
        for side in (-1, 1):
            pts = np.stack([lv.z + drop, yc + ry * np.cos(th), side * rx * np.sin(th)], 1)
            start = np.array([[lv.z, body.spine_y(lv.z) + lv.ry + 8, side * (lv.rx + 12)]])
            pts = np.concatenate([start, pts])
            for sl, m in polyline(vol, pts, 4.5, 4.0):
                bone(vol, sl, m, 6, level)
            ribs[(side, i + 1)] = pts
    return ribs


def draw_sternum_clavicles(vol: Volume, body: Body, ribs: dict, level: float) -> None:
    """Manubrium and sternal body (anterior midline plate) and S-curved clavicles."""
    H = body.H
    yf = min(ribs[(1, 3)][-1][1], ribs[(1, 2)][-1][1]) - 4
    bone(vol, *elliptic_slab(vol, 0.200 * H, 0.222 * H, yf, 0.0, 6, 24, 6, 18), 7, level)
    bone(vol, *elliptic_slab(vol, 0.224 * H, 0.300 * H, yf - 3, 0.0, 6, 14, 6, 11), 7, level)
    for s in (-1, 1):
        sh_x = body.trunk(0.21 * H)[0] - 0.015 * H
        pts = [[0.200 * H, yf, s * 16], [0.195 * H, yf - 2, s * 0.045 * H],
               [0.188 * H, yf + 12, s * 0.075 * H], [0.183 * H, 0.0, s * sh_x]]
        for sl, m in polyline(vol, pts, 5.5):
            bone(vol, sl, m, 8, level)


def draw_scapulae(vol: Volume, body: Body, level: float) -> None:
    """Triangular plates on the upper back with glenoid and acromion."""
    H = body.H
    for s in (-1, 1):
        rx, ry = body.trunk(0.23 * H)
        yb = ry * 0.78
        glen = np.array([0.195 * H, 0.012 * H, s * (rx - 0.018 * H)])
        border = [np.array([z, yb, s * x]) for z, x in
                  ((0.198 * H, 0.030 * H), (0.225 * H, 0.036 * H), (0.250 * H, 0.043 * H),
                   (0.272 * H, 0.052 * H))]
        for p in border:
            bone(vol, *capsule(vol, glen + [0, 8, 0], p, 3.5), 9, level)
        for sl, m in polyline(vol, border, 4.0):
            bone(vol, sl, m, 9, level)
        bone(vol, *ellipsoid(vol, glen, (14, 9, 9)), 9, level, 1.3)
        bone(vol, *capsule(vol, glen + [-0.012 * H, 10, 0], glen + [-0.014 * H, 0, s * 12], 5), 9, level)


def draw_skull(vol: Volume, body: Body, level: float) -> None:
    """Calvarium shell, skull base, orbits, maxilla, mandible."""
    H = body.H
    c = (0.066 * H, 0.004 * H, 0.0)
    r = (0.063 * H, 0.052 * H, 0.040 * H)
    sl, m = ellipsoid(vol, c, r, shell=6.0)
    keep = np.arange(sl[0].start, sl[0].stop)[:, None, None] * vol.voxel + vol.origin[0] < 0.090 * H
    bone(vol, sl, m & keep, 1, level)
    bone(vol, *elliptic_slab(vol, 0.083 * H, 0.092 * H, 0.012 * H, 0.0, 0.030 * H, 0.030 * H,
                             0.026 * H, 0.024 * H), 1, level, 0.5)
    fy = -0.045 * H
    for s in (-1, 1):
        ring = [[0.064 * H + 16 * np.cos(a), fy + 4, s * 0.019 * H + 16 * np.sin(a)]
                for a in np.linspace(0, 2 * np.pi, 9)]
        for sl_, m_ in polyline(vol, ring, 3.0):
            bone(vol, sl_, m_, 18, level, 0.6)
        bone(vol, *capsule(vol, [0.080 * H, fy + 12, s * 0.030 * H], [0.080 * H, 0.008 * H, s * 0.038 * H], 3.5), 18, level)
    bone(vol, *ellipsoid(vol, (0.098 * H, fy + 10, 0.0), (9, 14, 0.022 * H)), 18, level, 1.2)
    jaw = [[0.080 * H, 0.006 * H, -0.036 * H], [0.113 * H, 0.000, -0.033 * H],
           [0.122 * H, -0.030 * H, -0.018 * H], [0.125 * H, fy - 4, 0.0],
           [0.122 * H, -0.030 * H, 0.018 * H], [0.113 * H, 0.000, 0.033 * H],
           [0.080 * H, 0.006 * H, 0.036 * H]]
    for sl_, m_ in polyline(vol, jaw, 5.5):
        bone(vol, sl_, m_, 18, level)
