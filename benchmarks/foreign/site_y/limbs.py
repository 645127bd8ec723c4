"""Pelvis and appendicular skeleton: long bones as tubes with denser (brighter) ends,
patellae, hands and feet. The bone ends take up more MDP than the shafts (trabecular bone
and the metaphyses), which is the normal long-bone pattern of a bone scan.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Body, arm_points, leg_points
from .axial import bone
from .geometry import Volume, capsule, ellipsoid, polyline


def draw_pelvis(vol: Volume, body: Body, level: float) -> dict:
    """Iliac wings as curved plates, acetabula, pubic and ischial rami; returns landmarks."""
    H = body.H
    z_crest, z_acet = 0.405 * H, 0.468 * H
    sp = body.spine_y(0.45 * H)
    marks = {}
    for s in (-1, 1):
        acet = np.array([z_acet, 0.0, s * 0.050 * H * (0.9 + 0.1 * body.w)])
        for t in np.linspace(0.0, 1.0, 9):
            z = z_crest + t * (z_acet - 0.012 * H - z_crest)
            xo = (0.082 - 0.030 * t) * H * (0.92 + 0.08 * body.w)
            post = np.array([z, sp + 10 - 0.25 * t * sp, s * (0.030 - 0.004 * t) * H])
            lat = np.array([z, (sp - 30) * (1 - t), s * xo])
            ant = np.array([z, -0.030 * H * (1 - 0.7 * t), s * (xo - 0.012 * H)])
            for sl, m in polyline(vol, [post, lat, ant], 5.0):
                bone(vol, sl, m, 10, level, 1.1 if t == 0 else 1.0)
        bone(vol, *ellipsoid(vol, acet, (20, 20, 18)), 10, level, 1.15)
        sym = np.array([0.498 * H, -0.032 * H, s * 10.0])
        isch = np.array([0.520 * H, 0.006 * H, s * 0.035 * H])
        for a, b in ((acet, sym), (sym + [8, 2, 0], isch), (isch, acet + [5, 10, 0])):
            bone(vol, *capsule(vol, a, b, 6.5), 10, level)
        marks[s] = {"acetabulum": acet, "symphysis": sym, "ischium": isch}
    return marks


def _long_bone(vol, a, b, r_shaft, r_end_a, r_end_b, region, level, end_boost=1.6):
    bone(vol, *capsule(vol, a, b, r_shaft), region, level)
    for p, r in ((a, r_end_a), (b, r_end_b)):
        if r > 0:
            bone(vol, *ellipsoid(vol, p, (r, r * 0.8, r)), region, level, end_boost)


def draw_legs(vol: Volume, body: Body, pelvis: dict, level: float) -> dict:
    """Femora (head, neck, trochanter, shaft, condyles), patellae, tibiae, fibulae, feet."""
    H, out = body.H, {}
    for s in (-1, 1):
        hip, knee, ank, toe = leg_points(body, s)
        head = pelvis[s]["acetabulum"] + np.array([2.0, 0, s * 4.0])
        troch = np.array([0.480 * H, 0.004 * H, s * (abs(head[2]) + 0.028 * H)])
        bone(vol, *ellipsoid(vol, head, (0.013 * H,) * 3), 11, level, 1.5)
        bone(vol, *capsule(vol, head, troch, 12.0), 11, level, 1.3)
        bone(vol, *ellipsoid(vol, troch, (18, 14, 14)), 11, level, 1.4)
        cond = knee + np.array([-0.012 * H, 0, 0])
        _long_bone(vol, troch + [10, 0, -s * 10], cond, 12.5, 0, 0.016 * H, 11, level, 1.15)
        plat = knee + np.array([0.010 * H, 0, 0])
        _long_bone(vol, plat, ank - [0.008 * H, 0, 0], 11.0, 0.014 * H, 0.010 * H, 13, level, 1.15)
        bone(vol, *capsule(vol, plat + [8, 6, s * 0.016 * H], ank + [-10, 6, s * 0.016 * H], 5.5), 13, level)
        r_leg = 0.030 * H * body.w
        bone(vol, *ellipsoid(vol, knee + [-0.004 * H, -r_leg + 14, 0], (15, 8, 14)), 17, level)
        bone(vol, *ellipsoid(vol, ank + [0.010 * H, 0.0, 0], (16, 20, 14)), 16, level, 0.8)
        for k in (-1, 0, 1):
            bone(vol, *capsule(vol, ank + [0.012 * H, -0.01 * H, k * 10],
                               toe + [0, 0, k * 0.010 * H], 5.0), 16, level)
        out[s] = {"femoral_head": head, "trochanter": troch, "knee": knee, "ankle": ank}
    return out


def draw_arms(vol: Volume, body: Body, level: float) -> dict:
    """Humeri (head, shaft, epicondyles), radius and ulna, carpals and metacarpals."""
    H, out = body.H, {}
    for s in (-1, 1):
        sh, el, wr, tip = arm_points(body, s)
        _long_bone(vol, sh, el, 9.5, 0.012 * H, 0.009 * H, 12, level, 1.25)
        d = (wr - el) / np.linalg.norm(wr - el)
        perp = np.array([0.0, 0.0, 1.0]) - d * d[2]
        perp /= np.linalg.norm(perp) + 1e-9
        for k in (-1, 1):
            bone(vol, *capsule(vol, el + d * 15 + perp * 6 * k, wr + perp * 8 * k, 5.0), 14, level)
        hd = (tip - wr) / np.linalg.norm(tip - wr)
        carp = wr + hd * 18
        bone(vol, *ellipsoid(vol, carp, (12, 8, 14)), 15, level, 1.2)
        for k in (-2, -1, 0, 1):
            bone(vol, *capsule(vol, carp + perp * 6 * k, tip + perp * 9 * k - hd * 15, 3.2), 15, level)
        out[s] = {"shoulder": sh, "elbow": el, "wrist": wr, "hand": carp}
    return out
