"""Findings: metastases by primary tumour, photopenic lesions, superscans, benign confounders.

A finding is drawn as a :class:`LesionSpec` (what and where), then rasterised on its host bone:
its extra activity is ``(contrast - 1) x`` the host's own activity under a soft irregular
outline, so a lesion never leaves its bone and ``contrast`` is the activity ratio of lesion to
normal host bone (below 1 for photopenic lesions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteoscan.simulate.anatomy import Structure

PRIMARIES = ("prostate", "lung", "breast")

# metastatic site weights by primary (skeletal region -> relative frequency)
_MET_SITES: dict[str, dict[str, float]] = {
    "prostate": {"pelvis": 0.30, "lumbar_spine": 0.20, "thoracic_spine": 0.14, "sacrum": 0.10,
                 "ribs": 0.10, "femurs": 0.08, "humeri": 0.03, "skull": 0.02, "scapulae": 0.02,
                 "cervical_spine": 0.01},
    "lung": {"ribs": 0.32, "thoracic_spine": 0.22, "lumbar_spine": 0.10, "pelvis": 0.10,
             "scapulae": 0.05, "femurs": 0.06, "humeri": 0.05, "skull": 0.04, "sacrum": 0.03,
             "sternum": 0.02, "cervical_spine": 0.01},
    "breast": {"thoracic_spine": 0.20, "ribs": 0.20, "lumbar_spine": 0.14, "skull": 0.12,
               "pelvis": 0.12, "femurs": 0.07, "humeri": 0.04, "sternum": 0.05, "sacrum": 0.03,
               "scapulae": 0.02, "cervical_spine": 0.01},
}
_LONG_BONE_PARTS = ("_head", "_neck", "_trochanter", "_shaft")
_MAX_RADIUS = {"ribs": 13.0, "cervical_spine": 14.0, "sternum": 16.0, "clavicles": 12.0}
"""Thin bones: a metastasis spreads along them, not far beyond (mm)."""


@dataclass(frozen=True)
class SimLesion:
    """Ground truth of one finding.

    Attributes:
        id: instance id in the lesion masks (1, 2, ...).
        kind: "metastasis", "cold" (photopenic metastasis), "superscan" (diffuse metastatic
            focus of a superscan), or a benign kind: "degenerative", "fracture", "arthritis",
            "paget", "costochondral" or "arthroplasty" (photopenic prosthesis).
        malignant: True for metastases.
        region: skeletal region (osteoscan.skeleton.REGIONS).
        host: name of the bone structure it sits on (e.g. "T7", "rib5_left_posterior").
        centre_mm: (x, y) in mm from the image's top-left corner (x along columns, y along
            rows), BoneScan orientation.
        radius_mm: nominal radius (Paget: half the bone's length).
        contrast: activity ratio lesion / normal host bone (< 1: photopenic).
        views: the views on which the lesion is visible ("anterior", "posterior").
    """

    id: int
    kind: str
    malignant: bool
    region: str
    host: str
    centre_mm: tuple[float, float]
    radius_mm: float
    contrast: float
    views: tuple[str, ...]


@dataclass(frozen=True)
class LesionSpec:
    """A finding before rasterisation: host structure index, centre pixel, size, shape."""

    kind: str
    malignant: bool
    host: int
    row: float
    col: float
    radius_mm: float
    contrast: float
    shape: tuple[float, ...] = ()


@dataclass(frozen=True)
class Difficulty:
    """What a difficulty value in 0..1 does (docs/simulator.md, calibrated at 0.5).

    The default (0.5) is calibrated to /work/shared/REALISM.md: few, conspicuous metastases
    (median 4 boxes per metastatic study, display contrast about 4.5) and dimmer benign
    findings (about 3.2) in most studies of both classes. Easier levels make metastases
    brighter, larger and benign findings rarer and dimmer; harder levels the reverse.
    """

    value: float

    @property
    def excess_median(self) -> float:
        """Median lesion excess uptake (contrast - 1) of hot metastases."""
        return 6.2 * float(np.exp(-1.4 * (self.value - 0.5)))

    @property
    def benign_scale(self) -> float:
        """Multiplier of the benign findings' excess uptake (harder: brighter confounders)."""
        return 1.12 * float(np.exp(0.8 * (self.value - 0.5)))

    @property
    def size_scale(self) -> float:
        return 1.2 - 0.4 * self.value

    @property
    def p_oligo(self) -> float:
        """Probability that a metastatic patient has 1-2 lesions (REALISM.md: 45 % of
        metastatic studies show <= 3 malignant boxes at the default)."""
        return 0.42 + 0.4 * self.value

    @property
    def benign_rate(self) -> float:
        """Mean number of benign finding groups per study (both classes; REALISM.md: 77 % of
        real normals carry at least one benign hotspot)."""
        return 0.85 + 1.6 * self.value


def _pick_host(rng, bones: list[Structure], region: str) -> int:
    idx = [i for i, b in enumerate(bones) if b.region == region]
    if region in ("femurs", "humeri"):
        idx = [i for i in idx if any(p in bones[i].name for p in _LONG_BONE_PARTS)]
    w = np.array([float(bones[i].patch[2].sum()) for i in idx]) + 1e-6
    return int(idx[rng.choice(len(idx), p=w / w.sum())])


def _point_on(rng, st: Structure, near_col: float | None = None) -> tuple[float, float]:
    """A pixel (row, col) well inside a structure, random or nearest to a column."""
    rs, cs, th = st.patch
    rr, cc = np.nonzero(th >= 0.6 * th.max())
    if near_col is None:
        k = rng.integers(len(rr))
    else:
        k = int(np.argmin(np.abs(cc + cs.start - near_col) + rng.uniform(0, 0.5, len(cc))))
    return float(rr[k] + rs.start), float(cc[k] + cs.start)


def _shape(rng, irregular: float) -> tuple[float, ...]:
    """Outline parameters: elongation, angle, then amplitude/phase of 3 harmonics."""
    out = [rng.uniform(0.75, 1.3), rng.uniform(0, np.pi)]
    for _ in range(3):
        out += [rng.uniform(0, irregular), rng.uniform(0, 2 * np.pi)]
    return tuple(out)


def finding_spec(rng, bones, host, kind, malignant, radius, contrast, near_col=None,
                 irregular=0.15):
    """A finding on a host bone at a random point well inside it (or nearest a column)."""
    row, col = _point_on(rng, bones[host], near_col)
    return LesionSpec(kind, malignant, host, row, col, float(radius), float(contrast),
                      _shape(rng, irregular))


def _hot_contrast(rng, diff: Difficulty, scale: float = 1.0) -> float:
    excess = diff.excess_median * scale * float(rng.lognormal(0.0, 0.5))
    return float(np.clip(1.0 + excess, 1.3, 12.0))


def _met_count(rng, diff: Difficulty, adeno: bool) -> int:
    """1-2 (oligometastatic), 3-4, or 5 and more (geometric, mean 10) lesions.

    Calibrated so that boxes counted on both views follow REALISM.md at the default
    (45 % <= 3, 20 % 4-6, 35 % > 6; median 4).
    """
    p_oligo = min(diff.p_oligo + (0.0 if adeno else 0.15), 0.95)
    u = rng.random()
    if u < p_oligo:
        return 1 if rng.random() < 0.8 else 2
    if u < p_oligo + 0.05:
        return int(rng.integers(3, 5))
    return int(min(4 + rng.geometric(1.0 / (6.0 * (1.3 - 0.6 * diff.value))), 40))


def sample_metastases(rng: np.random.Generator, bones: list[Structure], primary: str,
                      adeno: bool, diff: Difficulty, superscan: bool) -> list[LesionSpec]:
    """Draw the metastases of a patient (count, sites, size and contrast by primary).

    Non-adenocarcinoma (lung) metastases are fewer, larger and more often photopenic, so the
    lung study's three classes differ in pattern, not only in presence.
    """
    weights = _MET_SITES[primary]
    regions, p = list(weights), np.array(list(weights.values()))
    p_cold = {"prostate": 0.04, "breast": 0.10, "lung": 0.12 if adeno else 0.35}[primary]
    n = int(rng.integers(25, 41)) if superscan else _met_count(rng, diff, adeno)
    out = []
    for i in range(n):
        region = regions[rng.choice(len(regions), p=p / p.sum())]
        host = _pick_host(rng, bones, region)
        radius = diff.size_scale * float(np.clip(rng.lognormal(np.log(16.0), 0.4), 6, 45))
        if superscan:
            contrast, radius = float(rng.uniform(1.4, 2.1)), radius * 1.4
        elif rng.random() < p_cold and i > 0:  # a photopenic metastasis never comes alone
            contrast = float(rng.uniform(0.2, 0.6))
        else:
            contrast = _hot_contrast(rng, diff)
        if not adeno:
            radius *= 1.2
        radius = min(radius, _MAX_RADIUS.get(region, radius))
        kind = "cold" if contrast < 1 else "metastasis"
        out.append(finding_spec(rng, bones, host, kind, True, radius, contrast, irregular=0.22))
    return out


def rasterise(spec: LesionSpec, bones: list[Structure], spacing: float
              ) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Extra activity and outline of a finding on its host bone.

    Returns:
        (rows slice, cols slice, activity delta, bool mask) over the host's box.
    """
    st = bones[spec.host]
    rs, cs, th = st.patch
    if spec.kind == "paget":
        return rs, cs, (spec.contrast - 1.0) * st.uptake * th, th > 0.5
    dy = (np.arange(rs.start, rs.stop)[:, None] - spec.row) * spacing
    dx = (np.arange(cs.start, cs.stop)[None, :] - spec.col) * spacing
    e, ang, *harm = spec.shape
    u = dx * np.cos(ang) + dy * np.sin(ang)
    v = -dx * np.sin(ang) + dy * np.cos(ang)
    rho = np.sqrt(u * u / e + v * v * e)
    theta = np.arctan2(v, u)
    rad = np.full_like(rho, spec.radius_mm)
    for k in range(3):
        rad = rad + spec.radius_mm * harm[2 * k] * np.cos((k + 1) * theta - harm[2 * k + 1])
    prof = 1.0 / (1.0 + np.exp(np.clip(8.0 * (rho / rad - 1.0), -50, 50)))
    delta = ((spec.contrast - 1.0) * st.uptake * th * prof).astype(np.float32)
    return rs, cs, delta, (prof > 0.5) & (th > 0.5)
