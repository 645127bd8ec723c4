"""A geometric whole-body skeleton phantom in mm, rasterised on a site's pixel grid.

Body coordinates: x in mm from the body midline (negative = patient's right, which is the
viewer's left in the anterior orientation), y in mm down from the vertex. Landmarks are
fractions of the body height H (anthropometric proportions); a tilt and a lateral offset move
the whole body on the table. Every bone is a :class:`Structure`: a projected-thickness patch,
its skeletal region (osteoscan.skeleton.REGIONS), its relative tracer uptake and its depth as
a fraction of the local body thickness (0 = anterior skin, 1 = posterior skin), which the
physics uses for attenuation and collimator blur.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteoscan.simulate._raster import Grid, Patch, ellipsoid, polygon, polyline


@dataclass(frozen=True)
class Body:
    """Patient and positioning parameters.

    Attributes:
        height: body height H in mm.
        build: width/thickness multiplier (1 = average).
        x_offset: lateral shift on the table in mm.
        y_top: vertex position below the first row in mm.
        tilt_deg: in-plane rotation about the pelvis.
        arms: "sides", "abdomen" or "apart" (hands beside the thighs, elbows out).
        scan_length: table travel in mm; rows below it are empty (feet may be cut).
    """

    height: float
    build: float
    x_offset: float
    y_top: float
    tilt_deg: float
    arms: str
    scan_length: float


@dataclass
class Structure:
    """One bone (or organ) drawn on the grid.

    Attributes:
        name: e.g. "T7", "rib4_left_posterior", "femur_right_shaft", "kidney_left".
        region: skeletal region name, or "" for soft-tissue organs.
        frac: depth as a fraction of body thickness from the anterior skin.
        uptake: tracer concentration relative to normal cortical bone.
        patch: (rows slice, cols slice, projected thickness in mm).
    """

    name: str
    region: str
    frac: float
    uptake: float
    patch: Patch


def sample_body(rng: np.random.Generator, grid: Grid, y_top_mm: tuple[float, float] = (15, 55),
                x_offset_sd: float = 8.0) -> Body:
    """Draw a patient: height, build, offset, tilt, arm position and scan length.

    ``y_top_mm`` and ``x_offset_sd`` are the site's placement habits (sites.SiteProfile).
    """
    height = float(rng.normal(1700, 95))
    y_top = float(rng.uniform(*y_top_mm))
    height = float(np.clip(height, 1450, min(1980, grid.rows * grid.spacing - y_top - 40)))
    full = height + y_top + rng.uniform(20, 60)
    short = rng.random() < 0.12  # the sweep stopped above the feet
    scan = y_top + height * rng.uniform(0.80, 0.93) if short else full
    return Body(
        height=height,
        build=float(np.clip(rng.normal(1.0, 0.13), 0.75, 1.4)),
        x_offset=float(rng.normal(0, x_offset_sd)),
        y_top=y_top,
        tilt_deg=float(np.clip(rng.normal(0, 1.8), -6.0, 6.0)),
        arms=str(rng.choice(["sides", "abdomen", "apart"], p=[0.65, 0.2, 0.15])),
        scan_length=float(min(scan, grid.rows * grid.spacing)),
    )


class _Frame:
    """Maps body coordinates (fractions of H where noted) to image mm, with tilt and offset."""

    def __init__(self, body: Body):
        self.h = body.height
        self.w = body.build
        self.t = np.deg2rad(body.tilt_deg)
        self.deg = body.tilt_deg
        self.dx, self.dy = body.x_offset, body.y_top

    def pts(self, pts) -> np.ndarray:
        """Transform (k, 2) points given as (x mm, y fraction of H)."""
        p = np.asarray(pts, dtype=float).reshape(-1, 2)
        x, y = p[:, 0], p[:, 1] * self.h - 0.5 * self.h
        xr = x * np.cos(self.t) - y * np.sin(self.t)
        yr = x * np.sin(self.t) + y * np.cos(self.t)
        return np.column_stack([xr + self.dx, yr + 0.5 * self.h + self.dy])


class AnatomyBuilder:
    """Collects structures; small helpers keep the anatomy below readable."""

    def __init__(self, grid: Grid, body: Body):
        self.grid, self.f = grid, _Frame(body)
        self.out: list[Structure] = []

    def add(self, name, region, frac, uptake, patch) -> None:
        if patch is not None:
            self.out.append(Structure(name, region, frac, uptake, patch))

    def tube(self, name, region, frac, uptake, pts, radius, depth=None) -> None:
        patch = polyline(self.grid, self.f.pts(pts), radius)
        if patch is not None and depth is not None:  # flattened tube: depth != radius
            patch = (patch[0], patch[1], patch[2] * (depth / float(np.max(radius))))
        self.add(name, region, frac, uptake, patch)

    def blob(self, name, region, frac, uptake, x, yf, a, b, depth, angle=0.0, shell=0.0) -> None:
        (cx, cy), = self.f.pts([(x, yf)])
        patch = ellipsoid(self.grid, cx, cy, a, b, depth, angle + self.f.deg, shell)
        self.add(name, region, frac, uptake, patch)

    def plate(self, name, region, frac, uptake, pts, thickness) -> None:
        self.add(name, region, frac, uptake, polygon(self.grid, self.f.pts(pts), thickness))


SIDES = ((-1, "right"), (1, "left"))


def _skull(b: AnatomyBuilder) -> None:
    k = b.f.h / 1750
    b.blob("cranium", "skull", 0.5, 1.0, 0, 100 * k / b.f.h, 74, 102 * k, 95, shell=7)
    b.blob("face", "skull", 0.15, 0.55, 0, 175 * k / b.f.h, 42, 30, 18)
    jaw = [(x, y * k / b.f.h) for x, y in
           [(-46, 170), (-43, 200), (-22, 222), (0, 228), (22, 222), (43, 200), (46, 170)]]
    b.tube("mandible", "skull", 0.3, 0.9, jaw, 5.5)


def _vertebra_y(h: float) -> dict[str, float]:
    """Centre of each vertebra as a fraction of H (C1..C7, T1..T12, L1..L5)."""
    ys = {f"C{i}": 0.112 + (i - 1) * 0.0088 for i in range(1, 8)}
    ys.update({f"T{i}": 0.175 + (i - 1) * 0.01455 for i in range(1, 13)})
    ys.update({f"L{i}": 0.352 + (i - 1) * 0.0215 for i in range(1, 6)})
    return ys


def vertebra_halfwidth(name: str) -> float:
    """Half-width of a vertebral body in mm (grows from C1 to L5)."""
    order = {"C": 0, "T": 7, "L": 19}[name[0]] + int(name[1:]) - 1
    return 11.0 + 16.0 * order / 23.0


def _spine(b: AnatomyBuilder) -> None:
    ys = _vertebra_y(b.f.h)
    step = {"C": 0.0088, "T": 0.01455, "L": 0.0215}
    for name, yf in ys.items():
        region = {"C": "cervical_spine", "T": "thoracic_spine", "L": "lumbar_spine"}[name[0]]
        hw, hh = vertebra_halfwidth(name), 0.34 * step[name[0]] * b.f.h
        frac = {"C": 0.62, "T": 0.78, "L": 0.64}[name[0]]
        depth = {"C": 12.0, "T": 17.0, "L": 20.0}[name[0]]
        r = 1.4 * hh  # rounded box: a short horizontal tube, nearly touching its neighbours
        b.tube(name, region, frac, 1.0, [(-hw + r, yf), (hw - r, yf)], r, depth=depth)
        for s, side in SIDES:  # pedicles and facet joints: posterior elements
            b.blob(f"{name}_facet_{side}", region, frac + 0.12, 0.9, s * 0.75 * hw, yf,
                   0.25 * hw + 2, 0.55 * hh + 2, 9)
    h = b.f.h
    b.plate("sacrum", "sacrum", 0.75, 0.9,
            [(-46, 0.447), (46, 0.447), (30, 0.49), (8, 0.515), (-8, 0.515), (-30, 0.49)], 26)
    b.tube("coccyx", "sacrum", 0.75, 0.6, [(0, 0.515), (0, 0.525)], 5)
    for s, side in SIDES:
        b.tube(f"si_joint_{side}", "sacrum", 0.72, 1.5,
               [(s * 47, 0.448), (s * 42, 0.47), (s * 33, 0.49)], 6.5 * h / 1750)


def _rib(b: AnatomyBuilder, k: int, s: int, side: str, yk: float) -> None:
    h, w = b.f.h, b.f.w
    lat = [55, 82, 102, 114, 122, 128, 131, 131, 128, 121, 104, 80][k - 1] * w * h / 1750
    xs = s * (vertebra_halfwidth(f"T{k}") + 5)
    d = lambda mm: mm / h  # noqa: E731  (mm offsets to fractions of H)
    yl = yk + d(42 + 2.5 * k)
    post = [(xs, yk), (s * 0.45 * lat, yk + d(10)), (s * 0.85 * lat, yk + d(27)), (s * lat, yl)]
    b.tube(f"rib{k}_{side}_posterior", "ribs", 0.85, 1.0, post, 5.0)
    if k >= 11:
        b.tube(f"rib{k}_{side}_lateral", "ribs", 0.6, 0.85,
               [(s * lat, yl), (s * 0.93 * lat, yl + d(30))], 4.5)
        return
    ya = yl + d(25)
    b.tube(f"rib{k}_{side}_lateral", "ribs", 0.5, 1.5,  # tangential path: long chord
           [(s * lat, yl), (s * 0.99 * lat, yl + d(12)), (s * 0.95 * lat, ya)], 4.8)
    yend = yk + d(40 + 8 * min(k, 7) + (12 * (k - 7) if k > 7 else 0))
    xend = s * (28 + 5 * k if k <= 7 else 60 + 14 * (k - 7)) * w
    ant = [(s * 0.95 * lat, ya), (s * 0.7 * lat, 0.5 * (ya + yend) + d(4)), (xend, yend)]
    b.tube(f"rib{k}_{side}_anterior", "ribs", 0.15, 0.9, ant, 4.6)


def _thorax(b: AnatomyBuilder) -> None:
    ys = _vertebra_y(b.f.h)
    for k in range(1, 13):
        for s, side in SIDES:
            _rib(b, k, s, side, ys[f"T{k}"])
    b.plate("manubrium", "sternum", 0.06, 1.0,
            [(-27, 0.188), (27, 0.188), (17, 0.215), (-17, 0.215)], 12)
    b.plate("sternum_body", "sternum", 0.06, 1.0,
            [(-16, 0.215), (16, 0.215), (15, 0.29), (0, 0.298), (-15, 0.29)], 11)
    for s, side in SIDES:
        cl = [(s * 16, 0.186), (s * 60, 0.181), (s * 115, 0.174), (s * 0.106 * b.f.h, 0.179)]
        b.tube(f"clavicle_{side}", "clavicles", 0.15, 0.95, cl, 6.5)
        hx = 0.1 * b.f.h * b.f.w ** 0.5
        sc = [(s * (hx - 8), 0.192), (s * 0.055 * b.f.h, 0.189), (s * 0.062 * b.f.h, 0.285),
              (s * (hx - 14), 0.225)]
        b.plate(f"scapula_{side}", "scapulae", 0.85, 0.8, sc, 7)
        b.tube(f"scapular_spine_{side}", "scapulae", 0.9, 0.9,  # brighter ridge and borders
               [(s * 0.056 * b.f.h, 0.205), (s * (hx - 4), 0.188)], 4.5)
        b.tube(f"scapular_border_{side}", "scapulae", 0.85, 0.8, [sc[2], sc[3]], 4.0)
        b.blob(f"glenoid_{side}", "scapulae", 0.6, 0.9, s * (hx - 8), 0.196, 8, 15, 10)
        b.blob(f"acromion_{side}", "scapulae", 0.6, 0.9, s * (hx + 4), 0.183, 14, 7, 8)


def _pelvis(b: AnatomyBuilder) -> None:
    for s, side in SIDES:
        w = b.f.w
        wing = [(s * 42, 0.447), (s * 58, 0.41), (s * 105 * w, 0.398), (s * 140 * w, 0.415),
                (s * 132 * w, 0.45), (s * 96, 0.48), (s * 60, 0.478)]
        b.plate(f"ilium_{side}", "pelvis", 0.6, 0.85, wing, 15)
        b.tube(f"iliac_crest_{side}", "pelvis", 0.55, 0.9,
               [(s * 58, 0.41), (s * 105 * w, 0.398), (s * 140 * w, 0.415)], 5.5)
        b.blob(f"acetabulum_{side}", "pelvis", 0.5, 1.0, s * 88, 0.488, 31, 31, 30, shell=7)
        b.tube(f"pubis_{side}", "pelvis", 0.25, 0.95,
               [(s * 78, 0.492), (s * 40, 0.497), (s * 8, 0.503)], 8)
        b.tube(f"ischium_{side}", "pelvis", 0.45, 0.9,
               [(s * 8, 0.512), (s * 42, 0.525), (s * 72, 0.52), (s * 86, 0.503)], 8.5)


def _legs(b: AnatomyBuilder, cut: float) -> None:
    h = b.f.h
    for s, side in SIDES:
        b.blob(f"femur_{side}_head", "femurs", 0.5, 1.1, s * 88, 0.488, 23, 23, 23)
        b.tube(f"femur_{side}_neck", "femurs", 0.5, 0.95,
               [(s * 88, 0.488), (s * 0.07 * h, 0.503)], 14)
        b.blob(f"femur_{side}_trochanter", "femurs", 0.55, 1.05, s * 0.07 * h, 0.507, 17, 22, 18)
        b.tube(f"femur_{side}_shaft", "femurs", 0.5, 0.75,
               [(s * 0.066 * h, 0.515), (s * 0.052 * h, 0.61), (s * 0.037 * h, 0.695)], [15, 13, 15])
        b.blob(f"femur_{side}_condyles", "femurs", 0.5, 1.0, s * 0.036 * h, 0.706, 38, 22, 22)
        b.blob(f"patella_{side}", "distal_limbs", 0.05, 1.0, s * 0.036 * h, 0.693, 21, 24, 10)
        b.blob(f"tibia_{side}_plateau", "distal_limbs", 0.45, 1.0, s * 0.036 * h, 0.728, 34, 14, 20)
        b.tube(f"tibia_{side}_shaft", "distal_limbs", 0.3, 0.75,
               [(s * 0.034 * h, 0.735), (s * 0.032 * h, 0.945)], [13, 10])
        b.tube(f"fibula_{side}", "distal_limbs", 0.6, 0.65,
               [(s * (0.034 * h + 30), 0.737), (s * (0.032 * h + 24), 0.95)], 5.5)
        b.blob(f"ankle_{side}", "distal_limbs", 0.5, 0.9, s * (0.032 * h + 6), 0.955, 26, 13, 14)
        b.blob(f"foot_{side}", "distal_limbs", 0.5, 0.75, s * (0.032 * h + 14), 0.978, 28, 26, 16)


def arm_points(b: AnatomyBuilder, s: int, arms: str) -> list[tuple[float, float]]:
    """Shoulder, elbow, wrist and hand centre as (x mm, y fraction)."""
    h, hx = b.f.h, 0.1 * b.f.h * b.f.w ** 0.5
    sh, el = (s * hx, 0.195), (s * (hx + 0.018 * h), 0.37)
    if arms == "abdomen":
        return [sh, (s * (hx + 0.012 * h), 0.36), (s * 0.06 * h, 0.405), (s * 0.015 * h, 0.415)]
    if arms == "apart":
        return [sh, (s * (hx + 0.03 * h), 0.365), (s * (hx + 0.045 * h), 0.47),
                (s * (hx + 0.048 * h), 0.51)]
    return [sh, el, (s * (hx + 0.028 * h), 0.475), (s * (hx + 0.03 * h), 0.515)]


def _arms(b: AnatomyBuilder, arms: str) -> None:
    for s, side in SIDES:
        sh, el, wr, hand = arm_points(b, s, arms)
        b.blob(f"humerus_{side}_head", "humeri", 0.5, 0.75, sh[0], sh[1], 22, 22, 15)
        b.tube(f"humerus_{side}_shaft", "humeri", 0.5, 0.75, [sh, el], [13, 11])
        b.blob(f"humerus_{side}_condyles", "humeri", 0.5, 0.8, el[0], el[1], 20, 12, 10)
        off = np.array([8.0, 0.0])
        for nm, sign in (("radius", -1), ("ulna", 1)):
            pts = [np.array(el) + sign * off * [1, 0], np.array(wr) + sign * off * [1, 0]]
            b.tube(f"{nm}_{side}", "distal_limbs", 0.5, 0.7, pts, 6)
        b.blob(f"hand_{side}", "distal_limbs", 0.5, 0.8, hand[0], hand[1], 24, 42, 12)


def build_skeleton(grid: Grid, body: Body) -> list[Structure]:
    """Rasterise every bone of a body on a grid.

    Args:
        grid: the pixel grid of one view.
        body: the patient.

    Returns:
        The bones, each with its projected-thickness patch.
    """
    b = AnatomyBuilder(grid, body)
    _skull(b)
    _spine(b)
    _thorax(b)
    _pelvis(b)
    _legs(b, body.scan_length)
    _arms(b, body.arms)
    return b.out


_TORSO = np.array([[0.17, 0.07, 0.10], [0.19, 0.105, 0.12], [0.25, 0.10, 0.125],
                   [0.33, 0.09, 0.12], [0.40, 0.09, 0.12], [0.47, 0.105, 0.12],
                   [0.53, 0.095, 0.10]])
"""Torso profile: (y, half-width, thickness) as fractions of H."""


def _torso(grid: Grid, f: _Frame) -> np.ndarray:
    """Elliptical torso cross-sections interpolated along the body axis (smooth outline)."""
    x, y = grid.coords(slice(0, grid.rows), slice(0, grid.cols))
    X, Y = x - f.dx, y - 0.5 * f.h - f.dy
    xb = X * np.cos(f.t) + Y * np.sin(f.t)
    yf = (-X * np.sin(f.t) + Y * np.cos(f.t) + 0.5 * f.h) / f.h
    hw = np.interp(yf, _TORSO[:, 0], _TORSO[:, 1], left=0, right=0) * f.h * f.w
    th = np.interp(yf, _TORSO[:, 0], _TORSO[:, 2], left=0, right=0) * f.h * f.w
    q = np.clip(1.0 - (xb / np.maximum(hw, 1e-3)) ** 2, 0.0, None)
    return (th * np.sqrt(q)).astype(np.float32)


def body_thickness(grid: Grid, body: Body) -> np.ndarray:
    """Antero-posterior body thickness T (mm) per pixel; 0 outside the body."""
    b = AnatomyBuilder(grid, body)
    h, w = body.height, body.build
    b.blob("head", "", 0.5, 0, 0, 105 / 1750, 80, 118 * h / 1750, 98)
    b.tube("neck", "", 0.5, 0, [(0, 0.14), (0, 0.18)], 52)
    for s, _ in SIDES:
        b.tube("leg", "", 0.5, 0, [(s * 0.05 * h, 0.50), (s * 0.037 * h, 0.70),
                                   (s * 0.034 * h, 0.95)], [78 * w, 55 * w, 36])
        b.blob("foot", "", 0.5, 0, s * (0.032 * h + 14), 0.975, 42, 40, 40)
        sh, el, wr, hand = arm_points(b, s, body.arms)
        b.tube("arm", "", 0.5, 0, [sh, el, wr], [48 * w, 40 * w, 28])
        b.blob("hand", "", 0.5, 0, hand[0], hand[1], 36, 55, 18)
    out = _torso(grid, b.f)
    for st in b.out:
        rs, cs, th = st.patch
        np.maximum(out[rs, cs], th, out=out[rs, cs])
    return out
