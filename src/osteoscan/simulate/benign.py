"""Benign findings in their real patterns, in both classes (confounders of a detector).

- degenerative joint disease: knees, shoulders (glenoid, acromioclavicular), lower lumbar
  facets, hips; symmetric in 60 % (the pattern that tells a reader it is benign);
- fractures aligned on 2-4 consecutive ribs, same side and segment;
- arthritis of hands, feet and ankles (several small foci);
- Paget's disease: a whole bone (cranium, hemipelvis, femur, tibia, vertebra), intense;
- sternal and costochondral uptake (manubrium/sternoclavicular, anterior rib ends, often paired);
- arthroplasty: a photopenic prosthesis at a hip or knee (cold, benign).

Each is a :class:`~osteoscan.simulate.lesions.LesionSpec` with ``malignant=False``;
``Difficulty.benign_scale`` scales the excess uptake (harder: brighter confounders). The
contrasts are calibrated so that benign boxes are dimmer than metastases at the default
(REALISM.md display contrast 3.15 vs 4.45).
"""

from __future__ import annotations

import numpy as np

from osteoscan.simulate.anatomy import Structure
from osteoscan.simulate.lesions import Difficulty, LesionSpec, finding_spec

BENIGN_KINDS = ("degenerative", "fracture", "arthritis", "paget", "costochondral", "arthroplasty")
_P_KIND = (0.45, 0.12, 0.18, 0.05, 0.14, 0.06)


def _named(bones: list[Structure], name: str) -> int | None:
    return next((i for i, b in enumerate(bones) if b.name == name), None)


def _excess(rng, lo: float, hi: float, diff: Difficulty) -> float:
    return 1.0 + float(rng.uniform(lo, hi)) * diff.benign_scale


def _sides(rng, p_both: float) -> list[str]:
    first = str(rng.choice(["right", "left"]))
    other = "left" if first == "right" else "right"
    return [first, other] if rng.random() < p_both else [first]


def _degenerative(rng, bones, diff) -> list[LesionSpec]:
    site = rng.choice(["knee", "shoulder", "ac", "spine", "hip"], p=[0.3, 0.2, 0.1, 0.3, 0.1])
    names = {"knee": "femur_{}_condyles", "shoulder": "glenoid_{}", "ac": "acromion_{}",
             "hip": "acetabulum_{}", "spine": "L{}_facet_{{}}".format(rng.choice([3, 4, 5]))}[site]
    c, r = _excess(rng, 1.5, 4.0, diff), float(rng.uniform(9, 16))
    out = []
    for side in _sides(rng, 0.4):
        host = _named(bones, names.format(side))
        if host is not None:
            out.append(finding_spec(rng, bones, host, "degenerative", False,
                             r * rng.uniform(0.85, 1.15), c * rng.uniform(0.9, 1.1), irregular=0.1))
    return out


def _fractures(rng, bones, diff) -> list[LesionSpec]:
    side, part = rng.choice(["right", "left"]), rng.choice(["lateral", "posterior", "anterior"])
    k0, n = int(rng.integers(3, 8)), int(rng.integers(2, 4))
    out, col = [], None
    for k in range(k0, min(k0 + n, 11)):
        host = _named(bones, f"rib{k}_{side}_{part}")
        if host is None:
            continue
        spec = finding_spec(rng, bones, host, "fracture", False, rng.uniform(5, 8),
                     _excess(rng, 1.8, 4.0, diff), near_col=col, irregular=0.05)
        col = spec.col if col is None else col
        out.append(spec)
    return out


def _arthritis(rng, bones, diff) -> list[LesionSpec]:
    out = []
    for _ in range(1 if rng.random() < 0.75 else 2):
        part, side = rng.choice(["hand", "foot", "ankle"]), rng.choice(["right", "left"])
        host = _named(bones, f"{part}_{side}")
        if host is None:
            continue
        for _ in range(1 if rng.random() < 0.7 else 2):
            out.append(finding_spec(rng, bones, host, "arthritis", False, rng.uniform(6, 10),
                             _excess(rng, 1.5, 3.6, diff), irregular=0.05))
    return out


def _paget(rng, bones, diff) -> list[LesionSpec]:
    names = ["cranium", "ilium_right", "ilium_left", "femur_right_shaft", "femur_left_shaft",
             "tibia_right_shaft", "L3", "T10"]
    host = _named(bones, str(rng.choice(names)))
    if host is None:
        return []
    return [LesionSpec("paget", False, host, 0.0, 0.0, 0.0, _excess(rng, 1.5, 3.5, diff))]


def _costochondral(rng, bones, diff) -> list[LesionSpec]:
    """Manubrium / sternoclavicular uptake, or the medial ends of anterior ribs 1-6."""
    man = _named(bones, "manubrium")
    if man is None:
        return []
    if rng.random() < 0.35:
        return [finding_spec(rng, bones, man, "costochondral", False, rng.uniform(6, 10),
                      _excess(rng, 1.2, 3.0, diff), irregular=0.08)]
    mid = 0.5 * (bones[man].patch[1].start + bones[man].patch[1].stop)
    k, out = int(rng.integers(1, 7)), []
    for side in _sides(rng, 0.4):
        host = _named(bones, f"rib{k}_{side}_anterior")
        if host is not None:
            out.append(finding_spec(rng, bones, host, "costochondral", False, rng.uniform(5, 8),
                             _excess(rng, 1.2, 3.0, diff), near_col=mid, irregular=0.08))
    return out


def _arthroplasty(rng, bones, diff) -> list[LesionSpec]:
    """A hip or knee prosthesis: metal absorbs, so the joint is cold (contrast 0.1-0.3)."""
    side = str(rng.choice(["right", "left"]))
    name = f"femur_{side}_head" if rng.random() < 0.65 else f"femur_{side}_condyles"
    host = _named(bones, name)
    if host is None:
        return []
    return [finding_spec(rng, bones, host, "arthroplasty", False, rng.uniform(18, 24),
                  float(rng.uniform(0.1, 0.3)), irregular=0.02)]


_DRAW = {"degenerative": _degenerative, "fracture": _fractures, "arthritis": _arthritis,
         "paget": _paget, "costochondral": _costochondral, "arthroplasty": _arthroplasty}


def sample_benign(rng: np.random.Generator, bones: list[Structure], diff: Difficulty
                  ) -> list[LesionSpec]:
    """Draw the benign findings of one study (Poisson number of groups, real patterns)."""
    out: list[LesionSpec] = []
    for _ in range(int(rng.poisson(diff.benign_rate))):
        kind = str(rng.choice(BENIGN_KINDS, p=_P_KIND))
        out += _DRAW[kind](rng, bones, diff)
    return out
