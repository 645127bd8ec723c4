"""One simulated study: phantom + physiology + findings -> physics -> counts and ground truth.

Random streams are separated so that a patient's anatomy and disease (``patient`` stream), a
study's positioning and physiology (``study`` stream) and the Poisson noise (``noise`` stream)
can vary independently: a follow-up study keeps the patient, and the same phantom can be
re-imaged with fresh noise (``noise_seed``) for physics tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.simulate import physics
from osteoscan.simulate._raster import Grid
from osteoscan.simulate.anatomy import Body, Structure, body_thickness, build_skeleton, sample_body
from osteoscan.simulate.groundtruth import annotations_for, bone_scan_index, region_map
from osteoscan.simulate.benign import sample_benign
from osteoscan.simulate.lesions import (PRIMARIES, Difficulty, LesionSpec, SimLesion,
                                        rasterise, sample_metastases)
from osteoscan.simulate.physiology import (SOFT_TISSUE_UPTAKE, SOFT_TISSUE_VIEW, balanced,
                                           breast_transmission, build_organs, sample_physiology,
                                           sample_uptake_balance)
from osteoscan.simulate.sites import SiteProfile, get_site
from osteoscan.types import Acquisition, BoneScan, StudyLabel, StudySource, ViewSource

VIEWS = ("anterior", "posterior")
DIFFICULTY_LEVELS: dict[str, float] = {"easy": 0.2, "default": 0.5, "hard": 0.8}
VISIBILITY_THRESHOLD = 0.12
"""A finding is visible on a view when it changes the unblurred counts inside its outline by at
least this fraction (attenuation and overlying activity make deep lesions fade on one view)."""
_LABELS = ("normal", "metastasis", "no_metastasis", "adenocarcinoma", "non_adenocarcinoma")


@dataclass(frozen=True, eq=False)
class SimulatedStudy:
    """A simulated whole-body bone scan with its complete ground truth.

    Attributes:
        scan: the two views in counts (posterior mirrored into anterior orientation).
        label: binary label ("normal"/"metastasis"), primary, lesion count, annotations, site.
        multiclass_label: "no_metastasis", "adenocarcinoma" or "non_adenocarcinoma".
        lesion_masks: per view, int32 instance ids (SimLesion.id), 0 = none.
        lesions: every finding drawn (visible on at least one view).
        region_maps: per view, uint8 region codes (osteoscan.skeleton.REGION_CODE).
        bone_mask: bool mask of bone pixels (same for both views in BoneScan orientation).
        bsi: ground-truth Bone Scan Index in percent (docs/simulator.md).
        patient_id: patient identifier.
        study_id: study identifier.
        site: site profile name.
        superscan: True for a diffuse metastatic superscan.
        difficulty: difficulty value in 0..1.
    """

    scan: BoneScan
    label: StudyLabel
    multiclass_label: str
    lesion_masks: dict[str, np.ndarray]
    lesions: tuple[SimLesion, ...]
    region_maps: dict[str, np.ndarray]
    bone_mask: np.ndarray
    bsi: float
    patient_id: str
    study_id: str
    site: str
    superscan: bool = False
    difficulty: float = 0.5


@dataclass(frozen=True)
class StudyPlan:
    """Everything that identifies one study to simulate."""

    patient_seed: int
    visit: int = 0
    site: str = "site_a"
    difficulty: float = 0.5
    force_label: str | None = None
    primary: str | None = None
    prevalence: float = 0.5
    noise_seed: int | None = None
    patient_id: str = ""
    study_id: str = ""
    uptake_balance: bool = False


@dataclass(frozen=True)
class _Case:
    metastatic: bool
    primary: str
    adeno: bool
    superscan: bool


@dataclass
class _Render:
    """Intermediate products, kept for tests (``expected`` = noiseless counts per view)."""

    study: SimulatedStudy
    expected: dict[str, np.ndarray] = field(default_factory=dict)
    expected_no_lesions: dict[str, np.ndarray] = field(default_factory=dict)


def difficulty_value(difficulty: str | float) -> float:
    """Turn a difficulty name ("easy", "default", "hard") or a number in 0..1 into a number."""
    if isinstance(difficulty, str):
        if difficulty in DIFFICULTY_LEVELS:
            return DIFFICULTY_LEVELS[difficulty]
        try:
            difficulty = float(difficulty)
        except ValueError:
            raise ConfigError(f"difficulty {difficulty!r}: use easy, default, hard "
                              "or a number between 0 and 1") from None
    if not 0.0 <= float(difficulty) <= 1.0:
        raise ConfigError(f"difficulty {difficulty}: must lie between 0 and 1")
    return float(difficulty)


def _draw_case(rng: np.random.Generator, plan: StudyPlan) -> _Case:
    """Patient-level disease: always draws the same numbers so streams stay aligned."""
    u_met, u_adeno, u_super = rng.random(3)
    prim = PRIMARIES[rng.choice(3, p=[0.35, 0.4, 0.25])]
    metastatic = bool(u_met < plan.prevalence)
    primary = plan.primary or str(prim)
    adeno = primary != "lung" or bool(u_adeno < 0.6)
    force = plan.force_label
    if force is not None:
        if force not in _LABELS:
            raise ConfigError(f"force_label {force!r}: use one of {', '.join(_LABELS)}")
        metastatic = force not in ("normal", "no_metastasis")
        if force in ("adenocarcinoma", "non_adenocarcinoma"):
            adeno = force == "adenocarcinoma"
            primary = "lung" if not adeno else primary
    if plan.primary is not None and plan.primary not in PRIMARIES:
        raise ConfigError(f"primary {plan.primary!r}: use one of {', '.join(PRIMARIES)}")
    superscan = metastatic and primary != "lung" and bool(u_super < 0.07)
    return _Case(metastatic, primary, adeno, superscan)


def _body(rp: np.random.Generator, rs: np.random.Generator, grid: Grid, visit: int,
          site: SiteProfile) -> Body:
    place = (site.y_top_mm, site.x_offset_sd_mm)
    body = sample_body(rp, grid, *place)
    if visit == 0:
        return body
    again = sample_body(rs, grid, *place)  # a new day on the table: new position, same patient
    return dataclasses.replace(body, x_offset=again.x_offset, tilt_deg=again.tilt_deg,
                               y_top=again.y_top, arms=again.arms)


def _findings(rp, rs, bones, case: _Case, diff: Difficulty, visit: int) -> list[LesionSpec]:
    mets = []
    if case.metastatic:
        mets = sample_metastases(rp, bones, case.primary, case.adeno, diff, case.superscan)
        if visit > 0:  # follow-up: some lesions respond, a few new ones
            mets = [dataclasses.replace(m, contrast=1 + (m.contrast - 1) * rs.uniform(0.6, 1.5))
                    for m in mets]
            mets += sample_metastases(rs, bones, case.primary, case.adeno, diff, False)[:2]
    return mets + sample_benign(rs, bones, diff)


def _base_layers(bones, organs, case: _Case, shape) -> np.ndarray:
    layers = physics.empty_layers(shape)
    axial = ("skull", "cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum", "ribs",
             "sternum", "pelvis", "scapulae")
    for st in bones:
        scale = (2.2 if st.region in axial else 1.5) if case.superscan else 1.0
        physics.deposit(layers, st, scale=scale)
    for st in organs:
        physics.deposit(layers, st)
    return layers


def _visible_views(delta, mask, host: Structure, box, thickness, base_att) -> tuple[str, ...]:
    rs, cs = box
    out = []
    for view in VIEWS:
        d = physics.view_distance(host.frac, thickness[rs, cs], view)
        added = float((delta * np.exp(-physics.MU_PER_MM * d))[mask].sum())
        base = float(base_att[view][rs, cs][mask].sum()) + 1e-6
        if abs(added) / base >= VISIBILITY_THRESHOLD:
            out.append(view)
    return tuple(out)


def _rngs(plan: StudyPlan) -> tuple[np.random.Generator, ...]:
    noise = plan.patient_seed if plan.noise_seed is None else plan.noise_seed
    return (np.random.default_rng([plan.patient_seed, 1]),
            np.random.default_rng([plan.patient_seed, 2, plan.visit]),
            np.random.default_rng([noise, 3, plan.visit, 7 if plan.noise_seed is None else 8]),
            np.random.default_rng([plan.patient_seed, 4, plan.visit]))


def _place_lesions(specs, bones, grid, thickness, base_att, layers, rows_in):
    """Rasterise findings, keep the visible ones (malignant first), add their activity."""
    order = sorted(range(len(specs)), key=lambda i: not specs[i].malignant)
    boxes, lesions = [], []
    for i in order:
        spec, host = specs[i], bones[specs[i].host]
        rs, cs, delta, mask = rasterise(spec, bones, grid.spacing)
        mask = mask & (np.arange(rs.start, rs.stop)[:, None] < rows_in)
        if not mask.any():
            continue
        views = _visible_views(delta, mask, host, (rs, cs), thickness, base_att)
        if not views:
            continue
        rr, cc = np.nonzero(mask)
        centre = ((cc.mean() + cs.start + 0.5) * grid.spacing, (rr.mean() + rs.start + 0.5)
                  * grid.spacing)
        radius = spec.radius_mm or float(np.sqrt(mask.sum() / np.pi) * grid.spacing)
        lesions.append(SimLesion(len(lesions) + 1, spec.kind, spec.malignant, host.region,
                                 host.name, (round(float(centre[0]), 2), round(float(centre[1]), 2)),
                                 round(radius, 2), round(spec.contrast, 3), views))
        boxes.append((rs, cs, mask))
        physics.deposit(layers, Structure(host.name, host.region, host.frac, 1.0, (rs, cs, delta)),
                        values=delta)
    return boxes, lesions


def _masks(boxes, lesions, shape) -> dict[str, np.ndarray]:
    masks = {v: np.zeros(shape, dtype=np.int32) for v in VIEWS}
    for (rs, cs, mask), les in sorted(zip(boxes, lesions), key=lambda p: p[1].malignant):
        for view in les.views:
            masks[view][rs, cs][mask] = les.id
    return masks


class _Camera:
    """Attenuation and blur of both views, computed inside the body box only (outside: 0)."""

    def __init__(self, thickness: np.ndarray, site: SiteProfile):
        self.box = physics.body_box(thickness)
        self.site, self.shape = site, thickness.shape
        self.thick = thickness[self.box]
        ant = physics.attenuation(self.thick, "anterior")
        self.trans = {"anterior": ant, "posterior": ant[::-1]}  # layers symmetric in depth
        self.pos = physics.bin_positions(self.thick)

    def _full(self, img: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.float32)
        out[self.box] = img
        return out

    def unblurred(self, layers: np.ndarray, view: str) -> np.ndarray:
        """Attenuated activity summed over depth, no blur (lesion visibility)."""
        return self._full((layers[(slice(None), *self.box)] * self.trans[view]).sum(0))

    def image(self, layers: np.ndarray, view: str, soft: np.ndarray) -> np.ndarray:
        """Expected image of the layers and of the soft tissue (attenuated, unblurred source)
        on one view: blurred, with scatter."""
        att = layers[(slice(None), *self.box)] * self.trans[view]
        extra = [(soft[self.box], physics.blur_sigma_px(self.site, physics.SOFT_TISSUE_DIST_MM))]
        return self._full(physics.scatter(physics.project_box(att, self.thick, view, self.site,
                                                              self.pos, extra), self.site))


def _acquire(site: SiteProfile, expected: dict, rs, rn, rows_in: int, box) -> dict:
    """Scale the expected images to the drawn count level and add Poisson noise (in the box)."""
    target = rs.uniform(*site.counts_range)
    k = target / float(expected["anterior"].sum())
    counts = {}
    for v in VIEWS:
        expected[v] = expected[v] * k
        expected[v][rows_in:] = 0
        counts[v] = np.zeros(expected[v].shape, dtype=np.float32)
        counts[v][box] = physics.to_counts(expected[v][box], rn)
    return counts


def _scan(site: SiteProfile, body: Body, counts: dict, plan: StudyPlan, rs) -> BoneScan:
    views = tuple(ViewSource(v, "caller", 1.0, "simulated by osteoscan.simulate", "<simulated>")
                  for v in VIEWS)
    seconds = body.scan_length / site.scan_speed_mm_min * 60.0
    acq = Acquisition(total_counts=tuple(float(counts[v].sum()) for v in VIEWS),
                      scan_length_mm=round(body.scan_length, 1), frame_duration_ms=round(seconds * 1e3),
                      scan_velocity_mm_s=round(site.scan_speed_mm_min / 60.0, 4),
                      radiopharmaceutical="Tc99m MDP", injected_mbq=round(rs.uniform(550, 900), 1))
    src = StudySource(files=(), format="simulated", vendor=site.manufacturer, model=site.model)
    return BoneScan(anterior=counts["anterior"], posterior=counts["posterior"],
                    spacing_mm=(site.spacing_mm, site.spacing_mm), patient_id=plan.patient_id,
                    study_id=plan.study_id, views=views, source=src, acquisition=acq,
                    posterior_mirrored=True,
                    meta={"site": site.name, "difficulty": plan.difficulty, "seed": plan.patient_seed,
                          "visit": plan.visit})


def render_plan(plan: StudyPlan, keep_expected: bool = False,
                profile: SiteProfile | None = None) -> _Render:
    """Simulate one study; with ``keep_expected`` also the noiseless images without lesions.

    ``expected`` holds the noiseless counts (scaled like the noisy ones) in every case.
    ``profile`` images the patient with this camera instead of ``plan.site``'s (the
    re-rendered variants of :mod:`osteoscan.simulate.variants`).
    """
    site = profile or get_site(plan.site)
    grid = Grid(site.shape[0], site.shape[1], site.spacing_mm)
    rp, rs, rn, rv = _rngs(plan)
    body = _body(rp, rs, grid, plan.visit, site)
    case = _draw_case(rp, plan)
    bones = build_skeleton(grid, body)
    if plan.uptake_balance:  # the patient's own balance, the same at every visit
        bones = balanced(bones, sample_uptake_balance(np.random.default_rng([plan.patient_seed,
                                                                             5])))
    thick = body_thickness(grid, body)
    female = {"breast": 1.0, "lung": 0.5}.get(case.primary, 0.0)
    phys = sample_physiology(rs, case.superscan, female)
    organs = build_organs(grid, body, phys, rs, rv)
    specs = _findings(rp, rs, bones, case, Difficulty(plan.difficulty), plan.visit)
    layers = _base_layers(bones, organs, case, site.shape)
    conc = SOFT_TISSUE_UPTAKE * phys.soft_tissue * (0.6 if case.superscan else 1.0)
    soft = {v: physics.soft_tissue_source(thick, conc * SOFT_TISSUE_VIEW[v]) for v in VIEWS}
    cam = _Camera(thick, site)
    base_att = {v: cam.unblurred(layers, v) + soft[v] for v in VIEWS}
    no_les = {v: cam.image(layers, v, soft[v]) for v in VIEWS} if keep_expected else {}
    rows_in = int(round(body.scan_length / grid.spacing))
    boxes, lesions = _place_lesions(specs, bones, grid, thick, base_att, layers, rows_in)
    expected = {v: cam.image(layers, v, soft[v]) for v in VIEWS}
    breast = breast_transmission(grid, body, phys)
    if breast is not None:  # applied after the blur: the breasts lie near the anterior detector
        expected["anterior"] *= breast
        if keep_expected:
            no_les["anterior"] *= breast
    counts = _acquire(site, expected, rs, rn, rows_in, cam.box)
    if keep_expected:
        scale = float(expected["anterior"].sum() / max(float(no_les["anterior"].sum()), 1e-9))
        no_les = {v: no_les[v] * scale for v in VIEWS}
    study = _assemble(plan, site, body, case, bones, boxes, lesions, counts, rows_in, rs)
    return _Render(study, expected, no_les)


def _assemble(plan, site, body, case, bones, boxes, lesions, counts, rows_in, rs):
    regions, bone = region_map(bones, site.shape)
    regions[rows_in:] = 0
    bone[rows_in:] = False
    masks = _masks(boxes, lesions, site.shape)
    malignant = [les.id for les in lesions if les.malignant]
    metastatic = bool(malignant)
    label = StudyLabel(label="metastasis" if metastatic else "normal", primary=case.primary,
                       lesion_count=len(malignant), annotations=annotations_for(boxes, lesions),
                       site=site.name)
    multi = ("no_metastasis" if not metastatic
             else "adenocarcinoma" if case.adeno else "non_adenocarcinoma")
    return SimulatedStudy(
        scan=_scan(site, body, counts, plan, rs), label=label, multiclass_label=multi,
        lesion_masks=masks, lesions=tuple(lesions),
        region_maps={"anterior": regions, "posterior": regions.copy()},
        bone_mask=bone, bsi=round(float(bone_scan_index(masks, malignant, regions)), 4),
        patient_id=plan.patient_id, study_id=plan.study_id, site=site.name,
        superscan=case.superscan and metastatic, difficulty=plan.difficulty)


def simulate_study(seed: int, *, site: str = "site_a", difficulty: str | float = "default",
                   force_label: str | None = None, primary: str | None = None,
                   noise_seed: int | None = None, uptake_balance: bool = False
                   ) -> SimulatedStudy:
    """Simulate one whole-body bone scan (anterior + posterior) with its ground truth.

    Args:
        seed: patient seed; the same arguments give the same study, bit for bit.
        site: site profile name (osteoscan.simulate.SITES).
        difficulty: "easy", "default", "hard" or a number in 0..1.
        force_label: "normal"/"metastasis" (or a multi-class name) instead of a random draw.
        primary: "prostate", "lung" or "breast" instead of a random draw.
        noise_seed: re-image the same phantom with other Poisson noise.
        uptake_balance: draw the patient's balance of normal uptake between the skeleton's
            parts (:func:`osteoscan.simulate.physiology.sample_uptake_balance`; the
            detector's training data); off, every region keeps the anatomy's uptake.

    Returns:
        The simulated study.

    Example:
        >>> s = simulate_study(3, force_label="metastasis")
        >>> s.label.label, s.scan.shape
        ('metastasis', (1024, 256))
    """
    plan = StudyPlan(patient_seed=int(seed), site=site, difficulty=difficulty_value(difficulty),
                 force_label=force_label, primary=primary, noise_seed=noise_seed,
                 patient_id=f"SIM{int(seed):06d}", study_id=f"SIM{int(seed):06d}-0",
                 uptake_balance=uptake_balance)
    return render_plan(plan).study
