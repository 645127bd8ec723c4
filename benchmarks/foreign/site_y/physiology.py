"""Normal 99mTc-MDP biodistribution outside bone, 2-4 h after injection.

About half of the injected MDP is bound to bone and most of the rest is excreted in urine
by then (Subramanian et al., J Nucl Med 1975; SNMMI procedure guideline for bone
scintigraphy v3.0, 2003): the kidneys are faintly to moderately visible, the bladder holds
concentrated urine, soft tissue keeps a low blood-pool/interstitial level, lungs are
photon-poor. Extravasation at the injection site and urine contamination are the common
extra-skeletal hot spots (guideline, "sources of error").
"""

from __future__ import annotations

import numpy as np

from .anatomy import MU_LUNG, MU_TISSUE, Body
from .geometry import Volume, ellipsoid, paint, rotation


def draw_organs(vol: Volume, body: Body, rng: np.random.Generator, tissue: float,
                kidney: float, superscan: bool) -> dict:
    """Lungs, heart, liver, kidneys and bladder; returns what was drawn (for the truth file)."""
    H = body.H
    for s in (-1, 1):
        rx, ry = body.trunk(0.26 * H)
        paint(vol, *ellipsoid(vol, (0.262 * H, 0.1 * ry, s * 0.45 * rx),
                              (0.065 * H, 0.62 * ry, 0.36 * rx)), act=0.25 * tissue, mu=MU_LUNG)
    paint(vol, *ellipsoid(vol, (0.285 * H, -0.018 * H, 0.015 * H), (0.030 * H, 0.028 * H, 0.032 * H)),
          act=1.6 * tissue, mu=MU_TISSUE)
    rx, ry = body.trunk(0.33 * H)
    paint(vol, *ellipsoid(vol, (0.325 * H, 0.0, -0.35 * rx), (0.045 * H, 0.6 * ry, 0.55 * rx)),
          act=1.15 * tissue, mu=MU_TISSUE)
    k_act = kidney * tissue * (0.25 if superscan else 1.0)
    for s in (-1, 1):
        c = (0.350 * H + s * 6, 0.45 * body.trunk(0.35 * H)[1], s * 0.037 * H)
        rot = rotation((0.0, 0.0, s * 0.25))
        paint(vol, *ellipsoid(vol, c, (0.031 * H, 0.015 * H, 0.018 * H), rot=rot), act=k_act)
    vol_ml = float(np.exp(rng.uniform(np.log(40), np.log(450))))
    r = (3 * vol_ml * 1000 / (4 * np.pi)) ** (1 / 3)
    conc = float(rng.lognormal(np.log(45), 0.5)) * tissue
    paint(vol, *ellipsoid(vol, (0.488 * H - 0.4 * r, -0.018 * H, 0.0), (r * 0.85, r * 0.9, r * 1.25)),
          act=conc, mu=MU_TISSUE)
    return {"kidney_uptake": round(k_act / tissue, 2), "bladder_ml": round(vol_ml),
            "bladder_uptake": round(conc / tissue, 1)}


def draw_extras(vol: Volume, body: Body, rng: np.random.Generator, arms: dict, tissue: float) -> list:
    """Injection-site activity (40 %; extravasation in some) and urine contamination (8 %)."""
    out = []
    if rng.random() < 0.4:
        side = int(rng.choice([-1, 1]))
        el, wr = arms[side]["elbow"], arms[side]["wrist"]
        p = el + (wr - el) * rng.uniform(0.05, 0.9)
        r = float(rng.uniform(4, 14))
        paint(vol, *ellipsoid(vol, p, (r, r * 0.7, r)), act=float(rng.lognormal(np.log(40), 0.7)) * tissue,
              add=True)
        out.append({"kind": "injection_site", "side": "right" if side < 0 else "left",
                    "zyx_mm": [round(float(v), 1) for v in p]})
    if rng.random() < 0.08:
        H, s = body.H, int(rng.choice([-1, 1]))
        p = np.array([rng.uniform(0.50, 0.62) * H, -0.03 * H, s * rng.uniform(0.02, 0.07) * H])
        paint(vol, *ellipsoid(vol, p, (8, 4, 8)), act=float(rng.uniform(20, 80)) * tissue, add=True)
        out.append({"kind": "urine_contamination", "zyx_mm": [round(float(v), 1) for v in p]})
    return out
