"""Arms (three poses), legs, hands, feet and the soft-tissue envelope of the site_x body.

Poses: ``side`` (arms along the body, hands beside the thighs), ``abdomen`` (forearms
folded over the abdomen, in front of the trunk) and ``raised`` (hands behind the head).
Long bones are hollow tubes (cortex brighter, trabecular ends brighter: metaphyses and
joints, ``end_boost``).
"""

from __future__ import annotations

import numpy as np

from benchmarks.foreign.site_x.anatomy import (
    Body,
    Prim,
    add_pelvis,
    add_skull,
    add_spine,
    add_thorax,
)

POSES = {"side": 0.7, "abdomen": 0.2, "raised": 0.1}


def arm_points(body: Body, s: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Shoulder, elbow, wrist and fingertip direction (mm) of the arm on side ``s``."""
    h = body.height
    sh = np.array([s * 0.105 * h, 0.195 * h])
    jit = rng.normal(0, 0.006 * h, (3, 2))
    if body.pose == "side":
        el = sh + [s * 0.022 * h, 0.183 * h]
        wr = el + [s * 0.006 * h, 0.143 * h]
        tip = wr + [s * 0.004 * h, 0.100 * h]
    elif body.pose == "abdomen":
        el = sh + [s * 0.028 * h, 0.170 * h]
        wr = np.array([s * 0.012 * h, 0.395 * h])
        tip = wr + [-s * 0.090 * h, 0.015 * h]
    else:
        el = sh + [s * 0.060 * h, -0.105 * h]
        wr = np.array([s * 0.045 * h, 0.010 * h])
        tip = wr + [-s * 0.070 * h, 0.030 * h]
    return {"shoulder": sh, "elbow": el + jit[0], "wrist": wr + jit[1], "tip": tip + jit[2]}


def arm_depth(body: Body) -> tuple[float, float, float]:
    """(depth, body thickness cm) of the forearm and hand for the pose; upper-arm depth."""
    if body.pose == "abdomen":
        return 0.04, body.trunk_cm + 7.0, 0.5
    if body.pose == "raised":
        return 0.92, 19.0 + 7.0, 0.5
    return 0.5, 7.0 * body.habitus, 0.5


def add_arm(body: Body, s: int, rng: np.random.Generator) -> None:
    """Humerus, radius, ulna, carpals and five digital rays of one arm."""
    h = body.height
    p = arm_points(body, s, rng)
    body.marks.update({f"{k}_{s}": v for k, v in p.items()})
    fdepth, fthick, _ = arm_depth(body)
    body.add("ellipsoid", "humerus", 0.5, 12.0, c=tuple(p["shoulder"]), a=0.013 * h,
             b=0.013 * h, angle=0.0, half_depth=0.010 * h, u_core=0.55, shell=3.0, u_shell=1.1)
    body.add("tube", "humerus", 0.5, 9.0 * body.habitus, p0=p["shoulder"], p1=p["elbow"],
             r0=0.0065 * h, r1=0.0055 * h, cortex=4.0, u_cort=1.0, u_trab=0.3,
             end_boost=1.2, end_len=25.0)
    fore = p["wrist"] - p["elbow"]
    perp = np.array([-fore[1], fore[0]]) / max(np.hypot(*fore), 1e-6)
    for off in (-0.006 * h, 0.006 * h):
        body.add("tube", "forearm", fdepth, fthick, p0=p["elbow"] + perp * off,
                 p1=p["wrist"] + perp * off * 1.3, r0=0.0035 * h, r1=0.0035 * h, cortex=2.5,
                 u_cort=1.0, u_trab=0.3, end_boost=1.0, end_len=20.0)
    add_hand(body, p, fdepth, fthick)


def add_hand(body: Body, p: dict[str, np.ndarray], depth: float, thick: float) -> None:
    """Carpals (a blob) and five rays of metacarpal + phalanges, joints brighter."""
    h = body.height
    d = p["tip"] - p["wrist"]
    u = d / max(np.hypot(*d), 1e-6)
    perp = np.array([-u[1], u[0]])
    carp = p["wrist"] + u * 0.012 * h
    body.add("ellipsoid", "hand", depth, thick, c=tuple(carp), a=0.011 * h, b=0.009 * h,
             angle=float(np.degrees(np.arctan2(u[1], u[0]))), half_depth=10.0, u_core=1.3)
    for k in range(5):
        base = carp + u * 0.010 * h + perp * (k - 2) * 0.004 * h
        tip = base + (u + perp * (k - 2) * 0.06) * 0.055 * h
        body.add("tube", "hand", depth, thick, p0=base, p1=tip, r0=3.0, r1=2.0, cortex=1.0,
                 end_boost=0.8, end_len=6.0)


def add_leg(body: Body, s: int, spread: float) -> None:
    """Femur (head, neck, trochanter, shaft, condyles), patella, tibia, fibula and foot."""
    h, t = body.height, body.trunk_cm
    hip = body.marks[f"hip_{s}"]
    knee = np.array([s * (0.046 + spread) * h, 0.710 * h])
    ankle = np.array([s * (0.044 + 1.4 * spread) * h, 0.955 * h])
    troch = np.array([s * 0.080 * h, 0.500 * h])
    body.marks.update({f"knee_{s}": knee, f"ankle_{s}": ankle, f"troch_{s}": troch})
    thigh = 16.0 * body.habitus
    body.add("ellipsoid", "femur", 0.5, t, c=tuple(hip), a=0.0125 * h, b=0.0125 * h,
             angle=0.0, half_depth=0.010 * h, u_core=0.55, shell=3.0, u_shell=1.1)
    body.add("tube", "femur", 0.5, t, p0=hip, p1=troch - [s * 0.008 * h, -0.004 * h],
             r0=0.0085 * h, r1=0.009 * h, cortex=3.0)
    body.add("ellipsoid", "femur", 0.5, t, c=tuple(troch), a=14.0, b=19.0, angle=0.0,
             half_depth=16.0, u_core=1.2, shell=2.0, u_shell=1.3)
    body.add("tube", "femur", 0.5, thigh, p0=troch + [-s * 0.006 * h, 0.012 * h], p1=knee,
             r0=0.0075 * h, r1=0.0085 * h, cortex=5.0, u_cort=1.0, u_trab=0.3,
             end_boost=0.9, end_len=40.0)
    body.add("ellipsoid", "femur", 0.45, 12.0, c=tuple(knee), a=0.022 * h, b=0.012 * h,
             angle=0.0, half_depth=0.014 * h, u_core=0.45, shell=3.0, u_shell=1.0)
    body.add("ellipsoid", "patella", 0.05, 12.0, c=tuple(knee - [0, 0.006 * h]),
             a=0.010 * h, b=0.012 * h, angle=0.0, half_depth=8.0, u_core=1.0)
    add_lower_leg(body, s, knee, ankle)


def add_lower_leg(body: Body, s: int, knee: np.ndarray, ankle: np.ndarray) -> None:
    """Tibia, fibula and foot (seen end-on: a tarsal blob and short metatarsal rays)."""
    h = body.height
    plateau = knee + [0, 0.013 * h]
    body.add("ellipsoid", "tibia", 0.4, 11.0, c=tuple(plateau), a=0.019 * h, b=0.008 * h,
             angle=0.0, half_depth=0.012 * h, u_core=0.5)
    body.add("tube", "tibia", 0.35, 11.0, p0=plateau, p1=ankle, r0=0.0068 * h,
             r1=0.0055 * h, cortex=4.0, u_cort=1.0, u_trab=0.3, end_boost=0.9, end_len=30.0)
    body.add("tube", "tibia", 0.6, 11.0, p0=plateau + [s * 0.016 * h, 0.006 * h],
             p1=ankle + [s * 0.017 * h, 0.002 * h], r0=0.0033 * h, r1=0.003 * h, cortex=2.0,
             end_boost=0.6, end_len=15.0)
    foot = ankle + [s * 0.004 * h, 0.014 * h]
    body.marks[f"foot_{s}"] = foot
    body.add("ellipsoid", "foot", 0.5, 8.0, c=tuple(foot), a=0.016 * h, b=0.011 * h,
             angle=0.0, half_depth=18.0, u_core=1.3)
    for k in range(5):
        base = foot + [s * (k - 2) * 0.005 * h, 0.008 * h]
        tip = base + [s * (k - 2) * 0.003 * h, 0.022 * h]
        body.add("tube", "foot", 0.3, 8.0, p0=base, p1=tip, r0=3.0, r1=2.5, cortex=1.0,
                 end_boost=0.5, end_len=5.0)


TRUNK = [(0.185, 0.125), (0.215, 0.122), (0.300, 0.100), (0.380, 0.092), (0.440, 0.102),
         (0.500, 0.105), (0.530, 0.096)]
"""(z, half-width) of the trunk outline as fractions of height (habitus 1)."""


def add_soft(body: Body) -> None:
    """Soft-tissue solids: head, neck, trunk rows, arms, legs (depth unused: both views)."""
    h, w = body.height, body.habitus

    def solid(kind, **args):
        body.soft.append(Prim(kind, "soft", 0.5, 0.0, args))

    solid("ellipsoid", c=(0.0, 0.068 * h), a=0.052 * h, b=0.068 * h, angle=0.0,
          half_depth=0.058 * h, u_core=0.7)
    solid("tube", p0=(0.0, 0.12 * h), p1=(0.0, 0.19 * h), r0=0.033 * h * w ** 0.5,
          r1=0.04 * h * w ** 0.5, cortex=0.0, u_trab=1.0)
    solid("trunk", rows=np.array(TRUNK) * [h, h * w], half_depth=body.trunk_cm * 5.0)
    for s in (-1, 1):
        p = {k: body.marks[f"{k}_{s}"] for k in ("shoulder", "elbow", "wrist", "tip")}
        solid("tube", p0=p["shoulder"], p1=p["elbow"], r0=0.026 * h * w, r1=0.021 * h * w,
              cortex=0.0, u_trab=1.0)
        solid("tube", p0=p["elbow"], p1=p["wrist"], r0=0.020 * h * w, r1=0.014 * h * w,
              cortex=0.0, u_trab=1.0)
        solid("tube", p0=p["wrist"], p1=p["tip"], r0=0.012 * h, r1=0.009 * h, cortex=0.0,
              u_trab=1.0)
        hip, knee, ankle = (body.marks[f"{k}_{s}"] for k in ("hip", "knee", "ankle"))
        solid("tube", p0=hip + [s * 0.01 * h, 0.02 * h], p1=knee, r0=0.046 * h * w,
              r1=0.030 * h * w ** 0.5, cortex=0.0, u_trab=1.0)
        solid("tube", p0=knee, p1=ankle, r0=0.030 * h * w ** 0.5, r1=0.017 * h, cortex=0.0,
              u_trab=1.0)
        solid("ellipsoid", c=tuple(body.marks[f"foot_{s}"] + [0, 0.012 * h]), a=0.022 * h,
              b=0.022 * h, angle=0.0, half_depth=0.02 * h, u_core=1.0)


def build_body(rng: np.random.Generator, height: float, habitus: float, sex: str,
               pose: str) -> Body:
    """The whole atlas body for one patient."""
    body = Body(height=height, habitus=habitus, sex=sex, pose=pose)
    add_spine(body, rng)
    add_thorax(body)
    add_pelvis(body)
    add_skull(body)
    spread = rng.uniform(-0.004, 0.012)
    for s in (-1, 1):
        add_arm(body, s, rng)
        add_leg(body, s, spread)
    add_soft(body)
    return body
