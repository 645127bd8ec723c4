"""The site_x anatomical atlas: each bone an outline in millimetres on a body frame.

The frame is scaled by the patient's height H (segment proportions of Drillis & Contini,
as tabulated by Winter, *Biomechanics and Motor Control of Human Movement*: chin 0.870 H,
shoulder 0.818 H, elbow 0.630 H, wrist 0.485 H, hip 0.530 H, knee 0.285 H, ankle 0.039 H
above the floor; shoulder width 0.259 H, hip width 0.191 H) and by a habitus factor that
widens and thickens the soft tissue. Bones are :class:`Prim` records (tube, ellipsoid or
plate) with a skeletal region, a depth in the body (0 anterior .. 1 posterior) and the body
thickness there; :mod:`.render` projects them.

x is towards the patient's LEFT, z down from the vertex, both in mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

U_CORT, U_TRAB = 1.0, 1.5
"""Uptake per unit path of cortical and trabecular bone (trabecular bone remodels faster)."""


@dataclass(frozen=True)
class Prim:
    """One bone solid: ``kind`` in tube/ellipsoid/plate, its region and depth, and args (mm)."""

    kind: str
    region: str
    depth: float
    thick_cm: float
    args: dict


@dataclass
class Body:
    """A patient: size, habitus, arm pose, bones, soft-tissue solids and landmarks (mm)."""

    height: float
    habitus: float
    sex: str
    pose: str
    bones: list[Prim] = field(default_factory=list)
    soft: list[Prim] = field(default_factory=list)
    marks: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, kind: str, region: str, depth: float, thick: float, **args) -> None:
        """Append a bone solid."""
        self.bones.append(Prim(kind, region, depth, thick, args))

    @property
    def trunk_cm(self) -> float:
        """Antero-posterior thickness of the trunk (cm)."""
        return 20.0 * self.habitus


def bezier(p0, c, p1, n=6) -> np.ndarray:
    """Points of a quadratic Bezier curve (n + 1 points)."""
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    p0, c, p1 = (np.asarray(v, float) for v in (p0, c, p1))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t * t * p1


def tube_chain(body: Body, pts, region, depths, thick, r, cortex, **kw) -> None:
    """Consecutive tubes along a polyline; depths may vary per segment."""
    depths = np.broadcast_to(np.asarray(depths, float), (len(pts) - 1,))
    for p0, p1, d in zip(pts[:-1], pts[1:], depths, strict=True):
        body.add("tube", region, float(d), thick, p0=p0, p1=p1, r0=r, r1=r, cortex=cortex, **kw)


VERTEBRAE = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [
    f"L{i}" for i in range(1, 6)]


def vertebra_table(h: float, scoliosis: float, phase: float) -> dict[str, tuple]:
    """Name -> (x, z, half-width, half-height) of each vertebral body (mm)."""
    z = np.concatenate([np.linspace(0.112, 0.170, 7), np.linspace(0.184, 0.332, 12),
                        np.linspace(0.350, 0.428, 5)]) * h
    hw = np.concatenate([np.linspace(0.0075, 0.0090, 7), np.linspace(0.0088, 0.0125, 12),
                         np.linspace(0.0140, 0.0160, 5)]) * h
    gap = np.concatenate([np.full(7, 0.058 / 6), np.full(12, 0.148 / 11), np.full(5, 0.0195)])
    hh = 0.45 * gap * h
    x = scoliosis * np.sin(np.linspace(0, np.pi, 24) + phase)
    return {n: (x[i], z[i], hw[i], hh[i]) for i, n in enumerate(VERTEBRAE)}


def add_spine(body: Body, rng: np.random.Generator) -> None:
    """Vertebral bodies with cortical shells, pedicles, lumbar transverse processes."""
    h, t = body.height, body.trunk_cm
    table = vertebra_table(h, rng.uniform(0, 8), rng.uniform(-1, 1))
    for name, (x, z, hw, hh) in table.items():
        region, depth, thick = {"C": ("cervical_spine", 0.65, 12.0),
                                "T": ("thoracic_spine", 0.82, t),
                                "L": ("lumbar_spine", 0.68, t)}[name[0]]
        body.add("ellipsoid", region, depth, thick, c=(x, z), a=hw, b=hh, angle=0.0,
                 half_depth=0.9 * hw, u_core=U_TRAB, shell=2.0, u_shell=1.6 * U_CORT)
        for s in (-1, 1):
            body.add("ellipsoid", region, min(depth + 0.1, 0.95), thick,
                     c=(x + s * 0.75 * hw, z), a=0.22 * hw, b=0.6 * hh, angle=0.0,
                     half_depth=0.25 * hw, u_core=U_TRAB)
            if name[0] == "L":
                body.add("tube", region, min(depth + 0.1, 0.95), thick,
                         p0=(x + s * hw, z), p1=(x + s * (hw + 0.012 * h), z), r0=3.0, r1=2.0,
                         cortex=1.0)
    body.marks.update({f"v_{k}": np.array(v) for k, v in table.items()})


RIB_REACH = [0.45, 0.62, 0.75, 0.84, 0.90, 0.95, 0.98, 1.0, 1.0, 0.96, 0.82, 0.66]
RIB_DROP = [0.012, 0.030, 0.045, 0.055, 0.063, 0.069, 0.073, 0.074, 0.070, 0.064]
RIB_ANT_X = [0.020, 0.026, 0.032, 0.038, 0.043, 0.048, 0.053, 0.060, 0.066, 0.072]


def rib_points(body: Body, n: int, side: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Posterior and anterior arcs (mm) of rib ``n`` (1..12) on ``side`` (+1 = left)."""
    h = body.height
    x, z, hw, _ = body.marks[f"v_T{n}"]
    reach = 0.085 * h * RIB_REACH[n - 1] * (0.5 + 0.5 * body.habitus ** 0.3)
    lateral = (x + side * reach, z + 0.015 * h)
    post = bezier((x + side * (hw + 4), z), (x + side * 0.75 * reach, z - 0.004 * h), lateral)
    if n > 10:
        return post, None
    end = (x + side * RIB_ANT_X[n - 1] * h, z + RIB_DROP[n - 1] * h)
    ant = bezier(lateral, (x + side * 0.92 * reach, end[1] - 0.004 * h), end)
    return post, ant


def add_thorax(body: Body) -> None:
    """Twelve pairs of curved ribs, sternum, clavicles, scapulae."""
    h, t = body.height, body.trunk_cm
    r = 0.0027 * h
    for side in (-1, 1):
        for n in range(1, 13):
            post, ant = rib_points(body, n, side)
            body.marks[f"rib{n}_{side}_post"] = post
            tube_chain(body, post, "ribs", np.linspace(0.9, 0.55, len(post) - 1), t, r, 1.2)
            if ant is not None:
                body.marks[f"rib{n}_{side}_ant"] = ant
                tube_chain(body, ant, "ribs", np.linspace(0.45, 0.1, len(ant) - 1), t, r, 1.2)
        clav = bezier((side * 0.012 * h, 0.186 * h), (side * 0.06 * h, 0.172 * h),
                      (side * 0.106 * h, 0.183 * h), 4)
        tube_chain(body, clav, "clavicle", 0.15, 14.0, 0.004 * h, 1.5)
        add_scapula(body, side)
    sternum = [(-0.028, 0.186), (0.028, 0.186), (0.017, 0.214), (0.016, 0.300),
               (0.004, 0.318), (-0.004, 0.318), (-0.016, 0.300), (-0.017, 0.214)]
    body.add("plate", "sternum", 0.05, t, pts=np.array(sternum) * h, thickness=7.0,
             uptake=1.2, rim=2.0, rim_boost=0.5)
    body.marks["sternum"] = np.array([0.0, 0.25 * h])


def add_scapula(body: Body, s: int) -> None:
    """A scapula (posterior plate with a bright rim), glenoid and acromion."""
    h = body.height
    pts = np.array([(0.048, 0.190), (0.100, 0.186), (0.097, 0.207), (0.085, 0.240),
                    (0.068, 0.290), (0.058, 0.282), (0.046, 0.215)]) * [s * h, h]
    body.add("plate", "scapula", 0.85, 18.0, pts=pts, thickness=5.0, uptake=1.0, rim=3.0,
             rim_boost=1.2)
    body.add("ellipsoid", "scapula", 0.6, 18.0, c=(s * 0.098 * h, 0.2 * h), a=0.005 * h,
             b=0.011 * h, angle=0.0, half_depth=12.0, u_core=1.4)
    body.add("tube", "scapula", 0.5, 14.0, p0=(s * 0.085 * h, 0.181 * h),
             p1=(s * 0.112 * h, 0.186 * h), r0=6.0, r1=7.0, cortex=1.5)


def add_pelvis(body: Body) -> None:
    """Ilia (plates), sacrum, acetabula, pubic rami and ischia."""
    h, t = body.height, body.trunk_cm
    sac = np.array([(-0.028, 0.428), (0.028, 0.428), (0.018, 0.470), (0.006, 0.494),
                    (-0.006, 0.494), (-0.018, 0.470)]) * h
    body.add("plate", "sacrum", 0.78, t, pts=sac, thickness=28.0, uptake=1.2, rim=3.0,
             rim_boost=0.9)
    for s in (-1, 1):
        ilium = np.array([(0.026, 0.424), (0.048, 0.404), (0.074, 0.405), (0.085, 0.424),
                          (0.076, 0.455), (0.063, 0.478), (0.046, 0.476), (0.030, 0.458)])
        body.add("plate", "pelvis", 0.6, t, pts=ilium * [s * h, h], thickness=9.0,
                 uptake=1.1, rim=4.0, rim_boost=0.8)
        hip = np.array([s * 0.052 * h, 0.487 * h])
        body.marks[f"hip_{s}"] = hip
        body.add("ellipsoid", "pelvis", 0.5, t, c=tuple(hip), a=0.016 * h, b=0.016 * h,
                 angle=0.0, half_depth=0.016 * h, u_core=0.3, shell=5.0, u_shell=1.5)
        for p0, p1, r in (((0.046, 0.495), (0.008, 0.503), 7.0),
                          ((0.010, 0.516), (0.046, 0.536), 6.0),
                          ((0.056, 0.497), (0.050, 0.536), 10.0)):
            body.add("tube", "pelvis", 0.35, t, p0=(s * p0[0] * h, p0[1] * h),
                     p1=(s * p1[0] * h, p1[1] * h), r0=r, r1=r, cortex=2.0)
        body.add("ellipsoid", "pelvis", 0.25, t, c=(s * 0.009 * h, 0.507 * h), a=8.0, b=14.0,
                 angle=0.0, half_depth=12.0, u_core=U_TRAB)
    body.marks["symphysis"] = np.array([0.0, 0.507 * h])
    body.marks["sacrum"] = np.array([0.0, 0.455 * h])


def add_skull(body: Body) -> None:
    """Calvarium (ellipsoidal shell), maxilla and mandible."""
    h = body.height
    body.add("ellipsoid", "skull", 0.5, 19.0, c=(0.0, 0.062 * h), a=0.044 * h, b=0.058 * h,
             angle=0.0, half_depth=0.053 * h, u_core=0.0, shell=7.0, u_shell=1.1)
    body.add("ellipsoid", "skull", 0.25, 19.0, c=(0.0, 0.100 * h), a=0.026 * h, b=0.012 * h,
             angle=0.0, half_depth=0.02 * h, u_core=0.5, shell=4.0, u_shell=1.2)
    for s in (-1, 1):
        jaw = [(s * 0.037 * h, 0.088 * h), (s * 0.033 * h, 0.113 * h),
               (s * 0.015 * h, 0.126 * h), (0.0, 0.129 * h)]
        tube_chain(body, np.array(jaw), "skull", 0.3, 19.0, 5.0, 1.5)
    body.marks["skull"] = np.array([0.0, 0.062 * h])
