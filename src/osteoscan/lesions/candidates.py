"""Hotspot candidates at native resolution, one per lesion (torch-free).

Every view is handled on its own pixel grid (no resampling), in four steps:

1. **Normal-bone level.** The counts are smoothed with a Gaussian of ``SMOOTH_MM``; the body
   is :func:`osteoscan.preprocessing.views.body_mask`; bone is the body above the Otsu
   threshold of its log counts (soft tissue below, bone above); the normal-bone level ``L``
   is the median of the bone pixels. ``z = smoothed / L`` is then "times the patient's own
   normal bone", the same at 0.3 M or 1.5 M counts and on any camera.
2. **Local bone background.** ``bg`` = Gaussian-weighted mean of ``z`` over bone pixels only
   (normalised convolution, ``BACKGROUND_MM``), so a lesion on a vertebra is compared with the
   vertebrae around it, not with the soft tissue beside the spine. ``ratio = z / bg``.
3. **Seeds.** Local maxima of ``z`` (``skimage.feature.peak_local_max``, at least
   ``SEED_MM`` apart) on bone whose ratio reaches ``min_ratio`` and whose excess over the
   local background is significant: :func:`seed_score` (the excess in units of its Poisson
   noise, from the counts behind ``z``; for a study with more counts than
   ``REFERENCE_DENSITY``, the noise it would have there, so that the set does not change
   with the count level) at least ``MIN_SIGNIFICANCE``. Only when more than
   ``MAX_CANDIDATES`` pass (a safety cap, not reached on simulated studies), those of
   highest score. A fixed number of candidates per view (150, before) was always filled by
   noise peaks, whose number and shape changed with the count level (docs/robustness.md).
4. **One hotspot per seed.** ``skimage.segmentation.watershed`` of ``-z`` from the seeds, each
   basin cut at half its peak's height above the local background (half maximum) and at
   ``MAX_RADIUS_MM`` from its seed. Two
   adjacent lesions keep two seeds, hence two hotspots; a thin bright outline (the skull's
   calvarium) is cut into short pieces at half maximum instead of one ring-shaped hotspot.

Malignancy is decided later (:mod:`osteoscan.lesions.context`, :mod:`osteoscan.lesions.patient`);
a candidate is only "brighter than the bone around it".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.filters import threshold_otsu
from skimage.segmentation import watershed

from osteoscan.lesions.shapes import shape_stats
from osteoscan.preprocessing.augment import thin_counts
from osteoscan.preprocessing.intensity import smooth
from osteoscan.preprocessing.views import body_mask
from osteoscan.types import BoneScan, Hotspot

SMOOTH_MM = 3.0
"""Gaussian sigma (mm) of the smoothing applied before everything else (Poisson noise)."""

BACKGROUND_MM = 14.0
"""Gaussian sigma (mm) of the local bone background."""

SEED_MM = 9.0
"""Smallest distance (mm) between two seeds (two lesions closer than that are one)."""

MIN_RATIO = 1.15
"""Smallest peak / local bone background ratio of a candidate."""

MAX_RADIUS_MM = 25.0
"""A hotspot keeps only pixels within this distance of its seed (the largest simulated
metastasis has a 24 mm radius; a larger focus is several seeds)."""

MIN_SIGNIFICANCE = 3.0
"""Smallest :func:`seed_score` of a candidate: its excess over the local bone background in
units of the Poisson noise of the smoothed counts, or of the noise at
``REFERENCE_DENSITY`` when the study has more counts (docs/lesions.md, "Candidates")."""

REFERENCE_DENSITY = 1.25
"""Counts per mm² of normal bone (:func:`count_density`) down to which the candidate set does
not depend on the count level: above it, a seed's excess is judged against the noise it
would have at this density (a fixed threshold on ``(z - bg) / sqrt(z)``, so 1.5 M counts
and a count-halved copy keep the same seeds); below it, against its own noise. 0.3 M / 1.5 M
counts of a profile_9001 patient are 0.7 / 3.9; the training sites' medians 0.6-3.0. With
1.0, site_b (3.0) lost 2 of 144 malignant lesions against the 150 cap
(``benchmarks/bench_candidates.py``); 1.25 lowers the threshold there by 11 %."""

MAX_CANDIDATES = 400
"""Safety cap on candidates per view (the highest :func:`seed_score`)."""


@dataclass
class ViewMaps:
    """The normalised maps of one view (all on the view's own grid).

    Attributes:
        z: smoothed counts / normal-bone level.
        background: local bone background of ``z``.
        bone: bool bone mask.
        body: bool body mask.
        level: normal-bone level in counts per pixel.
        spacing: (row, col) pixel size in mm.
        noise: the noise scale of :func:`seed_score` (:func:`noise_scale`).
        labels: the candidates' basins (int32, seed index + 1; :func:`segment`), once found.
    """

    z: np.ndarray
    background: np.ndarray
    bone: np.ndarray
    body: np.ndarray
    level: float
    spacing: tuple[float, float]
    noise: float = 0.0
    labels: np.ndarray | None = None

    @property
    def ratio(self) -> np.ndarray:
        """``z`` over its local bone background."""
        return self.z / np.maximum(self.background, 1e-3)


def _px(mm: float, spacing: tuple[float, float]) -> float:
    return mm / float(np.sqrt(spacing[0] * spacing[1]))


def normal_bone_level(smoothed: np.ndarray, body: np.ndarray) -> tuple[float, np.ndarray]:
    """Median of the bone pixels (body above the Otsu threshold of log counts), and the mask."""
    vals = smoothed[body]
    if vals.size < 16 or np.ptp(vals) <= 0:
        return max(float(smoothed.max()), 1e-6), body
    logs = np.log(np.maximum(vals, 1e-6))
    bone = body & (np.log(np.maximum(smoothed, 1e-6)) > threshold_otsu(logs))
    return max(float(np.median(smoothed[bone])), 1e-6), bone


@lru_cache(maxsize=64)
def kernel_energy(sigma_px: float) -> float:
    """Sum of the squared weights of :func:`smooth`'s Gaussian of ``sigma_px``: the variance
    of smoothed white noise of unit variance (about 1 / (4 pi sigma^2) for wide kernels,
    computed exactly because 3 mm on a 4.8 mm pixel is a 0.6-pixel kernel)."""
    radius = int(4.0 * sigma_px + 0.5) + 2
    delta = np.zeros((2 * radius + 1,) * 2, np.float32)
    delta[radius, radius] = 1.0
    return float(np.sum(smooth(delta, sigma_px).astype(np.float64) ** 2))


def bone_normalised(counts: np.ndarray, spacing: tuple[float, float]
                    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """``(z, body, level, bone)``: the smoothed counts over the normal-bone level, the body
    mask, that level and the bone mask (module docstring, step 1)."""
    x = np.asarray(counts, dtype=np.float32)
    s = smooth(x, _px(SMOOTH_MM, spacing))
    body = body_mask(x, sigma=_px(2 * SMOOTH_MM, spacing))
    level, bone = normal_bone_level(s, body)
    return s / level, body, level, bone


def view_maps(counts: np.ndarray, spacing: tuple[float, float], gain: float = 1.0) -> ViewMaps:
    """Normalised maps of one view (module docstring, steps 1-2); ``gain``: image values per
    count (1 for counts)."""
    z, body, level, bone = bone_normalised(counts, spacing)
    sig = _px(BACKGROUND_MM, spacing)
    w = smooth(bone.astype(np.float32), sig)
    bg = smooth(np.where(bone, z, 0.0).astype(np.float32), sig) / np.maximum(w, 1e-3)
    bg = np.where(w > 0.05, bg, 1.0).astype(np.float32)
    return ViewMaps(z.astype(np.float32), bg, bone, body, level, spacing,
                    noise_scale(level, spacing, gain))


def noise_scale(level: float, spacing: tuple[float, float], gain: float = 1.0) -> float:
    """Standard deviation of ``z`` per ``sqrt(z)``, at least that at ``REFERENCE_DENSITY``.

    Smoothed Poisson counts of mean ``m`` have variance ``gain * m * sum(w^2)`` for the
    kernel ``w`` and ``gain`` image values per count, so ``z = smoothed / level`` has
    standard deviation ``sqrt(gain * sum(w^2) / level) * sqrt(z)``. The counts per pixel
    of normal bone are ``level / gain``; at ``REFERENCE_DENSITY`` they would be
    ``REFERENCE_DENSITY * pixel area``, and the larger of the two noises is returned.
    A view smoothed by :func:`count_normalised` has ``gain < 1``: its noise is that of
    ``1 / gain`` times its counts (docs/lesions.md, "Low counts")."""
    energy = kernel_energy(_px(SMOOTH_MM, spacing))
    counts = min(level / max(gain, 1e-9), REFERENCE_DENSITY * float(spacing[0] * spacing[1]))
    return float(np.sqrt(energy / max(counts, 1e-9)))


def noise_gain(values: np.ndarray, maps: ViewMaps) -> float:
    """Image values per count of a picture (display grey levels, counts unknown), from the
    Poisson mean-variance relation in the soft tissue: ``E[(x_i - x_j)^2] = 2 gain m`` for
    neighbouring pixels of mean ``m``. Soft tissue (body off bone) is smooth, so the
    differences there are noise; the top 1 % are dropped (edges). On simulated screen
    exports within 10 % of the true gain at 2.4 mm pixels and up to 1.7 x above it at
    4.8 mm and 1.5 M counts (structure between coarse pixels counts as noise: fewer
    candidates, never more); 1 when too few pixels."""
    x = np.asarray(values, np.float64)
    soft = maps.body & ~maps.bone
    num = den = 0.0
    for a, b in (((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
                 ((slice(None), slice(1, None)), (slice(None), slice(None, -1)))):
        sel = soft[a] & soft[b]
        d2, m = (x[a] - x[b])[sel] ** 2, 0.5 * (x[a] + x[b])[sel]
        if d2.size < 100:
            return 1.0
        keep = d2 <= np.percentile(d2, 99)
        num, den = num + d2[keep].sum(), den + 2.0 * m[keep].sum()
    return float(num / den) if den > 0 and num > 0 else 1.0


def seeds(maps: ViewMaps, *, min_ratio: float = MIN_RATIO,
          min_significance: float = MIN_SIGNIFICANCE,
          max_count: int = MAX_CANDIDATES) -> np.ndarray:
    """(k, 2) seed pixels: local maxima of ``z`` on bone with ratio >= ``min_ratio`` and
    :func:`seed_score` >= ``min_significance``, at most ``max_count`` (highest score).
    ``min_significance=0, max_count=150`` are the candidates before significance."""
    dist = max(int(round(_px(SEED_MM, maps.spacing) / 2)), 1)
    peaks = peak_local_max(maps.z, min_distance=dist, labels=maps.bone.astype(np.int32),
                           exclude_border=False)
    if len(peaks) == 0:
        return np.zeros((0, 2), dtype=int)
    r = maps.ratio[peaks[:, 0], peaks[:, 1]]
    score = seed_score(maps)[peaks[:, 0], peaks[:, 1]]
    keep = np.flatnonzero((r >= min_ratio) & (score >= min_significance))
    keep = keep[np.argsort(-score[keep], kind="stable")][:max_count]
    return peaks[keep]


def seed_score(maps: ViewMaps) -> np.ndarray:
    """Significance of every pixel's excess over the local bone background: ``(z - bg)`` in
    units of the noise of ``z``, ``maps.noise * sqrt(z)`` (Poisson: the variance of smoothed
    counts is their mean times the kernel's energy). It depends on the real counts, not on
    the pixel size (``sum(w^2)`` falls with the pixel area as the counts per pixel grow).

    Ranking seeds by this excess in units of noise (rather than the plain ratio) kept faint
    noise peaks on thin, cold bone from outranking real lesions on bright bone; the
    threshold ``MIN_SIGNIFICANCE`` then drops the peaks that noise alone makes. Above
    ``REFERENCE_DENSITY`` the noise is that density's (:func:`noise_scale`): a fixed
    threshold on ``(z - bg) / sqrt(z)``. Without a noise level (``maps.noise == 0``), the
    view's order of ``(z - bg) / sqrt(z)``."""
    noise = maps.noise if maps.noise > 0 else 1.0
    return (maps.z - maps.background) / (noise * np.sqrt(np.maximum(maps.z, 1e-3)))


def segment(maps: ViewMaps, peaks: np.ndarray) -> np.ndarray:
    """int32 label map, one label per seed (id = seed index + 1), half-maximum basins."""
    labels = np.zeros(maps.z.shape, dtype=np.int32)
    if len(peaks) == 0:
        return labels
    markers = np.zeros_like(labels)
    markers[peaks[:, 0], peaks[:, 1]] = np.arange(1, len(peaks) + 1)
    excess, half = _half_maximum(maps, peaks)
    basins = watershed(-maps.z, markers, mask=maps.body & (excess > 0))
    labels[:] = np.where(excess >= half[basins], basins, 0)
    rr, cc = np.indices(labels.shape)
    seed = peaks[np.maximum(labels, 1) - 1]
    dist2 = (((rr - seed[..., 0]) * maps.spacing[0]) ** 2
             + ((cc - seed[..., 1]) * maps.spacing[1]) ** 2)
    labels[dist2 > MAX_RADIUS_MM ** 2] = 0
    # keep only the part of each basin connected to its own seed
    return _seed_connected(labels, peaks)


def _half_maximum(maps: ViewMaps, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The excess ``z - background`` and, per label (0: none), half its seed's excess."""
    excess = maps.z - maps.background
    half = np.zeros(len(peaks) + 1, dtype=np.float32)
    half[1:] = 0.5 * excess[peaks[:, 0], peaks[:, 1]]
    return excess, half


def _seed_connected(labels: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    comp, _ = ndimage.label(labels > 0)
    # a component id per seed; pixels whose (component, basin) is not the seed's are dropped
    seed_comp = np.zeros(len(peaks) + 1, dtype=np.int64)
    seed_comp[1:] = comp[peaks[:, 0], peaks[:, 1]]
    return np.where(comp == seed_comp[labels], labels, 0).astype(np.int32)


def _hotspots(labels: np.ndarray, peaks: np.ndarray, view: str, maps: ViewMaps,
              counts: np.ndarray) -> list[Hotspot]:
    excess, half = _half_maximum(maps, peaks)
    st = shape_stats(labels, len(peaks), maps.spacing,
                     weights=np.where(labels > 0, np.maximum(excess - half[labels], 0), 0))
    ratio, out = maps.ratio, []
    for i, (pr, pc) in enumerate(peaks):
        box = st["boxes"][i]
        if box is None:
            continue
        mask = np.zeros(labels.shape, dtype=bool)
        mask[box] = inside = labels[box] == i + 1
        vals, zs = counts[box][inside], maps.z[box][inside]  # on the box: same pixels, same order
        area = float(st["area_px"][i] * maps.spacing[0] * maps.spacing[1])
        feats = {"peak_z": float(maps.z[pr, pc]), "peak_ratio": float(ratio[pr, pc]),
                 "mean_z": float(zs.mean()), "local_background": float(maps.background[pr, pc]),
                 "area_mm2": area, "peak_row": float(pr), "peak_col": float(pc),
                 **{k: float(st[k][i]) for k in ("eccentricity", "extent", "major_axis_mm",
                                                  "minor_axis_mm", "orientation")}}
        out.append(Hotspot(view=view, row=float(st["row"][i]), col=float(st["col"][i]),
                           area_mm2=area, region="background", probability=0.0, mask=mask,
                           max_counts=float(vals.max()), mean_counts=float(vals.mean()),
                           uptake_ratio=feats["peak_ratio"], features=feats))
    return out


def box_peaks(maps: ViewMaps, boxes: np.ndarray) -> np.ndarray:
    """(k, 2) per box (``x0, y0, x1, y1`` in pixel edges): the pixel of highest ``z`` among
    those whose square overlaps the box (the forced seed of an annotated box that holds no
    candidate, docs/lesions.md "Lesion score")."""
    out = []
    for x0, y0, x1, y1 in np.asarray(boxes, float).reshape(-1, 4):
        r0 = min(max(int(np.floor(y0)), 0), maps.z.shape[0] - 1)
        c0 = min(max(int(np.floor(x0)), 0), maps.z.shape[1] - 1)
        sub = maps.z[r0:max(int(np.ceil(y1)), r0 + 1), c0:max(int(np.ceil(x1)), c0 + 1)]
        r, c = np.unravel_index(np.argmax(sub), sub.shape)
        out.append((r0 + r, c0 + c))
    return np.array(out, int).reshape(-1, 2)


def view_candidates(counts: np.ndarray, view: str, spacing: tuple[float, float], *,
                    picture: bool = False, force: np.ndarray | None = None,
                    gain: float = 1.0, **seed_args) -> tuple[list[Hotspot], ViewMaps]:
    """Candidates of one view (module docstring) and the view's maps; ``picture``: the values
    are display levels, their gain per count is estimated (:func:`noise_gain`); ``force``:
    boxes whose :func:`box_peaks` are seeds too, after the detected ones; ``gain``: the noise
    variance per count of counts smoothed by :func:`count_normalised` (1: raw counts);
    ``seed_args`` go to :func:`seeds`."""
    maps = view_maps(counts, spacing, gain)
    if picture:
        maps = replace(maps, noise=noise_scale(maps.level, spacing, noise_gain(counts, maps)))
    peaks = seeds(maps, **seed_args)
    if force is not None and len(force):
        peaks = np.vstack([peaks, box_peaks(maps, force)])
    labels = segment(maps, peaks)
    return _hotspots(labels, peaks, view, maps, counts), replace(maps, labels=labels)


PICTURE_FORMATS = ("image", "dicom-sc")
"""Sources whose values are display grey levels, not counts (no count density to normalise)."""


def is_picture(scan: BoneScan) -> bool:
    """True for a screen picture: a study whose reader says its values are display grey
    levels (``source.format`` in :data:`PICTURE_FORMATS`: set by ``scan_from_picture`` for
    PNG/JPEG/TIFF and by the DICOM Secondary Capture reader), not counts. The one test of the
    picture domain: the count band skips these, the candidates read them as display values,
    and :class:`osteoscan.lesions.patient.HotspotDetector` hands them to its picture variant."""
    return scan.source is not None and scan.source.format in PICTURE_FORMATS


def count_density(scan: BoneScan) -> float:
    """Counts per mm² of the patient's normal bone (anterior view, else posterior): the level
    of :func:`normal_bone_level` over the pixel area. 0.3 M and 1.5 M counts of one patient
    differ 5-fold here; 2.4 and 4.8 mm pixels at the same counts do not."""
    img = scan.anterior if scan.anterior is not None else scan.posterior
    spacing = tuple(scan.spacing_mm) if scan.spacing_mm else (2.4, 2.4)
    x = np.asarray(img, np.float32)
    level, _ = normal_bone_level(smooth(x, _px(SMOOTH_MM, spacing)),
                                 body_mask(x, sigma=_px(2 * SMOOTH_MM, spacing)))
    return level / float(spacing[0] * spacing[1])


def count_normalised(scan: BoneScan, band: tuple[float, float | None],
                     with_gain: bool = False) -> BoneScan | tuple[BoneScan, float]:
    """The scan brought into a band of :func:`count_density` (the detector's training range),
    so that the candidates' noise does not depend on the count level.

    Below the band both views are smoothed so that the noise matches the band's bottom:
    Poisson noise after a Gaussian of sigma s falls as 1 / (s sqrt(density)), so the total
    smoothing becomes ``SMOOTH_MM * sqrt(low / density)``. Above a band top (None: no top)
    they are binomially thinned to it (the statistics of a shorter acquisition; seeded by the
    counts, so one study always gives one answer; docs/robustness.md says why the bundled
    band has no top). Pictures (display values) are returned unchanged. ``with_gain``: also
    the noise variance per count of the returned counts, for :func:`scan_candidates`'
    ``gain``: the kernel energy of the total smoothing over that of ``SMOOTH_MM`` when the
    scan was smoothed (about ``density / low``: its noise is the band bottom's), else 1.
    Without it the seeds of a smoothed study were tested against the noise of its own,
    unsmoothed counts: 3 noise units became 3 sqrt(low / density) (about 6 at 0.3 M counts).
    """
    out, gain = _normalised(scan, band)
    return (out, gain) if with_gain else out


def _normalised(scan: BoneScan, band) -> tuple[BoneScan, float]:
    """:func:`count_normalised` and the noise variance per count of its result."""
    if is_picture(scan):
        return scan, 1.0
    low, high = float(band[0]), (np.inf if band[1] is None else float(band[1]))
    d = count_density(scan)
    spacing = tuple(scan.spacing_mm) if scan.spacing_mm else (2.4, 2.4)
    gain = 1.0
    if d > high:
        total = sum(float(np.sum(v)) for v in (scan.anterior, scan.posterior) if v is not None)
        rng = np.random.default_rng(int(total))
        change = lambda x: thin_counts(x, high / d, rng).astype(np.float32)  # noqa: E731
    elif 0 < d < low:
        base = _px(SMOOTH_MM, spacing)
        sigma = base * float(np.sqrt(low / d - 1.0))
        change = lambda x: smooth(np.asarray(x, np.float32), sigma)  # noqa: E731
        gain = kernel_energy(float(np.hypot(base, sigma))) / kernel_energy(base)
    else:
        return scan, 1.0
    return replace(scan, anterior=None if scan.anterior is None else change(scan.anterior),
                   posterior=None if scan.posterior is None else change(scan.posterior)), gain


def scan_candidates(scan: BoneScan, force: dict[str, np.ndarray] | None = None,
                    gain: float = 1.0, **seed_args
                    ) -> tuple[dict[str, list[Hotspot]], dict[str, ViewMaps]]:
    """Candidates and maps of every view of a scan (posterior in anterior orientation);
    ``force``: per view, boxes forced to hold a candidate (:func:`view_candidates`);
    ``gain``: noise variance per count of counts smoothed by :func:`count_normalised` (1:
    raw counts); ``seed_args`` go to :func:`seeds`."""
    spacing = tuple(scan.spacing_mm) if scan.spacing_mm else (2.4, 2.4)
    picture = is_picture(scan)
    hot, maps = {}, {}
    for view in ("anterior", "posterior"):
        counts = scan.anterior if view == "anterior" else scan.posterior
        if counts is None:
            continue
        hot[view], maps[view] = view_candidates(np.asarray(counts, np.float32), view, spacing,
                                                picture=picture, force=(force or {}).get(view),
                                                gain=gain, **seed_args)
    return hot, maps
