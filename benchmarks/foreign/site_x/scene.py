"""Project a site_x body onto the two-view canvas, with its normal physiology.

Physiology (99mTc-MDP at 2-4 h; SNMMI procedure guideline for bone scintigraphy 3.0 and
the normal-variant literature): soft tissue of uniform low concentration, self-attenuated
along each ray; kidneys (posterior, of varying visibility, faint in a superscan); bladder
(anterior pelvis, the hottest structure, variable fill); an injection site on one arm in
some studies; urine contamination near the groin in a few; breast tissue attenuating the
anterior chest in women.
"""

from __future__ import annotations

import numpy as np

from benchmarks.foreign.site_x.anatomy import Body, Prim
from benchmarks.foreign.site_x.render import (
    MU_PER_CM,
    Canvas,
    Placement,
    capsule,
    ellipsoid,
    plate,
)


def project(prim: Prim, place: Placement, shape) -> tuple | None:
    """Render one primitive (mm) into pixel space; path and activity in CENTIMETRES."""
    a, p = prim.args, place.pixel_mm
    if prim.kind == "tube":
        pts = place.to_px(np.array([a["p0"], a["p1"]]))
        out = capsule(shape, pts[0], pts[1], a["r0"] / p, a["r1"] / p, a["cortex"] / p,
                      a.get("u_cort", 1.0), a.get("u_trab", 1.5), a.get("end_boost", 0.0),
                      a.get("end_len", 1.0) / p)
    elif prim.kind == "ellipsoid":
        c = place.to_px(np.array([a["c"]]))[0]
        out = ellipsoid(shape, c, a["a"] / p, a["b"] / p, a["angle"] + place.angle_deg,
                        a["half_depth"] / p, a["u_core"], a.get("shell", 0.0) / p,
                        a.get("u_shell", 0.0))
    elif prim.kind == "plate":
        out = plate(shape, place.to_px(a["pts"]), a["thickness"] / p, a["uptake"],
                    a.get("rim", 0.0) / p, a.get("rim_boost", 0.0))
    else:
        out = trunk_chord(prim, place, shape)
    if out is None:
        return None
    sl, act, path = out
    return sl, act * (p / 10.0), path * (p / 10.0)


def trunk_chord(prim: Prim, place: Placement, shape) -> tuple | None:
    """Chord (px) through the trunk, an elliptic cylinder whose width follows the rows."""
    rows = prim.args["rows"]
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    x, z = from_px(place, cc, rr)
    hw = np.interp(z, rows[:, 0], rows[:, 1], left=0.0, right=0.0)
    inside = (z >= rows[0, 0]) & (z <= rows[-1, 0]) & (np.abs(x) < hw)
    q = np.where(inside, 1.0 - (x / np.maximum(hw, 1e-6)) ** 2, 0.0)
    chord = 2.0 * prim.args["half_depth"] * np.sqrt(np.clip(q, 0, None)) / place.pixel_mm
    return (slice(0, shape[0]), slice(0, shape[1])), chord, chord


def from_px(place: Placement, col: np.ndarray, row: np.ndarray):
    """Pixel index coordinates -> body mm (x, z): the inverse of ``Placement.to_px``."""
    p, t = place.pixel_mm, np.deg2rad(place.angle_deg)
    xr = (col + 0.5) * p - place.cols * p / 2 - place.shift_mm
    zr = (row + 0.5) * p - place.vertex_mm - place.pivot_z_mm
    x = xr * np.cos(t) + zr * np.sin(t)
    z = -xr * np.sin(t) + zr * np.cos(t) + place.pivot_z_mm
    return x, z


def render_body(body: Body, place: Placement, axial_boost: float = 1.0) -> Canvas:
    """Bones (axial ones scaled by ``axial_boost``, a superscan) and soft tissue."""
    canvas = Canvas(place)
    axial = {"skull", "cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum", "ribs",
             "sternum", "pelvis", "scapula", "clavicle"}
    for prim in body.bones:
        patch = project(prim, place, canvas.shape)
        if patch is not None and prim.region in axial and axial_boost != 1.0:
            patch = (patch[0], patch[1] * axial_boost, patch[2])
        canvas.add(patch, prim.depth, prim.thick_cm)
    for prim in body.soft:
        patch = project(prim, place, canvas.shape)
        if patch is not None:
            canvas.soft[patch[0]] += patch[2] * prim.args.get("u_core", 1.0)
    return canvas


def add_organ(canvas: Canvas, body: Body, c, a, b, angle, half_depth, uptake, depth,
              thick) -> None:
    """A soft-tissue organ (ellipsoid, mm) of given concentration; not bone."""
    prim = Prim("ellipsoid", "organ", depth, thick,
                {"c": c, "a": a, "b": b, "angle": angle, "half_depth": half_depth,
                 "u_core": uptake})
    canvas.add(project(prim, canvas.place, canvas.shape), depth, thick, bone=False)


def add_physiology(canvas: Canvas, body: Body, rng: np.random.Generator, phys: dict) -> None:
    """Kidneys, bladder, injection site, contamination, breasts (``phys`` holds the draws)."""
    h, t = body.height, body.trunk_cm
    for s in (-1, 1):
        c = (s * 0.055 * h, body.marks["v_L1"][1] - 0.004 * h)
        add_organ(canvas, body, c, 27.0, 55.0, -s * 15.0, 18.0, phys["kidney"], 0.8, t)
        add_organ(canvas, body, (c[0] - s * 10, c[1] + 8), 10.0, 14.0, 0.0, 10.0,
                  phys["kidney"] * phys["pelvis_ratio"], 0.78, t)
    bl = phys["bladder_size"]
    add_organ(canvas, body, (0.0, 0.487 * h - 0.3 * bl), 1.2 * bl, bl, 0.0, bl,
              phys["bladder"], 0.3, t)
    if phys["injection"]:
        s = phys["injection_side"]
        where = body.marks[f"{phys['injection']}_{s}"] + rng.normal(0, 6, 2)
        add_organ(canvas, body, tuple(where), phys["inj_size"], phys["inj_size"] * 1.6,
                  rng.uniform(0, 180), 5.0, phys["inj_uptake"], 0.1, 7.0)
    if phys["contamination"]:
        spot = body.marks[f"hip_{phys['injection_side']}"] + [rng.uniform(-40, 40),
                                                            rng.uniform(30, 120)]
        add_organ(canvas, body, tuple(spot), rng.uniform(4, 9), rng.uniform(4, 14),
                  rng.uniform(0, 180), 2.0, phys["cont_uptake"], 0.0, 16.0 * body.habitus)
    if body.sex == "F":
        add_breasts(canvas, body, phys["breast"])


def add_breasts(canvas: Canvas, body: Body, size: float) -> None:
    """Breast tissue: more soft tissue, and anterior attenuation of everything behind it."""
    place, h = canvas.place, body.height
    for s in (-1, 1):
        prim = Prim("ellipsoid", "soft", 0.0, 0.0,
                    {"c": (s * 0.055 * h, 0.27 * h), "a": size, "b": 0.8 * size,
                     "angle": 0.0, "half_depth": 0.6 * size, "u_core": 1.0})
        patch = project(prim, place, canvas.shape)
        if patch is None:
            continue
        sl, _, chord_cm = patch
        canvas.soft[sl] += chord_cm
        canvas.layers[0, :, sl[0], sl[1]] *= np.exp(-MU_PER_CM * chord_cm / 2)[None]
