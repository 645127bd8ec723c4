"""Benign findings in the patterns a reader knows (SNMMI bone scintigraphy guideline,
"interpretation"; FIELD.md): fainter than most metastases and patterned.

- degenerative joints: both knees, both shoulders, both hips, lower lumbar facets, or both
  wrists / first MTP joints (arthritis); usually symmetric, uptake 1.3-2.4x (wrists, feet,
  shoulders, at the body's edge: 1.2-1.9x);
- rib fractures: focal, 2-4 consecutive ribs on one side at the same point along the rib
  (aligned), uptake 1.8-4x;
- sternal (manubriosternal) and costochondral uptake, vertebral osteophyte (one margin);
- Paget disease: a whole bone segment (a vertebra, a hemipelvis, a proximal femur), 2-3.5x.
Counts per study: 77 % of real normals carry at least one benign hotspot (median 2);
metastatic studies carry 0.63 on average (REALISM.md).
"""

from __future__ import annotations

import numpy as np

from .findings import Lesion, apply, blob, region_of, side_of
from .geometry import Volume


def _joint_pair(rng, marks, kind):
    """Pairs of joint centres (right, left) for a degenerative pattern."""
    legs, arms, levels, pelvis = marks["legs"], marks["arms"], marks["levels"], marks["pelvis"]
    if kind == "knee":
        return [legs[s]["knee"] + [0, 0, -s * 14] for s in (-1, 1)]
    if kind == "shoulder":
        return [arms[s]["shoulder"] + [-6, 0, 0] for s in (-1, 1)]
    if kind == "hip":
        return [pelvis[s]["acetabulum"] + [-10, 0, s * 6] for s in (-1, 1)]
    if kind == "facet":
        lv = [v for v in levels if v.name in ("L4", "L5")][int(rng.integers(0, 2))]
        y = marks["spine_y"](lv.z) + lv.ry + 14
        return [np.array([lv.z + lv.hz, y, s * lv.rx * 0.6]) for s in (-1, 1)]
    if kind == "wrist":
        return [arms[s]["hand"] for s in (-1, 1)]
    return [legs[s]["ankle"] + [0.02 * marks["H"], -0.05 * marks["H"], -s * 8] for s in (-1, 1)]


def _add(vol, rng, out, c, r, ratio, kind, level, first_id, parts=1, margin=1):
    sl, mask = blob(vol, rng, np.asarray(c, float), r, parts=parts, margin=margin)
    if not mask.any():
        return
    les = Lesion(first_id + len(out), False, kind, region_of(vol, sl, mask), round(ratio, 2), sl, mask,
                 {"side": side_of(vol, sl, mask), "radius_mm": round(r, 1)})
    apply(vol, les, level)
    out.append(les)


def _pattern(vol, rng, marks, level, out, first_id):
    u = rng.random()
    if u < 0.45:
        kind = str(rng.choice(["knee", "shoulder", "hip", "facet", "wrist", "foot"],
                              p=[0.3, 0.2, 0.12, 0.18, 0.1, 0.1]))
        hi = 1.9 if kind in ("foot", "wrist", "shoulder") else 2.4  # at the body's edge: fainter
        base, r = rng.uniform(1.2 if hi < 2 else 1.3, hi), rng.uniform(7, 13)
        sides = (0, 1) if rng.random() < 0.85 else (int(rng.integers(0, 2)),)
        for i in sides:
            _add(vol, rng, out, _joint_pair(rng, marks, kind)[i], r * rng.uniform(0.85, 1.15),
                 base * rng.uniform(0.85, 1.15), f"degenerative_{kind}", level, first_id)
    elif u < 0.68:
        s, n = int(rng.choice([-1, 1])), int(rng.integers(2, 5))
        i0 = int(rng.integers(3, 11 - n + 1))
        t = float(rng.uniform(0.25, 0.75))
        ratio = rng.uniform(1.8, 4.0)
        for i in range(i0, i0 + n):
            pts = marks["ribs"][(s, i)]
            _add(vol, rng, out, pts[int(t * (len(pts) - 1))], rng.uniform(4.5, 7.5),
                 ratio * rng.uniform(0.8, 1.2), "rib_fracture", level, first_id, margin=0)
    elif u < 0.80:
        if rng.random() < 0.5:
            _add(vol, rng, out, marks["sternum_joint"], rng.uniform(6, 10), rng.uniform(1.4, 2.3),
                 "sternal", level, first_id)
        else:
            for s in (-1, 1):
                for i in (1, 2, 3):
                    if rng.random() < 0.6:
                        _add(vol, rng, out, marks["ribs"][(s, i)][-1], rng.uniform(5, 8),
                             rng.uniform(1.3, 2.1), "costochondral", level, first_id)
    elif u < 0.95:
        lv = [v for v in marks["levels"] if v.name[0] in "TL"][int(rng.integers(8, 17))]
        s = int(rng.choice([-1, 1]))
        c = np.array([lv.z + lv.hz, marks["spine_y"](lv.z), s * (lv.rx + 2)])
        _add(vol, rng, out, c, rng.uniform(6, 10), rng.uniform(1.5, 2.6), "osteophyte", level, first_id)
    else:
        _paget(vol, rng, marks, level, out, first_id)


def _paget(vol, rng, marks, level, out, first_id):
    choice = int(rng.integers(0, 3))
    s = int(rng.choice([-1, 1]))
    if choice == 0:
        lv = [v for v in marks["levels"] if v.name[0] in "TL"][int(rng.integers(4, 17))]
        c, r = np.array([lv.z, marks["spine_y"](lv.z) + 10, 0.0]), 1.6 * lv.rx
    elif choice == 1:
        c, r = marks["pelvis"][s]["acetabulum"] + [-0.03 * marks["H"], 0, s * 25], 0.04 * marks["H"]
    else:
        c, r = marks["legs"][s]["trochanter"] + [0.03 * marks["H"], 0, 0], 0.035 * marks["H"]
    _add(vol, rng, out, c, r, rng.uniform(2.0, 3.5), "paget", level, first_id, parts=3, margin=0)


def draw_benign(vol: Volume, rng, marks: dict, level: float, metastatic: bool, first_id: int) -> list[Lesion]:
    """Benign findings of one study (0-3 patterns)."""
    if metastatic:
        n = int(rng.choice([0, 1, 2], p=[0.45, 0.40, 0.15]))
    else:
        n = int(rng.choice([0, 1, 2, 3], p=[0.12, 0.38, 0.35, 0.15]))
    out: list[Lesion] = []
    for _ in range(n):
        _pattern(vol, rng, marks, level, out, first_id)
    return out
