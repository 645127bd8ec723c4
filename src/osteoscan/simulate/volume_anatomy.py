"""The 3-D torso phantom: body, fat, lungs, organs and the skeleton of the trunk.

Drawn in LPS millimetres onto a :class:`~osteoscan.simulate.volume_canvas.Canvas` whose z
range runs from the upper thighs (z = 0) to the lower neck (z = length): femoral heads and
proximal femora, pelvis (ilia, pubic and ischial rami, sacrum), 17 vertebrae (L5..T1, each a
body with a cortical shell, a posterior arch, spinous and transverse processes), 12 pairs of
ribs, sternum, scapulae and clavicles; soft tissue, subcutaneous fat, lungs, heart, liver,
kidneys and bladder. Patient size, fat, spine curvature and rib drop vary with the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate.volume_canvas import Canvas


@dataclass(frozen=True)
class Body:
    """A patient's build (mm).

    Attributes:
        a: torso half-width. b: torso half-depth. length: z extent drawn (thighs to neck).
        fat: subcutaneous fat thickness. lordosis: forward shift of the lumbar spine.
    """

    a: float
    b: float
    length: float
    fat: float
    lordosis: float

    @classmethod
    def draw(cls, rng: np.random.Generator, length: float) -> Body:
        return cls(a=float(rng.uniform(145, 185)), b=float(rng.uniform(95, 125)),
                   length=float(length), fat=float(rng.uniform(8, 30)),
                   lordosis=float(rng.uniform(0, 20)))

    def z(self, f: float) -> float:
        """z (mm) at a fraction of the drawn length."""
        return f * self.length


def _inside_body(labels: np.ndarray) -> np.ndarray:
    return labels != vc.AIR


def draw_soft_tissue(cv: Canvas, body: Body) -> None:
    """Body outline (fat, then muscle inside), lungs and organs."""
    zt, top = body.z(0.10), body.length + 50
    for rim, label in ((0.0, vc.FAT), (body.fat, vc.SOFT)):
        got = vc.cylinder_depth(cv, (0, 0, (zt + top) / 2), body.a - rim, body.b - rim, top - zt)
        if got:
            cv.paint(got[0], got[1] >= 0, label)
        for side in (-1, 1):  # thighs
            got = vc.cylinder_depth(cv, (side * 0.5 * body.a, 5, zt / 2 - 10), 0.45 * body.a - rim,
                                    0.45 * body.a - rim, zt + 40)
            if got:
                cv.paint(got[0], got[1] >= 0, label)
    organs = [((-0.35 * body.a, -0.1 * body.b, body.z(0.58)), (0.42 * body.a, 0.6 * body.b,
                                                                0.1 * body.length), vc.LIVER),
              ((0.12 * body.a, -0.3 * body.b, body.z(0.72)), (52, 45, 55), vc.HEART),
              ((0, -0.35 * body.b, body.z(0.15)), (40, 35, 28), vc.BLADDER)]
    for side in (-1, 1):
        organs.append(((side * 0.36 * body.a, 0.1 * body.b, body.z(0.83)),
                       (0.34 * body.a, 0.62 * body.b, 0.2 * body.length), vc.LUNG))
        organs.append(((side * 0.38 * body.a, 0.45 * body.b, body.z(0.46)), (25, 20, 50),
                       vc.KIDNEY))
    for centre, semi, label in organs:
        got = vc.ellipsoid_depth(cv, centre, semi)
        if got:
            cv.paint(got[0], got[1] >= 0, label, where=lambda lab: lab == vc.SOFT)


def _bone(cv: Canvas, got, part: int, shell: float, core: int = vc.TRABECULAR) -> None:
    if got is not None:
        cv.paint_bone(got[0], got[1], part, shell, core)


def draw_pelvis(cv: Canvas, body: Body) -> None:
    """Femoral heads and proximal femora, ilia, pubic and ischial rami, sacrum."""
    a, b = body.a, body.b
    for s in (-1, 1):
        head = np.array([s * 0.52 * a, 5.0, body.z(0.13)])
        neck = head + [s * 30, 5, -30]
        _bone(cv, vc.tube_depth(cv, [neck, neck + [0, 5, -0.2 * body.length]], 14), vc.FEMUR,
              4.0, core=vc.MARROW)
        _bone(cv, vc.tube_depth(cv, [head, neck], 13), vc.FEMUR, 2.0)
        _bone(cv, vc.ellipsoid_depth(cv, head, (23, 23, 23)), vc.FEMUR, 1.5)
        _bone(cv, vc.ellipsoid_depth(cv, (s * 0.5 * a, 0.2 * b, body.z(0.25)), (42, 11, 55),
                                     rot=-s * 0.6), vc.PELVIS, 1.5)
        _bone(cv, vc.tube_depth(cv, [head + [-s * 25, -15, 5], (s * 12, -0.55 * b, body.z(0.12))],
                                9), vc.PELVIS, 1.5)
        _bone(cv, vc.tube_depth(cv, [head + [-s * 15, 12, -10], (s * 0.3 * a, 0.25 * b,
                                                                body.z(0.05))], 10),
              vc.PELVIS, 1.5)
        _bone(cv, vc.ellipsoid_depth(cv, head + [-s * 8, 0, 14], (30, 26, 22)), vc.PELVIS, 2.0)
    _bone(cv, vc.ellipsoid_depth(cv, (0, 0.45 * b, body.z(0.22)), (40, 17, 52), tilt=-0.5),
          vc.SACRUM, 1.5)


@dataclass(frozen=True)
class Vertebra:
    """One vertebra's body: name ("L5".."T1"), centre (LPS mm), semi-axes and height (mm)."""

    name: str
    centre: tuple[float, float, float]
    rx: float
    ry: float
    height: float


def spine_layout(body: Body) -> list[Vertebra]:
    """Vertebral bodies from L5 (at 31 % of the length) up to T1, with discs between."""
    names = [f"L{k}" for k in range(5, 0, -1)] + [f"T{k}" for k in range(12, 0, -1)]
    rel = np.array([36.0] * 5 + list(np.linspace(30, 24, 12)))
    z0, z1 = body.z(0.31), body.length - 8
    steps = rel * (z1 - z0) / rel.sum()
    out, z = [], z0
    for k, (name, step) in enumerate(zip(names, steps)):
        f = k / (len(names) - 1)
        y = body.b * (0.1 + 0.3 * f) - body.lordosis * np.sin(np.pi * min(1.0, f * 3.4))
        rx, ry = 24 - 10 * f, 17 - 5 * f
        out.append(Vertebra(name, (0.0, float(y), float(z + step / 2)), rx, ry, 0.76 * step))
        z += step
    return out


def draw_spine(cv: Canvas, spine: list[Vertebra]) -> None:
    """Each vertebra: body, arch round the canal, spinous and transverse processes."""
    for v in spine:
        cx, cy, cz = v.centre
        _bone(cv, vc.cylinder_depth(cv, v.centre, v.rx, v.ry, v.height), vc.VERTEBRA, 1.2)
        canal = np.array([cx, cy + v.ry + 9, cz])
        ang = np.linspace(-0.6, np.pi + 0.6, 11)  # round the back, ends reach the body
        ring = canal + np.stack([11 * np.cos(ang), 11 * np.sin(ang), np.zeros_like(ang)], 1)
        _bone(cv, vc.tube_depth(cv, ring, 4.5), vc.ARCH, 1.0)
        _bone(cv, vc.tube_depth(cv, [canal + [0, 10, 0], canal + [0, 34, -14]], 4.5), vc.ARCH, 1.0)
        for s in (-1, 1):
            _bone(cv, vc.tube_depth(cv, [canal + [s * 8, 4, 0], canal + [s * (v.rx + 22), 2, 2]],
                                    4.0), vc.ARCH, 1.0)


def rib_path(body: Body, v: Vertebra, k: int, side: int, drop: float) -> np.ndarray:
    """Centre line of rib k (0 = first) on one side, from beside vertebra v towards the front."""
    grow = 0.55 + 0.45 * min(1.0, (k + 1) / 5)
    ax, by = (body.a - 22) * grow * 0.92, (body.b - 14) * (0.7 + 0.3 * grow)
    end = np.pi * (0.88 if k < 7 else 0.88 - 0.08 * (k - 6))
    th = np.linspace(0.28, end, 14)
    x = side * ax * np.sin(th)
    y = by * np.cos(th) * 0.9 + 0.1 * by
    z = v.centre[2] - drop * ((th - th[0]) / (end - th[0])) ** 1.4
    return np.stack([x, y, z], 1)


def draw_thorax(cv: Canvas, body: Body, spine: list[Vertebra], rng) -> list[np.ndarray]:
    """Ribs (returned as centre lines), sternum, scapulae and clavicles."""
    thoracic = [v for v in spine if v.name.startswith("T")][::-1]  # T1 first
    drop = float(rng.uniform(30, 60))
    ribs = []
    for k, v in enumerate(thoracic):
        for side in (-1, 1):
            path = rib_path(body, v, k, side, drop)
            ribs.append(path)
            _bone(cv, vc.tube_depth(cv, path, 5.5 if k else 7.0), vc.RIB, 1.0)
    by = (body.b - 14) * 0.9 - 6
    _bone(cv, vc.cylinder_depth(cv, (0, -by, body.z(0.8)), 15, 6, 0.28 * body.length),
          vc.STERNUM, 1.2)
    for s in (-1, 1):
        _bone(cv, vc.ellipsoid_depth(cv, (s * 0.6 * body.a, 0.72 * body.b, body.z(0.86)),
                                     (45, 6, 62), rot=-s * 0.45), vc.SCAPULA, 1.0)
        _bone(cv, vc.tube_depth(cv, [(s * 18, -0.7 * body.b, body.length - 10),
                                     (s * 0.78 * body.a, 0.15 * body.b, body.length - 4)], 6.5),
              vc.CLAVICLE, 1.5)
    return ribs


@dataclass(frozen=True)
class Anatomy:
    """What lesion placement needs to know of the drawn phantom."""

    body: Body
    spine: list[Vertebra]
    ribs: list[np.ndarray]


def draw_anatomy(cv: Canvas, body: Body, rng: np.random.Generator) -> Anatomy:
    """Draw the whole phantom (soft tissue first, then bone over it)."""
    draw_soft_tissue(cv, body)
    draw_pelvis(cv, body)
    spine = spine_layout(body)
    draw_spine(cv, spine)
    ribs = draw_thorax(cv, body, spine, rng)
    return Anatomy(body, spine, ribs)
