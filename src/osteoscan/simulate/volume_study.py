"""One simulated SPECT/CT study of the trunk: CT, SPECT, lesion masks and their truth.

Public API (docs/volumes.md)::

    from osteoscan.simulate.volume_study import simulate_study
    s = simulate_study(7, profile="profile_3", shape=(96, 128, 128))
    s.ct.array      # (z, y, x) HU, float32        s.spect.array  # counts, on the CT grid
    s.semantic      # uint8 0 background, 1 benign, 2 metastatic
    s.instances     # int32 0 background, lesion id 1..n
    s.lesions       # [{"id", "kind", "malignant", "centre_mm", "volume_ml", "part", ...}]

The patient (build, primary, lesions) depends on ``seed`` only and the acquisition (scanner,
noise, resolution) on ``profile``, so the same patient can be "scanned" at several sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.io.resample import resample_to
from osteoscan.io.volume import Volume, VolumeSource, zyx
from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate import volume_lesions as vl
from osteoscan.simulate import volume_render as vr
from osteoscan.simulate.dicom_nm import uid
from osteoscan.simulate.volume_anatomy import Body, draw_anatomy
from osteoscan.simulate.volume_profiles import VolumeProfile, get_volume_profile

SEMANTIC_LABELS = ("background", "benign", "metastatic")
"""Class index -> name of ``SimStudy.semantic``."""

DEFAULT_SHAPE = (96, 128, 128)
BENCHMARK_SHAPE = (300, 512, 512)
MAX_VOXELS = 2e8
"""Largest CT grid drawn (about 30 bytes a voxel at the peak, measured: 6 GB)."""
REFERENCE_VOXEL_MM3 = 5.0
"""The voxel (1 x 1 x 5 mm) at which a profile's ``ct_noise_hu`` holds when the study is
drawn on a given spacing (noise SD scales with 1 / sqrt(voxel volume))."""
_PRIMARY_P = (0.3, 0.35, 0.35)  # none, lung, other


@dataclass(frozen=True)
class SimStudy:
    """A simulated SPECT/CT study and its ground truth.

    Attributes:
        ct: the CT (HU).
        spect: the SPECT on the CT grid (counts per SPECT voxel, linearly interpolated).
        spect_native: the SPECT on the camera's own grid (what a scanner would store).
        semantic: (z, y, x) uint8 on the CT grid: 0 background, 1 benign, 2 metastatic.
        instances: (z, y, x) int32 on the CT grid: 0 background, else the lesion's id.
        lesions: one dict per lesion: id, kind, malignant, centre_mm ((z, y, x) LPS, like
            ``ct.position``),
            volume_ml, voxels, part (the bone).
        primary: "lung", "other" or None (no metastases).
        profile: the site profile's name.
        seed: the patient seed.
        patient_id: PatientID written to DICOM.
        tumour: the lung primary when visible on the CT (centre_mm, radius_mm), else None.
    """

    ct: Volume
    spect: Volume
    spect_native: Volume
    semantic: np.ndarray
    instances: np.ndarray
    lesions: list[dict]
    primary: str | None
    profile: str
    seed: int
    patient_id: str
    tumour: dict | None = field(default=None)

    @property
    def metastatic(self) -> bool:
        """Whether the study holds at least one metastasis."""
        return any(les["malignant"] for les in self.lesions)


def _check(shape, primary) -> tuple[int, int, int]:
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 16 or np.prod(shape, dtype=float) > MAX_VOXELS:
        raise ConfigError(f"shape {shape}: three sides of at least 16 voxels, at most "
                          f"{MAX_VOXELS:.0e} voxels")
    if primary not in ("auto", None, *vl.PRIMARIES):
        raise ConfigError(f"primary {primary!r}: choose 'auto', 'lung', 'other' or None")
    return shape  # type: ignore[return-value]


def ct_spacing(spacing, prof: VolumeProfile) -> tuple[float, float, float] | None:
    """The CT voxel (z, y, x) mm a study is drawn on: None (the grid follows ``shape``),
    ``"profile"`` (the site's slice thickness and pixel), or (slice, pixel) / (z, y, x) mm.

    Raises:
        ConfigError: not one of those, or a side outside 0.5-12 mm.
    """
    if spacing is None:
        return None
    if isinstance(spacing, str):
        if spacing != "profile":
            raise ConfigError(f"CT spacing {spacing!r}: 'profile' or (slice, pixel) mm")
        spacing = (prof.ct_slice_mm, prof.ct_pixel_mm)
    mm = tuple(float(v) for v in spacing)
    mm = (mm[0], mm[1], mm[1]) if len(mm) == 2 else mm
    if len(mm) != 3 or not all(0.5 <= v <= 12.0 for v in mm):
        raise ConfigError(f"CT spacing {spacing}: (slice, pixel) or (z, y, x) mm, each 0.5-12")
    return mm  # type: ignore[return-value]


def _kinds(kinds) -> list[str]:
    bad = [k for k in kinds if k not in vl.KINDS]
    if bad:
        raise ConfigError(f"lesion kinds {bad}: choose from {', '.join(vl.KINDS)}")
    return list(kinds)


def _canvas(shape, prof: VolumeProfile, rng, spacing=None) -> tuple[vc.Canvas, Body]:
    """The empty grid and the patient's build: ``spacing`` None divides the scan length and
    the field of view into ``shape`` voxels (the default, coarse); else the grid has that
    voxel and as many voxels as the scan length and field of view need."""
    length = float(rng.uniform(*prof.length_mm))
    if spacing is None:
        sz, sy = length / shape[0], prof.fov_mm / shape[2]
        mm = (sz, sy, sy)
    else:
        mm = spacing
        shape = _check((round(length / mm[0]), round(prof.fov_mm / mm[1]),
                        round(prof.fov_mm / mm[2])), None)
    origin = (-(shape[2] - 1) / 2 * mm[2], -(shape[1] - 1) / 2 * mm[1], mm[0] / 2)
    return vc.Canvas.empty(shape, mm, origin), Body.draw(rng, length)


def _lesions(cv, anat, kinds, primary, hu, uptake, rng, prof):
    instances = np.zeros(cv.labels.shape, np.int32)
    semantic = np.zeros(cv.labels.shape, np.uint8)
    voxel_ml = float(np.prod(cv.spacing)) / 1000.0
    found = []
    for kind in kinds:
        got = vl.place(cv, anat, kind, primary, instances, rng)
        if got is None:
            continue
        sl, mask, centre, depth = got
        vl.apply(kind, hu[sl], uptake[sl], mask, depth, rng, prof.contrast, primary, cv.spacing)
        lid = len(found) + 1
        instances[sl][mask] = lid
        semantic[sl][mask] = 2 if kind in vl.MALIGNANT_KINDS else 1
        n = int(mask.sum())
        found.append({"id": lid, "kind": kind, "malignant": kind in vl.MALIGNANT_KINDS,
                      "centre_mm": [float(c) for c in centre], "volume_ml": n * voxel_ml,
                      "voxels": n, "part": _part(cv.parts[sl][mask])})
    return semantic, instances, found


def _part(parts: np.ndarray) -> str:
    """The bone most of a lesion lies in (an osteophyte grows beside its vertebral body)."""
    counts = np.bincount(parts, minlength=len(vc.PARTS))
    counts[0] = 0
    return vc.PARTS[int(counts.argmax())] if counts.any() else "vertebral body"


def _tumour(cv, anat, hu, uptake, rng) -> dict | None:
    """A lung primary in one lung, soft-tissue dense (seen on 60 % of lung-primary CTs)."""
    if rng.random() > 0.6:
        return None
    centre = vl.place_soft(cv, vc.LUNG, rng)
    if centre is None:
        return None
    r = float(rng.uniform(10, 25))
    got = cv.box(centre - r, centre + r)
    sl, z, y, x = got
    mask = ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= r * r) \
        & (cv.labels[sl] == vc.LUNG)
    hu[sl][mask], uptake[sl][mask] = 35.0, 0.08
    return {"centre_mm": [float(c) for c in centre], "radius_mm": r}


def _phantom(seed: int, profile, shape, primary, spacing=None):
    """The patient's anatomy (profile, random stream after it, primary, canvas, anatomy): the
    first, shared step of :func:`simulate_study` and :func:`skeletal_parts`."""
    shape = _check(shape, primary)
    prof = get_volume_profile(profile)
    rng = np.random.default_rng([int(seed), 3037])
    if primary == "auto":
        primary = (None, "lung", "other")[int(rng.choice(3, p=_PRIMARY_P))]
    cv, body = _canvas(shape, prof, rng, ct_spacing(spacing, prof))
    anat = draw_anatomy(cv, body, rng)
    return prof, rng, primary, cv, anat


def skeletal_parts(seed: int, profile: str | int = "profile_0", shape=DEFAULT_SHAPE, *,
                   primary: str | None = "auto", spacing=None) -> np.ndarray:
    """The bone map (uint8 index into ``volume_canvas.PARTS``, 0 = no bone) on the CT grid of
    the study ``simulate_study(seed, profile, shape, primary=primary, spacing=spacing)`` draws, without
    placing lesions or scanning it: which bone a predicted instance lies in (docs/seg3d.md,
    the false-positive analysis). A cohort's patient seed is ``truth.json``'s ``seed``.
    """
    return _phantom(seed, profile, shape, primary, spacing)[3].parts.copy()


def simulate_study(seed: int, profile: str | int = "profile_0", shape=DEFAULT_SHAPE, *,
                   primary: str | None = "auto", n_metastases: int | None = None,
                   n_benign: int | None = None, kinds=None,
                   patient_id: str | None = None, spacing=None) -> SimStudy:
    """Simulate one SPECT/CT study of the trunk.

    Args:
        seed: the patient seed (anatomy, primary, lesions).
        profile: the site profile, ``profile_<seed>`` (or its int seed).
        shape: CT grid (z, y, x); the field of view stays the profile's, so more voxels mean
            finer voxels (96x128x128: about 3.5 x 3.5 x 5.8 mm; 300x512x512: about 0.9 x 0.9
            x 1.9 mm, :data:`BENCHMARK_SHAPE`).
        primary: "lung", "other", None (no metastases) or "auto" (30 % none, 35 % each).
        n_metastases, n_benign: lesion counts (default: drawn; fewer may fit).
        kinds: the lesion kinds to place, in order (overrides the counts), e.g.
            ``["osteoblastic", "fracture"]``; see ``volume_lesions.KINDS``.
        patient_id: PatientID (default ``SIM3D-<seed>``).
        spacing: the CT voxel instead of ``shape`` (which is then ignored): ``"profile"``
            draws the site's slice thickness (1.25-5 mm) and pixel (field of view / 512 or
            256), or give (slice, pixel) or (z, y, x) mm. The CT noise is then the profile's
            ``ct_noise_hu`` at a 1 x 1 x 5 mm voxel, scaled by the square root of the voxel
            volume (thinner slices are noisier, as on a scanner); with ``shape`` it is
            ``ct_noise_hu`` per voxel whatever the voxel (the earlier runs' cohorts).
            The patient's build, primary and lesion kinds do not depend on the grid; where
            a lesion lands does. docs/volumes.md, "CT sampling".

    Returns:
        The study.

    Raises:
        ConfigError: bad shape, primary or profile.
    """
    prof, rng, primary, cv, anat = _phantom(seed, profile, shape, primary, spacing)
    hu = vr.tissue_values(vr.hu_table(rng, prof), cv)
    uptake = vr.tissue_values(vr.uptake_table(rng), cv)
    kinds = vl.draw_kinds(rng, primary, n_metastases, n_benign) if kinds is None else \
        _kinds(kinds)
    semantic, instances, lesions = _lesions(cv, anat, kinds, primary, hu, uptake, rng, prof)
    tumour = _tumour(cv, anat, hu, uptake, rng) if primary == "lung" else None
    return _acquire(seed, prof, cv, hu, uptake, primary, semantic, instances, lesions, tumour,
                    patient_id or f"SIM3D-{int(seed)}", _noise_hu(prof, cv, spacing))


def _noise_hu(prof: VolumeProfile, cv: vc.Canvas, spacing) -> float:
    """CT noise SD per voxel: the profile's on a ``shape`` grid (as before); with a spacing,
    the profile's at :data:`REFERENCE_VOXEL_MM3` scaled by 1 / sqrt(voxel volume)."""
    if spacing is None:
        return prof.ct_noise_hu
    return prof.ct_noise_hu * float(np.sqrt(REFERENCE_VOXEL_MM3 / np.prod(cv.spacing)))


def _acquire(seed, prof, cv, hu, uptake, primary, semantic, instances, lesions, tumour,
             patient_id, noise_hu) -> SimStudy:
    """Scan the phantom at the profile's site (its own random stream)."""
    rng = np.random.default_rng([int(seed), int(prof.name.split("_")[-1]), 3041])
    table = np.array([rng.normal(0, 8), rng.normal(0, 8), -rng.uniform(500, 900)])  # x, y, z
    origin = tuple(zyx(np.asarray(cv.origin) + table))
    for item in [*lesions, *([tumour] if tumour else [])]:  # drawn in (x, y, z); ours (z, y, x)
        item["centre_mm"] = [float(c) for c in zyx(np.asarray(item["centre_mm"]) + table)]
    for_uid = uid("sim3d", seed, prof.name, "for")
    src = VolumeSource(kind="simulated")
    raw_hu = Volume(hu, cv.spacing, origin, np.eye(3), "CT", for_uid, src)
    conc = raw_hu.with_array(uptake * np.float32(prof.counts_per_ml), modality="NM")
    shift = rng.normal(0, prof.misregistration_mm, 3) if prof.misregistration_mm else (0, 0, 0)
    native = vr.spect_image(conc, raw_hu, prof, rng, shift)
    ct = raw_hu.with_array(vr.ct_image(hu, cv.labels, prof, rng, noise_hu, spacing=cv.spacing))
    return SimStudy(ct=ct, spect=resample_to(native, ct), spect_native=native,
                    semantic=semantic, instances=instances, lesions=lesions, primary=primary,
                    profile=prof.name, seed=int(seed), patient_id=patient_id, tumour=tumour)
