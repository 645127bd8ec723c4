"""Limbs, organs and the soft-tissue envelope of the 2.5-D patient.

Long bones are cortical tubes (``shell``) so their edges are brighter than their middle, as
on real scans; epiphyses and joints are solid and a little hotter (more trabecular bone
and remodelling). The soft tissue is a set of capsules whose union gives, per pixel, the
body thickness used for attenuation and for the faint soft-tissue background.
"""

from __future__ import annotations

import numpy as np

from .anatomy import Builder, pelvis, shoulder_girdle, skull, spine, thorax


def arms(B: Builder, gx: float, gy: float, tissue: list) -> dict:
    """Humeri, forearms and hands, arms down beside the body or crossed on the abdomen."""
    p, S, W = B.p, B.S, B.p.wide * B.S
    joints = {}
    for s in (-1, 1):
        head = (s * (gx + 1.0 * S), gy + 1.0 * S, 0.0)
        elbow = (s * (gx + 2.5 * S), B.Y(0.370), 0.0)
        if p.pose == "down":
            wrist = (s * (gx + 1.5 * S), B.Y(0.53), -1.0)
            tip = (s * (gx + 1.0 * S), B.Y(0.64), -1.0)
        else:
            zf = -float(B.b(0.43)) - 2.5
            elbow = (s * (gx + 0.5 * S), B.Y(0.365), -0.3 * B.b(0.36))
            wrist = (-s * 2.5 * S, B.Y(0.425), zf)
            tip = (-s * 10.0 * S, B.Y(0.44), zf)
        B.add("humerus", head, head, 2.3 * S, 0.55, "humeral_head")
        B.add("humerus", head, elbow, 1.2 * S, 0.9, "humerus", shell=0.55)
        B.add("humerus", elbow, elbow, 1.6 * S, 0.5, "elbow", k=0.5)
        for off, rr in ((-0.8, 0.75), (0.8, 0.65)):
            d = np.array(wrist) - np.array(elbow)
            n = np.array([-d[1], d[0], 0]) / (np.hypot(d[0], d[1]) + 1e-9) * off * S
            B.add("forearm", tuple(np.array(elbow) + n), tuple(np.array(wrist) + n), rr * S,
                  0.8, "forearm", shell=0.4)
        B.add("hand", wrist, wrist, 1.5 * S, 0.5, "carpus", k=0.5)
        B.add("hand", wrist, tip, 1.7 * S, 0.45, "hand", k=0.4, tmax=1.5)
        tissue += [(head, elbow, 4.4 * W), (elbow, wrist, 3.4 * W), (wrist, tip, 2.6 * S)]
        joints[s] = {"shoulder": head, "elbow": elbow, "wrist": wrist, "hand": tip}
    return joints


def legs(B: Builder, tissue: list) -> dict:
    """Femora (head, neck, trochanter, shaft), knees with patellae, tibiae, fibulae, feet."""
    p, S, W = B.p, B.S, B.p.wide * B.S
    joints = {}
    for s in (-1, 1):
        hx = 9.6 * W
        head = (s * hx, B.Y(0.522), -0.1 * B.b(0.52))
        gt = (s * (hx + 5.2 * S), B.Y(0.535), 0.0)
        knee = (s * 8.5 * S, B.Y(0.728), 0.0)
        ankle = (s * 8.0 * S, B.Y(0.955), 0.0)
        B.add("femur", head, head, 2.2 * S, 0.55, "femoral_head")
        B.add("femur", head, gt, 1.5 * S, 0.6, "femoral_neck")
        B.add("femur", gt, gt, 1.9 * S, 0.55, "greater_trochanter", k=0.7)
        B.add("femur", (s * (hx + 4 * S), B.Y(0.55), 0), knee, 1.4 * S, 0.9, "femoral_shaft",
              shell=0.5)
        for dx in (-2.0, 2.0):
            c = (knee[0] + dx * S, knee[1] + 0.5 * S, 0.5)
            B.add("femur", c, c, 2.0 * S, 0.55, "femoral_condyle", k=0.9)
        B.add("leg", (knee[0], knee[1] - 1.0 * S, -5.0 * S), (knee[0], knee[1] + 1.5 * S, -5.0 * S),
              1.8 * S, 0.6, "patella", k=0.5)
        plat = (knee[0], B.Y(0.745), 0.3)
        B.add("leg", (plat[0] - 2 * S, plat[1], 0.3), (plat[0] + 2 * S, plat[1], 0.3), 2.0 * S,
              0.5, "tibial_plateau", k=0.7)
        B.add("leg", plat, (ankle[0], ankle[1] - 1 * S, -0.5), 1.3 * S, 0.85, "tibial_shaft",
              shell=0.5)
        fib = (s * 2.8 * S, 0, 1.5)
        B.add("leg", (knee[0] + fib[0], B.Y(0.75), 1.5), (ankle[0] + fib[0], ankle[1], 1.5),
              0.6 * S, 0.7, "fibula")
        B.add("foot", ankle, ankle, 1.9 * S, 0.5, "ankle_tarsus", k=0.7)
        toe = (ankle[0] + s * 1.0 * S, B.Y(0.995), -3.0 * S)
        B.add("foot", (ankle[0], ankle[1] + 1.5 * S, 2.0), (ankle[0], ankle[1] + 2.0 * S, 3.5),
              1.7 * S, 0.55, "calcaneus", k=0.8)
        B.add("foot", (ankle[0], ankle[1] + 1.0 * S, -1.5), toe, 1.6 * S, 0.5, "forefoot",
              k=0.5, tmax=1.6)
        rt = 7.2 * W * (0.8 + 0.2 * p.thick)
        tissue += [((s * hx * 0.95, B.Y(0.54), 0), knee, rt),
                   (knee, (ankle[0], B.Y(0.86), 0), 5.3 * S), ((ankle[0], B.Y(0.86), 0), ankle,
                                                               3.8 * S),
                   (ankle, toe, 3.0 * S)]
        joints[s] = {"hip": head, "knee": knee, "ankle": ankle, "toe": toe, "plateau": plat}
    return joints


def organs(B: Builder, rng: np.random.Generator, superscan: bool) -> list[dict]:
    """Kidneys of varying visibility and a bladder of varying fill; both often visible."""
    S, out = B.S, []
    kv = 0.0 if superscan else float(np.clip(rng.lognormal(np.log(0.35), 0.6), 0.05, 1.5))
    yk = B.Y(0.345)
    for s in (-1, 1):
        z = 0.45 * B.b(0.35)
        c0 = (s * 5.0 * S, yk - 2.5 * S + s * 0.6, z)
        c1 = (s * 5.8 * S, yk + 3.0 * S + s * 0.6, z)
        B.add("kidney", c0, c1, 2.8 * S, kv * 0.9, "kidney", k=1.0)
        B.add("kidney", (s * 4.4 * S, yk + 0.5, z), (s * 4.4 * S, yk + 0.5, z), 1.2 * S, kv * 1.5,
              "renal_pelvis")
    out.append({"kind": "kidneys", "region": "abdomen", "intensity": round(kv, 3)})
    fill = float(rng.uniform(2.0, 6.0)) * S
    bi = float(rng.lognormal(np.log(1.6), 0.6)) * (0.4 if superscan else 1.0)
    yb = B.Y(0.525) - fill * 0.6
    B.add("bladder", (0, yb, -0.4 * B.b(0.5)), (0, yb, -0.4 * B.b(0.5)), fill, bi, "bladder",
          k=0.8)
    out.append({"kind": "bladder", "region": "pelvis", "intensity": round(bi, 3),
                "radius_cm": round(fill, 2)})
    return out


def build(B: Builder, rng: np.random.Generator, superscan: bool) -> dict:
    """The whole patient: skeleton, organs, soft-tissue capsules and joint positions."""
    skull(B)
    spine(B)
    pelvis(B)
    thorax(B)
    gx, gy = shoulder_girdle(B)
    tissue = [((0, 8.6 * B.S, 0), (0, 11.0 * B.S, 0), 8.0 * B.S),
              ((0, 18.0 * B.S, -1.5), (0, 25.5 * B.S, 0), 5.2 * B.S)]
    joints = {"arm": arms(B, gx, gy, tissue), "leg": legs(B, tissue)}
    phys = organs(B, rng, superscan)
    return {"tissue": tissue, "joints": joints, "physiology": phys, "glenoid": (gx, gy)}
