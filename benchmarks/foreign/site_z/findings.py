"""Benign findings, physiology artefacts, metastases and the Bone Scan Index truth.

A lesion is a small capsule placed inside a host bone capsule at the host's depth. Its
contrast c is "added uptake over the host's own uptake through its middle", so c = 3 means
the hot spot is about four times its bone before blur. Malignant c: log-normal, median 3.2
(REALISM.md: real metastases are conspicuous, display contrast 4.5 vs 3.2 for benign
hotspots); benign c: median 1.3, so the two overlap but metastases are mostly brighter.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Builder, Prim

# % of skeletal mass per region, rounded from ICRP 70's adult reference skeleton as the
# Imbriaco (1998) Bone Scan Index uses it; sums to 100.
REGION_MASS = {"skull": 12.0, "cervical": 3.0, "thoracic": 8.5, "lumbar": 7.0,
               "sacrum": 3.5, "pelvis": 12.5, "ribs": 8.0, "sternum": 1.0, "clavicle": 1.5,
               "scapula": 4.0, "humerus": 6.0, "forearm": 4.0, "hand": 2.0, "femur": 15.0,
               "leg": 8.5, "foot": 3.5}

# Where metastases land (axial predilection): (weight, regions, name prefixes or None).
MET_SITES = [(0.36, ("thoracic", "lumbar", "cervical"), None),
             (0.14, ("pelvis",), ("iliac", "acetabulum", "ischium", "pubic", "asis")),
             (0.06, ("sacrum",), ("sacrum",)),
             (0.17, ("ribs",), ("rib",)),
             (0.08, ("femur",), ("femoral_head", "femoral_neck", "greater_trochanter")),
             (0.04, ("humerus",), ("humeral_head",)),
             (0.07, ("skull",), ("calvarium",)),
             (0.03, ("sternum",), ("sternal_body", "manubrium")),
             (0.03, ("scapula",), ("scapula_body", "glenoid")),
             (0.02, ("clavicle",), None)]


def hosts(B: Builder, regions, prefixes) -> list[Prim]:
    """Bone capsules of the regions whose name starts with one of the prefixes."""
    return [p for p in B.prims if p.region in regions and not p.lid and
            (prefixes is None or p.name.startswith(prefixes))]


def lesion_on(B: Builder, host: Prim, rng, c: float, r: float, lid: int = 0,
              kind: str = "", elong: float = 0.0) -> Prim:
    """A hot capsule of radius r inside ``host``, its activity set by contrast c."""
    a, b = np.array(host.p0), np.array(host.p1)
    t = rng.uniform(0, 1)
    ctr = a + t * (b - a)
    off = rng.normal(0, 0.35 * host.r * (1 - host.shell * 0.5), 2)
    ctr[:2] += off
    d = b - a
    d = d / (np.linalg.norm(d) + 1e-9) if elong else np.zeros(3)
    r = min(r, max(host.r * 1.1, 0.6))
    act = c * host.act * host.center_chord() / (2 * r)
    pr = B.add(host.region, tuple(ctr - d * elong / 2), tuple(ctr + d * elong / 2), r, act,
               kind or host.name, lid=lid)
    return pr


def _rec(pr: Prim, host: Prim, kind: str, c: float, **kw) -> dict:
    return {"kind": kind, "region": host.region, "bone": host.name,
            "intensity": round(float(c), 3), "radius_mm": round(10 * pr.r, 1),
            "center_cm": [round(v, 2) for v in (np.array(pr.p0) + np.array(pr.p1)) / 2], **kw}


def benign_c(rng) -> float:
    return float(np.clip(rng.lognormal(np.log(1.3), 0.45), 0.4, 4.5))


def degenerative(B: Builder, rng, age: float) -> list[dict]:
    """Knees, shoulders, lower lumbar facets, spondylosis, hands, feet; commoner with age."""
    out, g = [], (age - 40) / 40

    def put(kind, cand, r, sides=1, elong=0.0):
        for host in list(rng.choice(cand, size=min(sides, len(cand)), replace=False)):
            c = benign_c(rng)
            pr = lesion_on(B, host, rng, c, r, kind=kind, elong=elong)
            out.append(_rec(pr, host, kind, c))

    if rng.random() < 0.45 * g:
        put("djd_knee", hosts(B, ("leg",), ("tibial_plateau",)), rng.uniform(1.2, 2.0),
            sides=1 + (rng.random() < 0.65))
    if rng.random() < 0.3 * g:
        put("djd_shoulder", hosts(B, ("scapula", "humerus"), ("glenoid", "humeral_head")),
            rng.uniform(1.0, 1.6), sides=1 + (rng.random() < 0.5))
    if rng.random() < 0.4 * g:
        facets = [p for p in hosts(B, ("lumbar",), None) if p.name[:2] in ("L3", "L4", "L5")
                  and p.name.endswith("facet")]
        put("facet_arthropathy", facets, rng.uniform(0.8, 1.2), sides=int(rng.integers(1, 4)))
    if rng.random() < 0.25 * g:
        put("spondylosis", hosts(B, ("lumbar", "thoracic"), ("L", "T1")), rng.uniform(0.7, 1.1),
            sides=int(rng.integers(1, 3)))
    if rng.random() < 0.2 * g:
        put("arthritis_hand", hosts(B, ("hand",), None), rng.uniform(0.6, 0.9),
            sides=int(rng.integers(1, 4)))
    if rng.random() < 0.25 * g:
        put("arthritis_foot", hosts(B, ("foot",), ("forefoot", "ankle")), rng.uniform(0.7, 1.1),
            sides=int(rng.integers(1, 3)))
    return out


def rib_fractures(B: Builder, rng) -> list[dict]:
    """Healed fractures: 2-4 adjacent ribs of one side, aligned at one arc position."""
    side, first = "RL"[int(rng.integers(2))], int(rng.integers(3, 9))
    seg, out = int(rng.integers(2, 7)), []
    for n in range(first, first + int(rng.integers(2, 5))):
        segs = [p for p in B.prims if p.name == f"rib{side}{n}"]
        if seg >= len(segs):
            continue
        host, c = segs[seg], float(np.clip(rng.lognormal(np.log(1.8), 0.4), 0.8, 5))
        pr = B.add("ribs", host.p1, host.p1, rng.uniform(0.6, 0.85), 0, "rib_fracture")
        pr.act = c * host.act * host.center_chord() / (2 * pr.r)
        out.append(_rec(pr, host, "healed_rib_fracture", c))
    return out


def physiology(B: Builder, rng, joints: dict) -> list[dict]:
    """Injection site (sometimes extravasated, with an axillary node), urine contamination."""
    out = []
    if rng.random() < 0.55:
        s = int(rng.choice([-1, 1]))
        j = joints["arm"][s]
        at = j["elbow"] if rng.random() < 0.6 else j["wrist"]
        big = rng.random() < 0.2
        r = rng.uniform(1.5, 3.0) if big else rng.uniform(0.4, 0.8)
        act = float(rng.lognormal(np.log(6 if big else 25), 0.7))
        B.add("injection", (at[0], at[1] + 0.5, -1.5), (at[0], at[1] + 0.5, -1.5), r, act,
              "injection_site")
        out.append({"kind": "extravasation" if big else "injection_site", "region": "arm",
                    "side": "LR"[s < 0], "intensity": round(act, 2)})
        if big and rng.random() < 0.4:
            ax = (s * (joints["arm"][s]["shoulder"][0] * s - 4), joints["arm"][s]["shoulder"][1]
                  + 4, 0.0)
            B.add("node", ax, ax, 0.8, act * 0.15, "axillary_node")
            out.append({"kind": "axillary_node", "region": "axilla",
                        "intensity": round(act * .15, 2)})
    if rng.random() < 0.12:
        leg = joints["leg"][int(rng.choice([-1, 1]))]
        for _ in range(int(rng.integers(1, 4))):
            y = B.Y(rng.uniform(0.53, 0.62))
            x = leg["hip"][0] * rng.uniform(0.2, 1.1)
            act = float(rng.lognormal(np.log(15), 0.6))
            B.add("urine", (x, y, -12), (x, y + rng.uniform(0, 2), -12), rng.uniform(0.4, 1.0),
                  act, "urine_contamination")
            out.append({"kind": "urine_contamination", "region": "pelvis_skin",
                        "intensity": round(act, 2)})
    return out


def metastases(B: Builder, rng, n: int, superscan: bool) -> list[dict]:
    """n malignant lesions on axial-predilection hosts, each its own instance id."""
    w = np.array([s[0] for s in MET_SITES])
    out = []
    for lid in range(1, n + 1):
        _, regions, pre = MET_SITES[int(rng.choice(len(w), p=w / w.sum()))]
        cand = hosts(B, regions, pre)
        host = cand[int(rng.integers(len(cand)))]
        if superscan:
            c = float(rng.uniform(0.8, 2.0))
        else:
            c = float(np.clip(rng.lognormal(np.log(3.2), 0.45), 1.5, 12))
        r = rng.uniform(0.7, 1.8) if host.region != "ribs" else rng.uniform(0.6, 0.9)
        elong = rng.uniform(1.0, 3.5) if host.region == "ribs" else rng.uniform(0, r)
        pr = lesion_on(B, host, rng, c, r, lid, "metastasis", elong)
        out.append({"id": lid, "malignant": True, **_rec(pr, host, "metastasis", c)})
    return out


def superscan_uptake(B: Builder, rng) -> float:
    """Diffusely raised axial and proximal-limb uptake (the "beautiful bone scan")."""
    f = float(rng.uniform(1.8, 2.6))
    for p in B.prims:
        if p.region in REGION_MASS and p.region not in ("hand", "foot", "leg", "forearm"):
            p.act *= f
    return f


def bsi(lesions: list[dict], lesion_area: dict, region_area: dict) -> float:
    """% skeletal mass involved: per lesion, its region's mass x its share of the region's
    projected area (the area-based BSI of automated readers), capped per region."""
    per: dict[str, float] = {}
    for les in lesions:
        reg, a = les["region"], lesion_area.get(str(les["id"]), 0)
        frac = REGION_MASS[reg] * a / max(region_area.get(reg, 1), 1)
        les["bsi"] = round(frac, 4)
        per[reg] = per.get(reg, 0.0) + frac
    return float(sum(min(v, REGION_MASS[k]) for k, v in per.items()))
