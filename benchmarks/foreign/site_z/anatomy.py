"""A 2.5-D skeleton: every bone is a few 3-D capsules with a depth and a thickness.

Coordinates are centimetres in the patient: x lateral (patient's right negative, so the
anterior view shows it on the viewer's left), y down from the vertex, z antero-posterior
(positive towards the back, 0 on the local mid-coronal plane of the trunk or limb). A
capsule is a segment p0-p1 with a radius r; its projected path length (the "chord") at
lateral distance d is ``2 k sqrt(r^2 - d^2)``, minus the same for an inner radius
``shell * r`` (a cortical tube or the calvarial shell), clipped at ``tmax`` (a plate such as
the iliac wing or scapular body). Why capsules: a planar bone scan is a projection, and a
capsule gives the right projected shape, the right path length and a depth for the
attenuation and the collimator blur, at a few microseconds per bone.

Normal variants (symmetric sacroiliac joints, symphysis, sternal joints, calvarium,
scapular tips, anterior iliac crests, costochondral junctions, vertebra-to-vertebra
variation) are part of the normal skeleton and are drawn here from ``Patient.var``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Prim:
    """One capsule of activity (bone, lesion, organ or soft tissue)."""

    p0: tuple[float, float, float]
    p1: tuple[float, float, float]
    r: float
    act: float                    # activity per cm of path, bone cortex ~1
    region: str                   # BSI region (bones) or organ name
    name: str = ""
    k: float = 1.0                # depth half-extent / lateral radius
    shell: float = 0.0            # inner radius / outer radius (hollow)
    tmax: float = 99.0            # path length cap (plates)
    lid: int = 0                  # lesion instance id (malignant lesions only)

    def center_chord(self) -> float:
        """Path length through the middle, used to scale lesion contrast to the host."""
        c = 2 * self.k * self.r * (1.0 - self.shell) if self.shell else 2 * self.k * self.r
        return float(min(c, self.tmax))


@dataclass
class Patient:
    """Habitus and pose of one patient, drawn per study."""

    height: float                 # cm
    wide: float                   # lateral scale of trunk and shoulders
    thick: float                  # antero-posterior scale (obesity)
    pose: str                     # "down" or "crossed"
    sex: str
    var: dict = field(default_factory=dict)


def draw_patient(rng: np.random.Generator) -> Patient:
    """Height 150-195 cm, habitus from slim to obese, arms down (80 %) or crossed."""
    sex = "M" if rng.random() < 0.6 else "F"
    h = float(np.clip(rng.normal(176 if sex == "M" else 163, 7), 150, 195))
    wide = float(np.clip(rng.normal(1.0 if sex == "M" else 0.93, 0.07), 0.8, 1.2))
    thick = float(np.clip(rng.lognormal(0.0, 0.15), 0.8, 1.6))
    var = {
        "calvarium": float(rng.lognormal(0.0, 0.25)),
        "hyperostosis_frontalis": bool(sex == "F" and rng.random() < 0.15),
        "si_joint": float(rng.uniform(1.1, 1.8)),
        "symphysis": float(rng.uniform(0.9, 1.8)),
        "manubriosternal": float(rng.uniform(0.8, 1.8)),
        "sternoclavicular": float(rng.uniform(1.0, 1.8)),
        "scapular_tip": float(rng.uniform(0.9, 1.6)),
        "iliac_crest": float(rng.uniform(0.9, 1.5)),
        "costochondral": float(rng.uniform(0.3, 1.4)),
        "vertebra_sd": 0.04,
    }
    pose = "down" if rng.random() < 0.8 else "crossed"
    return Patient(h, wide, thick, pose, sex, var)


# Trunk outline: (fraction of height, half-width cm, half-thickness cm) for 175 cm.
TRUNK = np.array([
    (0.160, 5.5, 6.0), (0.175, 13.0, 8.5), (0.195, 17.0, 10.0), (0.300, 16.0, 11.0),
    (0.360, 14.5, 10.5), (0.420, 16.0, 11.0), (0.480, 17.5, 11.0), (0.520, 16.5, 10.0),
    (0.540, 12.0, 7.0)])


# Levels below the vertex are written as fractions of height on a first sketch and mapped
# through these knots onto anthropometric proportions (Drillis & Contini, as tabulated by
# Winter: hip joint 0.47-0.48 H below the vertex, knee 0.715 H, wrist 0.485 H).
KNOTS = np.array([(0.0, 0.0), (0.17, 0.17), (0.34, 0.335), (0.452, 0.428), (0.522, 0.478),
                  (0.575, 0.522), (0.62, 0.57), (0.728, 0.718), (1.0, 1.0)])


def fmap(f):
    """Sketch fraction of height -> anthropometric fraction (see KNOTS)."""
    return np.interp(f, KNOTS[:, 0], KNOTS[:, 1])


def trunk_ab(p: Patient, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Half-width and half-thickness of the trunk at height y (cm); 0 outside."""
    f = np.asarray(y, float) / p.height
    lv = fmap(TRUNK[:, 0])
    a = np.interp(f, lv, TRUNK[:, 1], left=0, right=0) * p.wide * p.height / 175
    b = np.interp(f, lv, TRUNK[:, 2], left=0, right=0) * p.height / 175
    belly = 1 + (p.thick - 1) * np.clip(1 - np.abs(f - 0.40) / 0.12, 0.3, 1)
    return a, b * belly


class Builder:
    """Collects capsules; ``Y`` and ``S`` scale fractions of height and the 175-cm body."""

    def __init__(self, p: Patient, rng: np.random.Generator):
        self.p, self.rng, self.prims = p, rng, []
        self.S = p.height / 175.0

    def Y(self, f: float) -> float:
        return float(fmap(f)) * self.p.height

    def b(self, f: float) -> float:
        return float(trunk_ab(self.p, self.Y(f))[1])

    def add(self, region, p0, p1, r, act=1.0, name="", **kw) -> Prim:
        pr = Prim(tuple(map(float, p0)), tuple(map(float, p1)), float(r), float(act),
                  region, name, **kw)
        self.prims.append(pr)
        return pr

    def chain(self, region, pts, r, act=1.0, name="", **kw) -> None:
        for a, c in zip(pts[:-1], pts[1:]):
            self.add(region, a, c, r, act, name, **kw)


def skull(B: Builder) -> None:
    """Calvarial shell (variable uptake, hyperostosis frontalis), face and mandible."""
    S, v = B.S, B.p.var
    c = v["calvarium"]
    B.add("skull", (0, 8.8 * S, 0), (0, 10.5 * S, 0), 7.4 * S, 0.75 * c, "calvarium",
          k=1.25, shell=0.86, tmax=6)
    if v["hyperostosis_frontalis"]:
        for s in (-1, 1):
            B.add("skull", (s * 3 * S, 6 * S, -5 * S), (s * 3.5 * S, 8 * S, -5 * S), 2.2 * S,
                  1.3, "hyperostosis_frontalis")
    B.add("skull", (0, 17.0 * S, -3 * S), (0, 19.0 * S, -3 * S), 3.4 * S, 0.3, "maxilla")
    for s in (-1, 1):
        B.chain("skull", [(s * 5.2 * S, 18.5 * S, 1), (s * 4.5 * S, 21 * S, -2 * S),
                          (0, 22.3 * S, -6 * S)], 0.9 * S, 0.8, "mandible")


def spine(B: Builder) -> None:
    """C1-L5 bodies (few % variation), posterior elements, sacrum and SI joints."""
    p, S, rng = B.p, B.S, B.rng
    ys = np.concatenate([np.linspace(0.113, 0.160, 7), np.linspace(0.170, 0.340, 12),
                         np.linspace(0.352, 0.452, 5)])
    names = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + \
            [f"L{i}" for i in range(1, 6)]
    sp = np.diff(ys, append=ys[-1] + 0.025) * p.height
    for n, f, d in zip(names, ys, sp):
        y, b = B.Y(f), B.b(f)
        reg = {"C": "cervical", "T": "thoracic", "L": "lumbar"}[n[0]]
        hw = {"C": 1.3, "T": 1.7 + 0.05 * (int(n[1:]) if n[0] == "T" else 0), "L": 2.4}[n[0]]
        r, depth = 0.47 * d, {"C": 1.8, "T": 2.8, "L": 3.4}[n[0]] * S
        w = max(hw * S - r, 0.1)
        z = {"C": 1.0, "T": 0.42 * b, "L": 0.2 * b}[n[0]]
        a = float(rng.normal(1.0, p.var["vertebra_sd"]))
        B.add(reg, (-w, y, z), (w, y, z), r, 0.9 * a, n, k=depth / r, tmax=depth)
        ze = z + (2.5 if n[0] == "C" else 0.3 * b)
        for s in (-1, 1):
            B.add(reg, (s * 0.8 * r, y, ze), (s * 0.8 * r, y + 0.6 * S, ze), 0.55 * S,
                  0.8 * a, n + "_facet")
        B.add(reg, (0, y + 0.4 * S, ze + 1.5), (0, y + 1.6 * S, ze + 2.0), 0.5 * S, 0.6 * a,
              n + "_spinous")
    zs = 0.55 * B.b(0.49)
    B.add("sacrum", (0, B.Y(0.468), zs), (0, B.Y(0.485), zs), 4.0 * S, 0.8, "sacrum", k=0.5,
          tmax=3.0)
    B.add("sacrum", (0, B.Y(0.49), zs), (0, B.Y(0.515), zs + 1), 2.6 * S, 0.8, "sacrum",
          k=0.6, tmax=3.0)
    B.add("sacrum", (0, B.Y(0.52), zs + 1), (0, B.Y(0.535), zs + 1), 1.0 * S, 0.6, "coccyx")
    for s in (-1, 1):
        B.add("sacrum", (s * 4.4 * S, B.Y(0.466), zs), (s * 3.4 * S, B.Y(0.505), zs), 0.8 * S,
              1.4 * p.var["si_joint"], "si_joint")


def pelvis(B: Builder) -> None:
    """Iliac wings (plates with a rim), acetabula, pubic rami, symphysis, ischia."""
    p, S = B.p, B.S
    W = p.wide * S
    bp = B.b(0.50)
    for s in (-1, 1):
        crest = [(s * 4.8 * W, B.Y(0.450), 0.6 * bp), (s * 9.5 * W, B.Y(0.408), 0.35 * bp),
                 (s * 14.5 * W, B.Y(0.428), -0.3 * bp), (s * 13.2 * W, B.Y(0.458), -0.7 * bp)]
        B.chain("pelvis", crest, 0.75 * S, 1.0, "iliac_crest")
        apex = np.array((s * 8.6 * W, B.Y(0.497), 0.0))
        rim = np.array([(s * 4.0 * W, B.Y(0.478), 0.55 * bp)] + crest)
        seg = np.linalg.norm(np.diff(rim[:, :2], axis=0), axis=1)
        for u in np.linspace(0, seg.sum(), 9):    # the wing: a fan from the acetabular roof
            j = min(int(np.searchsorted(np.cumsum(seg), u)), len(seg) - 1)
            f = (u - np.cumsum(seg)[j] + seg[j]) / seg[j]
            q = rim[j] + f * (rim[j + 1] - rim[j])
            q[:2] = q[:2] + (apex[:2] - q[:2]) * 0.1
            B.add("pelvis", apex, q, 1.7 * S, 0.35, "iliac_wing", k=0.3)
        B.add("pelvis", crest[3], crest[3], 1.0 * S, 1.0 * p.var["iliac_crest"], "asis")
        ac = (s * 9.6 * W, B.Y(0.522), -0.1 * bp)
        B.add("pelvis", ac, ac, 2.7 * S, 0.7, "acetabulum", shell=0.7)
        B.add("pelvis", (s * 8 * W, B.Y(0.535), -0.35 * bp), (s * 1.2 * S, B.Y(0.545), -0.8 * bp),
              1.1 * S, 0.85, "pubic_ramus")
        isch = (s * 6.3 * W, B.Y(0.575), 0.1 * bp)
        B.add("pelvis", (s * 1.2 * S, B.Y(0.56), -0.75 * bp), isch, 0.8 * S, 0.8, "ischial_ramus")
        B.add("pelvis", isch, ac, 1.4 * S, 0.8, "ischium")
    B.add("pelvis", (0, B.Y(0.543), -0.85 * bp), (0, B.Y(0.557), -0.85 * bp), 0.9 * S,
          1.2 * p.var["symphysis"], "symphysis")


def thorax(B: Builder) -> None:
    """Ribs as 3-D arcs from the spine to the costochondral junctions; sternum; clavicles."""
    p, S, W = B.p, B.S, B.p.wide * B.S
    semi = [5.5, 8.0, 10.0, 11.5, 12.5, 13.3, 13.6, 13.6, 13.2, 12.6, 11.0, 9.0]
    end = [0.90, 0.92, 0.92, 0.92, 0.92, 0.92, 0.90, 0.80, 0.75, 0.70, 0.55, 0.42]
    ys = np.linspace(0.170, 0.340, 12)
    cc = p.var["costochondral"]
    for i in range(12):
        y0 = B.Y(ys[i])
        br = 0.78 * B.b(ys[i] + 0.03)
        th = np.linspace(0.05, end[i], 10) * np.pi
        drop = 8.5 * S * (th / np.pi) ** 1.6
        for s in (-1, 1):
            pts = [(s * (1.8 * S + semi[i] * W * np.sin(t)), y0 + d, br * np.cos(t) * 0.9)
                   for t, d in zip(th, drop)]
            B.chain("ribs", pts, 0.55 * S, 0.85, f"rib{'RL'[s > 0]}{i + 1}", k=0.7)
            if end[i] > 0.85:
                B.add("ribs", pts[-1], pts[-1], 0.65 * S, 0.9 * cc, "costochondral")
    zst = -0.9 * B.b(0.24)
    B.add("sternum", (0, B.Y(0.186), zst), (0, B.Y(0.200), zst), 2.0 * S, 0.8, "manubrium",
          k=0.45)
    B.add("sternum", (0, B.Y(0.212), zst), (0, B.Y(0.285), zst), 1.4 * S, 0.8, "sternal_body",
          k=0.5)
    B.add("sternum", (0, B.Y(0.206), zst), (0, B.Y(0.206), zst), 1.1 * S,
          1.0 * p.var["manubriosternal"], "manubriosternal")
    for s in (-1, 1):
        sc = (s * 2.0 * S, B.Y(0.181), zst)
        B.add("sternum", sc, sc, 0.9 * S, 1.1 * p.var["sternoclavicular"], "sternoclavicular")
        B.chain("clavicle", [sc, (s * 9 * W, B.Y(0.176), -0.5 * B.b(0.18)),
                             (s * 16 * W, B.Y(0.171), 0.1 * B.b(0.18))], 0.7 * S, 0.85,
                "clavicle")


def shoulder_girdle(B: Builder) -> tuple[float, float]:
    """Scapulae (body plate, borders, hot inferior tips); returns the glenoid x and y."""
    p, S, W = B.p, B.S, B.p.wide * B.S
    bs = B.b(0.24)
    gx, gy = 17.0 * W, B.Y(0.195)
    for s in (-1, 1):
        gl = (s * gx, gy, 0.05 * bs)
        tip = (s * 11.5 * W, B.Y(0.305), 0.75 * bs)
        sup = (s * 7.5 * W, B.Y(0.19), 0.8 * bs)
        B.add("scapula", gl, gl, 1.5 * S, 0.7, "glenoid", k=0.7)
        B.add("scapula", gl, tip, 0.7 * S, 0.5, "scapula_lateral")
        B.add("scapula", sup, tip, 0.6 * S, 0.45, "scapula_medial")
        B.add("scapula", (s * 7.5 * W, B.Y(0.21), 0.85 * bs),
              (s * 16.5 * W, B.Y(0.178), 0.3 * bs), 0.8 * S, 0.9, "scapular_spine")
        B.add("scapula", (s * 10.5 * W, B.Y(0.225), 0.75 * bs),
              (s * 11.5 * W, B.Y(0.27), 0.75 * bs), 3.3 * S, 0.6, "scapula_body", tmax=0.7)
        B.add("scapula", tip, tip, 0.9 * S, 1.0 * p.var["scapular_tip"], "scapular_tip")
    return gx, gy
