"""Benign findings of the site_x phantom in their real patterns (footprints in mm).

Each pattern returns one or more footprints (dicts with region, x, z, a, b, angle, depth,
thick_cm, kind, amp). Symmetric patterns draw both sides with similar intensity; rib
fractures line up on consecutive ribs at the same position along the arc.
"""

from __future__ import annotations

import numpy as np

from benchmarks.foreign.site_x.anatomy import Body
from benchmarks.foreign.site_x.lesions import BENIGN_PATTERNS, place_on


def benign_amp(rng: np.random.Generator) -> float:
    """Excess uptake of a benign focus over local bone (fainter than metastases)."""
    return float(np.clip(rng.lognormal(np.log(2.0), 0.5), 0.7, 8.0))


def _spot(kind, region, xz, a, b, depth, thick, amp, angle=0.0) -> dict:
    return {"kind": kind, "region": region, "x": float(xz[0]), "z": float(xz[1]),
            "a": float(a), "b": float(b), "angle": float(angle), "depth": float(depth),
            "thick_cm": float(thick), "amp": float(amp), "malignant": False}


def _sides(rng: np.random.Generator, p_both: float) -> list[int]:
    """Both sides with probability ``p_both``, else one random side."""
    return [-1, 1] if rng.uniform() < p_both else [int(rng.choice([-1, 1]))]


def djd_joint(body: Body, rng, kind: str) -> list[dict]:
    """Degenerative uptake at knees, shoulders or hips, usually both sides."""
    h, amp = body.height, benign_amp(rng)
    out = []
    for s in _sides(rng, 0.7):
        if kind == "djd_knee":
            xz, region, depth, thick = body.marks[f"knee_{s}"] + [-s * 0.010 * h, 0.006 * h], \
                "femur", 0.45, 12.0
        elif kind == "djd_shoulder":
            xz, region, depth, thick = body.marks[f"shoulder_{s}"] + [s * 0.004 * h,
                                                                      -0.008 * h], \
                "humerus", 0.5, 14.0
        else:
            xz, region, depth, thick = body.marks[f"hip_{s}"] + [s * 0.006 * h, -0.01 * h], \
                "pelvis", 0.5, body.trunk_cm
        size = rng.uniform(9, 16)
        out.append(_spot(kind, region, xz, size * 1.3, size, depth, thick,
                         amp * rng.uniform(0.75, 1.25)))
    return out


def djd_spine(body: Body, rng) -> list[dict]:
    """Facet or osteophyte uptake at the edge of a lower lumbar vertebra (L3-L5)."""
    x, z, hw, hh = body.marks[f"v_L{int(rng.integers(3, 6))}"]
    amp = benign_amp(rng)
    return [_spot("djd_spine", "lumbar_spine", (x + s * hw * rng.uniform(0.9, 1.2),
                                                z + hh * rng.uniform(0.5, 1.1)),
                  rng.uniform(7, 12), rng.uniform(7, 13), 0.75, body.trunk_cm,
                  amp * rng.uniform(0.7, 1.3)) for s in _sides(rng, 0.35)]


def rib_fractures(body: Body, rng) -> list[dict]:
    """Two to four fractures in a row on consecutive ribs, same place along each arc."""
    side, first = int(rng.choice([-1, 1])), int(rng.integers(3, 9))
    arc, t = ("post", rng.uniform(0.55, 0.95)) if rng.uniform() < 0.6 else \
        ("ant", rng.uniform(0.1, 0.5))
    amp, out = benign_amp(rng) * 1.2, []
    for n in range(first, min(first + int(rng.integers(2, 5)), 11)):
        pts = body.marks[f"rib{n}_{side}_{arc}"]
        pos = pts[int(round(t * (len(pts) - 1)))]
        depth = 0.85 if arc == "post" else 0.15
        size = rng.uniform(5, 8)
        out.append(_spot("rib_fracture", "ribs", pos, size, size, depth, body.trunk_cm,
                         amp * rng.uniform(0.7, 1.3)))
    return out


def small_joints(body: Body, rng, kind: str) -> list[dict]:
    """Arthritis of the wrist/hand or the first metatarsophalangeal joint (bunion)."""
    out, amp = [], benign_amp(rng)
    for s in _sides(rng, 0.6):
        if kind == "arthritis_hands":
            hand = [p for p in body.bones if p.region == "hand"]
            prim = hand[6 * (s > 0) + int(rng.integers(0, 6))]
            xz, depth, thick, region = prim.args.get("c", prim.args.get("p0")), prim.depth, \
                prim.thick_cm, "hand"
        else:
            xz = body.marks[f"foot_{s}"] + [-s * 0.010 * body.height, 0.018 * body.height]
            depth, thick, region = 0.3, 8.0, "foot"
        size = rng.uniform(5, 8)
        out.append(_spot(kind, region, xz, size, size, depth, thick,
                         amp * rng.uniform(0.7, 1.3)))
    return out


def axial_benign(body: Body, rng, kind: str) -> list[dict]:
    """Costochondral/sternal, dental, end-plate fracture and Paget patterns."""
    h = body.height
    if kind == "costochondral":
        if rng.uniform() < 0.5:
            return [_spot(kind, "sternum", (0.0, 0.214 * h), 10, 6, 0.05, body.trunk_cm,
                          benign_amp(rng))]
        n, amp = int(rng.integers(1, 4)), benign_amp(rng)
        return [_spot(kind, "ribs", body.marks[f"rib{n}_{s}_ant"][-1], 6, 6, 0.1,
                      body.trunk_cm, amp) for s in (-1, 1)]
    if kind == "dental":
        return [_spot(kind, "skull", (rng.uniform(-0.02, 0.02) * h, rng.uniform(0.1, 0.12) * h),
                      6, 6, 0.3, 19.0, benign_amp(rng) * 1.3)]
    if kind == "endplate_fracture":
        name = str(rng.choice(["T10", "T11", "T12", "L1", "L2", "L3"]))
        x, z, hw, hh = body.marks[f"v_{name}"]
        region = "thoracic_spine" if name[0] == "T" else "lumbar_spine"
        return [_spot(kind, region, (x, z - 0.3 * hh), hw * 1.05, hh * 0.45, 0.75,
                      body.trunk_cm, benign_amp(rng) * 1.3)]
    region = str(rng.choice(["pelvis", "lumbar_spine", "femur", "skull"]))
    spot = place_on(body, region, rng, rng.uniform(22, 35), proximal=True)
    return [{**spot, "kind": "paget", "malignant": False,
             "amp": float(rng.uniform(1.5, 3.5))}]


def benign_findings(body: Body, rng: np.random.Generator, n_patterns: int) -> list[dict]:
    """``n_patterns`` benign patterns drawn by their frequency (footprints, no ids)."""
    names, p = zip(*BENIGN_PATTERNS.items(), strict=True)
    p = np.array(p) / sum(p)
    out: list[dict] = []
    for kind in rng.choice(names, size=n_patterns, p=p, replace=False):
        kind = str(kind)
        if kind.startswith("djd_") and kind != "djd_spine":
            out += djd_joint(body, rng, kind)
        elif kind == "djd_spine":
            out += djd_spine(body, rng)
        elif kind == "rib_fractures":
            out += rib_fractures(body, rng)
        elif kind.startswith("arthritis"):
            out += small_joints(body, rng, kind)
        else:
            out += axial_benign(body, rng, kind)
    return out
