"""Metastases and benign findings of the site_x phantom, placed on the atlas bones (mm).

Metastases (see docs/foreign-site_x.md for sources): axial predilection (vertebrae, ribs,
pelvis, proximal femora and humeri, skull: > 90 % of bone metastases), a lesion count per
metastatic study matching the real screen captures (45 % with 1-3, 20 % with 4-6, 35 % with
more), clustering on adjacent vertebrae, a spread of conspicuity (some faint or small), and a
few superscans (diffuse axial uptake with many small foci). Benign findings in their real
patterns: symmetric degenerative joints, fractures in a row of consecutive ribs, lower
lumbar facet arthropathy, osteoporotic end-plate fractures, arthritis of hands and feet,
costochondral/sternal uptake, dental foci and Paget's disease.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.foreign.site_x.anatomy import Body, Prim

MET_REGIONS = {"thoracic_spine": 0.20, "lumbar_spine": 0.15, "cervical_spine": 0.04,
               "ribs": 0.20, "pelvis": 0.12, "sacrum": 0.05, "femur": 0.08, "humerus": 0.04,
               "skull": 0.05, "sternum": 0.03, "scapula": 0.025, "clavicle": 0.01,
               "tibia": 0.005}
"""Share of metastases per skeletal region (axial predilection; see the docs)."""

BENIGN_PATTERNS = {"djd_knee": 0.20, "djd_shoulder": 0.14, "djd_spine": 0.17,
                   "djd_hip": 0.07, "rib_fractures": 0.13, "arthritis_hands": 0.06,
                   "arthritis_feet": 0.06, "costochondral": 0.05, "dental": 0.05,
                   "endplate_fracture": 0.04, "paget": 0.03}
"""Relative frequency of each benign pattern."""


@dataclass
class Lesion:
    """One finding: position and semi-axes (mm), relative uptake ``amp`` (x local bone)."""

    id: int
    malignant: bool
    kind: str
    region: str
    x: float
    z: float
    a: float
    b: float
    angle: float
    amp: float
    depth: float
    thick_cm: float

    def record(self) -> dict:
        """JSON-ready truth entry."""
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _point_on(prim: Prim, rng: np.random.Generator, t_max: float = 1.0):
    """(x, z, axis angle in degrees) of a random point on a bone solid."""
    a = prim.args
    if prim.kind == "tube":
        p0, p1 = np.asarray(a["p0"], float), np.asarray(a["p1"], float)
        t = rng.uniform(0.0, t_max)
        d = p1 - p0
        return (*(p0 + t * d), float(np.degrees(np.arctan2(d[1], d[0]))))
    if prim.kind == "ellipsoid":
        r, th = np.sqrt(rng.uniform(0, 0.5)), rng.uniform(0, 2 * np.pi)
        return a["c"][0] + r * a["a"] * np.cos(th), a["c"][1] + r * a["b"] * np.sin(th), 0.0
    pts = np.asarray(a["pts"], float)
    tri = pts[[0, rng.integers(1, len(pts) - 1)]]
    tri = np.vstack([pts.mean(0), tri])
    w = rng.dirichlet([1, 1, 1])
    return (*(w @ tri), 0.0)


def _prims(body: Body, region: str, proximal: bool) -> list[Prim]:
    """Bone solids of a region; for long bones only the proximal third's solids."""
    prims = [p for p in body.bones if p.region == region]
    if proximal and region in ("femur", "humerus"):
        prims = prims[:4] if region == "femur" else prims[:2]
    return prims


def place_on(body: Body, region: str, rng: np.random.Generator, size_mm: float,
             proximal: bool = True) -> dict:
    """A lesion footprint on a random solid of ``region`` (semi-axes, angle, depth)."""
    prims = _prims(body, region, proximal)
    prim = prims[rng.integers(len(prims))]
    x, z, axis = _point_on(prim, rng, 0.4 if prim.kind == "tube" and proximal else 1.0)
    if prim.kind == "tube":
        r = max(prim.args["r0"], prim.args["r1"])
        a, b = size_mm * rng.uniform(1.0, 1.8), min(size_mm, r + rng.uniform(1, 4))
    elif region.endswith("spine"):
        a, b, axis = size_mm * rng.uniform(0.8, 1.2), size_mm * rng.uniform(0.6, 1.0), 0.0
    else:
        a, b, axis = size_mm * rng.uniform(0.8, 1.3), size_mm * rng.uniform(0.7, 1.1), \
            rng.uniform(0, 180)
    return {"region": region, "x": float(x), "z": float(z), "a": float(a), "b": float(b),
            "angle": float(axis), "depth": prim.depth, "thick_cm": prim.thick_cm}


def metastasis_count(rng: np.random.Generator) -> int:
    """45 % oligometastatic 1-3, 20 % 4-6, 35 % 7-25 (REALISM.md's malignant box counts)."""
    u = rng.uniform()
    if u < 0.45:
        return int(rng.choice([1, 2, 3], p=[0.4, 0.33, 0.27]))
    if u < 0.65:
        return int(rng.integers(4, 7))
    return int(min(7 + rng.geometric(0.16) - 1, 25))


def met_amp(rng: np.random.Generator) -> float:
    """Excess uptake over local bone: mostly conspicuous, 20 % faint."""
    if rng.uniform() < 0.2:
        return float(rng.uniform(1.0, 2.5))
    return float(np.clip(rng.lognormal(np.log(9.0), 0.5), 2.5, 25.0))


def spine_neighbour(body: Body, prev: list[dict], rng: np.random.Generator) -> dict | None:
    """A lesion on the vertebra next to an earlier spine metastasis (clustering)."""
    spine = [p for p in prev if p["region"].endswith("spine")]
    if not spine:
        return None
    ref = spine[rng.integers(len(spine))]
    names = [k for k in body.marks if k.startswith("v_")]
    zs = np.array([body.marks[k][1] for k in names])
    i = int(np.argmin(np.abs(zs - ref["z"]))) + int(rng.choice([-1, 1]))
    if not 0 <= i < len(names):
        return None
    x, z, hw, hh = body.marks[names[i]]
    region = {"C": "cervical_spine", "T": "thoracic_spine", "L": "lumbar_spine"}[names[i][2]]
    return {"region": region, "x": float(x + rng.uniform(-0.4, 0.4) * hw),
            "z": float(z + rng.uniform(-0.3, 0.3) * hh), "a": float(hw * rng.uniform(0.5, 1.0)),
            "b": float(hh * rng.uniform(0.7, 1.3)), "angle": 0.0, "depth": ref["depth"],
            "thick_cm": ref["thick_cm"]}


def _free(spot: dict, prev: list[dict]) -> bool:
    """True when ``spot`` does not sit on the centre of an earlier lesion."""
    return all(np.hypot(spot["x"] - p["x"], spot["z"] - p["z"]) > 0.8 * max(p["a"], p["b"])
               for p in prev)


def metastases(body: Body, rng: np.random.Generator, n: int, superscan: bool) -> list[dict]:
    """``n`` metastasis footprints with amplitudes (dicts; ids are given later)."""
    out: list[dict] = []
    regions, weights = zip(*MET_REGIONS.items(), strict=True)
    w = np.array(weights) / sum(weights)
    for _ in range(60 * n):
        if len(out) >= n:
            break
        spot = spine_neighbour(body, out, rng) if rng.uniform() < 0.3 else None
        if spot is None:
            size = float(np.clip(rng.lognormal(np.log(14.0), 0.45), 4.0, 40.0))
            spot = place_on(body, str(rng.choice(regions, p=w)), rng, size)
        if superscan:
            spot["a"], spot["b"] = spot["a"] * 0.6, spot["b"] * 0.6
        if _free(spot, out):
            amp = float(rng.uniform(0.6, 2.0)) if superscan else met_amp(rng)
            out.append({**spot, "kind": "metastasis", "malignant": True, "amp": amp})
    return out
