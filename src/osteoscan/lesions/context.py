"""Per-hotspot context features: a named, inspectable vector for each candidate (torch-free).

Coordinates are **body coordinates**, not frame coordinates, so they hold whatever the
body's placement and size (:func:`body_frame`):

* ``y_body``: rows below the vertex in units of the head length (vertex to the narrowest row
  of the neck), which is about 0.13 of the body height on every patient;
* ``x_body``: distance from the body midline (a straight line fitted through the trunk's row
  centres, so a tilted patient keeps his midline) in units of the shoulder half-width.

The features (:data:`FEATURES`):

* position: ``y_body``, ``x_body`` (signed), ``abs_x_body``;
* intensity: ``peak_z`` (times the patient's normal bone), ``peak_ratio`` (over the local bone
  background), ``mean_z``, ``band_rel`` (peak over the median bone of the same height band,
  i.e. the same region);
* left-right symmetry: ``sym_ratio`` = peak over the brightest pixel near the mirrored
  position across the midline (a degenerative joint or a normal structure is symmetric);
* vertical neighbours: ``vert_ratio`` = peak over the median of the pixels 15-40 mm above and
  below at the same column (the neighbouring vertebrae for a spine hotspot);
* anterior-posterior concordance: the other view mapped onto this one with preprocessing's
  sweep-line alignment (:func:`osteoscan.preprocessing.views.alignment`): ``other_ratio``,
  ``other_rel`` (other view's brightest nearby pixel over this peak) and ``other_dist_mm``
  (distance to the nearest candidate of the other view, capped at 60);
* shape and size: ``area_mm2``, ``eccentricity``, ``extent``, ``major_axis_mm``,
  ``minor_axis_mm``, ``orientation``, ``row_neighbours`` (conspicuous candidates 8-60 mm
  above/below within 12 mm of the column: a row of rib fractures);
* the patient's context: ``view_candidates`` (conspicuous candidates in the view),
  ``is_posterior``;
* against its own structure (:mod:`osteoscan.lesions.structure`): ``col_rel`` (the vertical
  strip through it), ``contra_rel`` (the other side's level), ``axial_rel`` (the view's
  spine-to-skeleton balance), ``soft_rel`` and ``kidney_rel`` (the view's soft tissue
  against its bone, its kidneys against its spine).

Besides these, :func:`reach_features` (:data:`REACH_FEATURES`) say how far a candidate's
excess uptake reaches beyond its own mask; only BSI trees that ask for them take them (card
``bsi_reach``, docs/lesions.md "BSI extent (session 8)").

"Conspicuous": ``peak_ratio >= CONSPICUOUS_RATIO``. The candidate set grows with the count
level (significance-tested seeds, :mod:`osteoscan.lesions.candidates`: faint real structures
become significant at higher counts), so features that count candidates count only those
seen at every count level; counting every candidate made them a proxy of the counts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from osteoscan.lesions.candidates import (
    BACKGROUND_MM,
    MIN_RATIO,
    SMOOTH_MM,
    ViewMaps,
    bone_normalised,
)
from osteoscan.lesions.structure import STRUCTURE_FEATURES, structure_features
from osteoscan.preprocessing.intensity import smooth
from osteoscan.preprocessing.views import alignment
from osteoscan.types import BoneScan, Hotspot

FEATURES: tuple[str, ...] = (
    "y_body", "x_body", "abs_x_body", "peak_z", "peak_ratio", "mean_z", "band_rel",
    "sym_ratio", "vert_ratio", "other_ratio", "other_rel", "other_dist_mm", "area_mm2",
    "eccentricity", "extent", "major_axis_mm", "minor_axis_mm", "orientation",
    "row_neighbours", "view_candidates", "is_posterior", *STRUCTURE_FEATURES,
)
"""Names of the context feature vector, in order. A detector's card names the columns its
trees take (``features``, a subset: a card fitted before a column was added keeps working)."""

CONSPICUOUS_RATIO = 2.0
"""Peak ratio from which a candidate counts in ``row_neighbours`` and ``view_candidates``
(1.4 still moved with the noise: 99 against 127 in one view of a study and its count-halved
copy, as local maxima of noisier counts reach higher)."""


@dataclass(frozen=True)
class BodyFrame:
    """Body landmarks of one view, in pixels.

    Attributes:
        top: first row of the body (vertex).
        head: head length in rows (vertex to the narrowest neck row), >= 1.
        mid_slope, mid_offset: midline column = ``mid_offset + mid_slope * row``.
        half_width: shoulder half-width in columns, >= 1.
    """

    top: float
    head: float
    mid_slope: float
    mid_offset: float
    half_width: float

    def midline(self, row):
        """Midline column at ``row``."""
        return self.mid_offset + self.mid_slope * np.asarray(row, float)

    def to_body(self, row, col) -> tuple[np.ndarray, np.ndarray]:
        """(y_body, x_body) of pixel positions."""
        row, col = np.asarray(row, float), np.asarray(col, float)
        return (row - self.top) / self.head, (col - self.midline(row)) / self.half_width


HEAD_FRACTION = (0.09, 0.25)
"""Plausible head length (vertex to neck) over the body mask's extent. Simulated adults give
0.133-0.172 (120 views of 60 studies on 10 site profiles, session 9); outside this range the
body mask shows no neck: a real scan whose soft-tissue outline runs from the head straight
into the shoulders (the NEMA NM1 sample of ``pydicom-data``: 0.039, a 68 mm head), and the
neck is then found in the bone (:func:`bone_neck`)."""


def bone_neck(z: np.ndarray, body: np.ndarray, top: float, extent: int) -> int | None:
    """Row of the neck from the bone: the narrowest row of bone-level uptake (``z >= 1``, ``z``
    the counts over the patient's normal bone) 8-22 % of the body's extent below the vertex,
    the cervical spine between the skull and the shoulder girdle. None without such rows."""
    hot = ((z >= 1.0) & body).sum(axis=1).astype(float)
    width = ndimage.gaussian_filter1d(hot, max(0.005 * extent, 1.0))
    lo, hi = int(top + 0.08 * extent), min(int(top + 0.22 * extent) + 1, len(width))
    return lo + int(np.argmin(width[lo:hi])) if hi - lo >= 3 else None


def body_frame(body: np.ndarray, z: np.ndarray | None = None) -> BodyFrame:
    """Landmarks of a body mask (module docstring); falls back to the frame when empty.

    The row widths are smoothed along the body (Gaussian of 1 % of its extent) before the
    vertex and the neck are found, and the vertex is the first row at a third of the head's
    widest: on raw widths both moved with the Poisson noise of the mask's edge (the head
    length of one patient changed by 5 % between a study and its count-halved copy, and
    with it every ``y_body``). With ``z`` (counts over normal bone), a head outside
    :data:`HEAD_FRACTION` of the extent takes its neck from the bone (:func:`bone_neck`)."""
    raw = body.sum(axis=1).astype(float)
    rows = np.flatnonzero(raw >= 2)
    if rows.size < 20:
        return BodyFrame(0.0, body.shape[0] / 8, 0.0, body.shape[1] / 2, body.shape[1] / 4)
    width = ndimage.gaussian_filter1d(raw, max(0.01 * (rows[-1] - rows[0]), 1.0))
    first, extent = rows[0], rows[-1] - rows[0]
    crown = width[first:first + int(0.15 * extent) + 1]
    top = first + int(np.argmax(crown >= crown.max() / 3))
    # the head is the first local bulge; the neck the narrowest row in 6-20 % of the extent
    lo, hi = first + int(0.06 * extent), first + int(0.20 * extent) + 1
    neck = lo + int(np.argmin(width[lo:hi]))
    if z is not None and not HEAD_FRACTION[0] <= (neck - top) / extent <= HEAD_FRACTION[1]:
        neck = bone_neck(z, body, top, extent) or neck
    head = max(float(neck - top), 1.0)
    trunk = np.arange(neck + int(0.5 * head), min(neck + int(3.0 * head), body.shape[0]))
    trunk = trunk[raw[trunk] >= 2]
    cols = np.arange(body.shape[1], dtype=float)
    centres = (body[trunk] * cols).sum(axis=1) / np.maximum(raw[trunk], 1)
    slope, offset = np.polyfit(trunk, centres, 1) if trunk.size >= 5 else (0.0, body.shape[1] / 2)
    shoulders = np.arange(neck, min(neck + int(1.5 * head), body.shape[0]))
    half = max(float(np.percentile(width[shoulders], 90)) / 2, 1.0) if shoulders.size else 1.0
    return BodyFrame(float(top), head, float(slope), float(offset), half)


HEAD_MM = 235.0
"""Median head length (vertex to the narrowest neck row of the body mask) of simulated adults:
54 views of 27 studies on 15 site profiles, 5-95 % range 212-282 mm (docs/robustness.md)."""


def estimated_spacing(scan: BoneScan) -> tuple[float, float]:
    """Pixel size (mm) of a scan stored without one (a screen export), from its head length in
    pixels against :data:`HEAD_MM` (about 10 % off for one adult; the fallback of 2.4 mm was
    off by half on a 4.8 mm export). Square pixels; 2.4 mm when no body is found."""
    img = scan.anterior if scan.anterior is not None else scan.posterior
    px = 2.4
    for _ in range(2):  # the body mask's smoothing is in mm: once with the guess, once refined
        z, body, _, _ = bone_normalised(img, (px, px))
        frame = body_frame(body, z)
        px = float(np.clip(HEAD_MM / frame.head, 0.5, 20.0)) if frame.head > 8 else 2.4
    return px, px


def _window_max(img: np.ndarray, r: np.ndarray, c: np.ndarray, rad: int) -> np.ndarray:
    """Maximum of ``img`` in a (2 rad + 1)^2 window at each (r, c) (0 where outside)."""
    out = np.zeros(len(r), dtype=np.float32)
    rows, cols = np.round(r).astype(int), np.round(c).astype(int)
    for i, (ri, ci) in enumerate(zip(rows, cols, strict=True)):
        win = img[max(ri - rad, 0):ri + rad + 1, max(ci - rad, 0):ci + rad + 1]
        out[i] = win.max() if win.size else 0.0
    return out


def _band_median(maps: ViewMaps, rows: np.ndarray, half_rows: int) -> np.ndarray:
    """Median of bone ``z`` in the rows within ``half_rows`` of each row (one per row)."""
    cache: dict[int, float] = {}
    out = np.ones(len(rows), dtype=np.float32)
    for i, r in enumerate(np.round(rows).astype(int)):
        key = r // max(half_rows // 2, 1)
        if key not in cache:
            band = slice(max(r - half_rows, 0), r + half_rows + 1)
            vals = maps.z[band][maps.bone[band]]
            cache[key] = float(np.median(vals)) if vals.size else 1.0
        out[i] = cache[key]
    return out


def _vertical(maps: ViewMaps, r: np.ndarray, c: np.ndarray, px: float) -> np.ndarray:
    """Median of ``z`` 15-40 mm above and below each point, same column."""
    offs = np.round(np.array([-40, -30, -20, -15, 15, 20, 30, 40]) / px).astype(int)
    rr = np.clip(np.round(r).astype(int)[:, None] + offs[None], 0, maps.z.shape[0] - 1)
    cc = np.clip(np.round(c).astype(int), 0, maps.z.shape[1] - 1)[:, None]
    return np.median(maps.z[rr, cc], axis=1)


def _row_neighbours(r: np.ndarray, c: np.ndarray, px: float, counted: np.ndarray) -> np.ndarray:
    """Candidates among ``counted`` 8-60 mm above/below within 12 mm of each one's column."""
    dr, dc = np.abs(r[:, None] - r[None]) * px, np.abs(c[:, None] - c[None]) * px
    return ((dr >= 8) & (dr <= 60) & (dc <= 12) & counted[None]).sum(axis=1).astype(float)


def structure_names(structure: bool | Collection[str]) -> tuple[str, ...]:
    """The :data:`STRUCTURE_FEATURES` a ``structure`` argument asks for (True: all)."""
    if isinstance(structure, bool):
        return STRUCTURE_FEATURES if structure else ()
    unknown = set(structure) - set(STRUCTURE_FEATURES)
    if unknown:
        raise ValueError(f"not structure columns: {sorted(unknown)}")
    return tuple(structure)


def view_features(hots: list[Hotspot], maps: ViewMaps, frame: BodyFrame,
                  other: tuple[list[Hotspot], ViewMaps] | None,
                  structure: bool | Collection[str] = True) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(FEATURES)) feature matrix of one view's candidates, and per candidate the
    index of the nearest candidate of the other view (-1: none); ``structure``: the
    :data:`STRUCTURE_FEATURES` columns computed (True: all, False: none), the others NaN."""
    if not hots:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=int)
    f = {k: np.array([h.features[k] for h in hots]) for k in
         ("peak_row", "peak_col", "peak_z", "peak_ratio", "mean_z", "area_mm2", "eccentricity",
          "extent", "major_axis_mm", "minor_axis_mm", "orientation")}
    r, c = f["peak_row"], f["peak_col"]
    conspicuous = f["peak_ratio"] >= CONSPICUOUS_RATIO
    px = float(np.sqrt(maps.spacing[0] * maps.spacing[1]))
    rad = max(int(round(6 / px)), 1)
    y, x = frame.to_body(r, c)
    mirror = 2 * frame.midline(r) - c
    f.update(y_body=y, x_body=x, abs_x_body=np.abs(x),
             band_rel=f["peak_z"] / _band_median(maps, r, max(int(frame.head * 0.25), 2)),
             sym_ratio=f["peak_z"] / np.maximum(_window_max(maps.z, r, mirror, rad), 1e-3),
             vert_ratio=f["peak_z"] / np.maximum(_vertical(maps, r, c, px), 1e-3),
             row_neighbours=_row_neighbours(r, c, px, conspicuous),
             view_candidates=np.full(len(hots), float(conspicuous.sum())),
             is_posterior=np.full(len(hots), float(hots[0].view == "posterior")))
    f.update(_concordance(r, c, f["peak_z"], maps, other, px, rad))
    f.update(structure_features(f["peak_z"], r, c, mirror, maps.z, maps.bone, frame, px,
                                maps.body, structure_names(structure)))
    nearest = f.pop("nearest")
    return np.stack([np.asarray(f[k], float) for k in FEATURES], axis=1), nearest


def _concordance(r, c, peak_z, maps: ViewMaps, other, px: float, rad: int) -> dict:
    """AP features: the other view's uptake and candidates at the mapped position."""
    n = len(r)
    if other is None:
        return {"other_ratio": np.full(n, np.nan), "other_rel": np.full(n, np.nan),
                "other_dist_mm": np.full(n, 60.0), "nearest": np.full(n, -1)}
    o_hots, o_maps = other
    found = alignment(o_maps.z, maps.z)
    (sr, sc), (orow, ocol) = found if found is not None else ((1.0, 1.0), (0.0, 0.0))
    rr, cc = r * sr + orow, c * sc + ocol  # this view's pixel -> the other view's pixel
    o_ratio = _window_max(o_maps.ratio, rr, cc, rad)
    o_z = _window_max(o_maps.z, rr, cc, rad)
    dist, nearest = np.full(n, 60.0), np.full(n, -1)
    if o_hots:
        op = np.array([[h.features["peak_row"], h.features["peak_col"]] for h in o_hots])
        d = np.hypot(rr[:, None] - op[None, :, 0], cc[:, None] - op[None, :, 1]) * px
        dist, nearest = np.minimum(d.min(axis=1), 60.0), d.argmin(axis=1)
    return {"other_ratio": o_ratio, "other_rel": o_z / np.maximum(peak_z, 1e-3),
            "other_dist_mm": dist, "nearest": nearest}


REACH_FEATURES: tuple[str, ...] = ("reach_area", "reach_ratio")
"""Names of :func:`reach_features`' columns, in order."""

REACH_MM = 50.0
"""Radius (mm) of the reach region around a seed: twice a candidate's own limit
(``candidates.MAX_RADIUS_MM``), so that a confluent lesion split among seeds shows."""

REACH_FRACTION = 0.25
"""The reach region's cut: this fraction of the seed's excess over its local bone
background (a candidate's own mask is cut at half of it)..."""

REACH_FLOOR = 0.15
"""... and at least this much above that background (``candidates.MIN_RATIO - 1``), so that a
faint candidate's cut does not sink into the noise of normal bone."""


def reach_features(hots: list[Hotspot], maps: ViewMaps, frame: BodyFrame) -> np.ndarray:
    """(n, 2) :data:`REACH_FEATURES` of one view's candidates: how far excess uptake extends
    beyond each candidate's own mask.

    The reach region of a candidate: the bone pixels connected to its seed, within
    :data:`REACH_MM` of it, where ``z`` (smoothed once more by ``SMOOTH_MM``: at 0.3 M counts
    a pixel's noise is about 0.1 of normal bone) reaches ``b + max(REACH_FRACTION x (z_seed -
    b), REACH_FLOOR x b)``. ``b`` is one level for the whole region: the normal bone around
    the seed with the lesions left out (:func:`_cold_background`), since the local background
    inside a large lesion is raised by the lesion itself and would cut it short. Unlike the
    candidate's mask the region is not split among neighbouring seeds nor cut at 25 mm.
    ``reach_area``: its area in head lengths squared (pixel size and patient size drop out,
    as in the BSI); ``reach_ratio``: its area over the candidate's own (both 0 when the seed
    is below the cut). Written by hand: one flood fill per candidate in a window
    (``scipy.ndimage.label``)."""
    out = np.zeros((len(hots), len(REACH_FEATURES)))
    if not hots:
        return out
    sr, sc = (float(s) for s in maps.spacing)
    zs = smooth(maps.z, SMOOTH_MM / float(np.sqrt(sr * sc)))
    ref = _cold_background(maps)
    hr, hc = int(np.ceil(REACH_MM / sr)), int(np.ceil(REACH_MM / sc))
    dr, dc = np.ogrid[-hr:hr + 1, -hc:hc + 1]
    disk = (dr * sr) ** 2 + (dc * sc) ** 2 <= REACH_MM ** 2
    zp, bone = np.pad(zs, ((hr, hr), (hc, hc))), np.pad(maps.bone, ((hr, hr), (hc, hc)))
    for i, h in enumerate(hots):
        r, c = int(h.features["peak_row"]), int(h.features["peak_col"])
        b, top = float(ref[r, c]), float(zs[r, c])
        cut = b + max(REACH_FRACTION * (top - b), REACH_FLOOR * b)
        if top < cut:
            continue
        win = (slice(r, r + 2 * hr + 1), slice(c, c + 2 * hc + 1))
        lab, _ = ndimage.label(disk & bone[win] & (zp[win] >= cut))
        area = float(np.count_nonzero(lab == lab[hr, hc]))
        out[i] = area / frame.head ** 2, area * sr * sc / max(h.area_mm2, sr * sc)
    return out


def reach_columns(reach: np.ndarray | None) -> np.ndarray:
    """A study's reach features for BSI trees with card ``bsi_reach``; records made before
    them have none (an error: remake them into a new cache)."""
    if reach is None:
        raise ValueError("no reach features: records made before them cannot feed BSI trees "
                         "with card bsi_reach; remake them (a new --cache)")
    return reach


def _cold_background(maps: ViewMaps) -> np.ndarray:
    """The normal-bone level around every pixel with the hot pixels left out: the
    Gaussian-weighted mean (sigma 2 x ``BACKGROUND_MM``) of ``z`` over the bone pixels whose
    ratio to the local background is below ``MIN_RATIO``; the local background where such
    pixels weigh < 0.05."""
    sig = 2 * BACKGROUND_MM / float(np.sqrt(maps.spacing[0] * maps.spacing[1]))
    cold = maps.bone & (maps.ratio < MIN_RATIO)
    w = smooth(cold.astype(np.float32), sig)
    b = smooth(np.where(cold, maps.z, 0.0).astype(np.float32), sig) / np.maximum(w, 1e-3)
    return np.where(w > 0.05, b, maps.background)


@dataclass
class ScanContext:
    """Context of every view of a scan.

    Attributes:
        features: view -> (n, len(FEATURES)) matrix, rows in the order of the candidates.
        nearest: view -> index of the nearest candidate of the other view (-1: none).
        frames: view -> :class:`BodyFrame`.
        reach: view -> (n, len(REACH_FEATURES)) :func:`reach_features` (empty unless asked).
    """

    features: dict[str, np.ndarray]
    nearest: dict[str, np.ndarray]
    frames: dict[str, BodyFrame]
    reach: dict[str, np.ndarray]


def scan_context(hot: dict[str, list[Hotspot]], maps: dict[str, ViewMaps],
                 reach: bool = False, structure: bool | Collection[str] = True) -> ScanContext:
    """Feature matrices, nearest partners and body frames of every view of a scan; with
    ``reach`` also :func:`reach_features` (about a fifth of ``study_arrays``' time: only for
    records and for BSI trees that take them); ``structure``: the :data:`STRUCTURE_FEATURES`
    columns computed (True: all, False: none; the others NaN: the per-candidate references
    ``col_rel`` and ``contra_rel`` are about 15 % of ``study_arrays``' time, spared for a
    detector that reads neither)."""
    frames = {v: body_frame(m.body, m.z) for v, m in maps.items()}
    feats, nearest, extent = {}, {}, {}
    for view in hot:
        o = "posterior" if view == "anterior" else "anterior"
        other = (hot[o], maps[o]) if o in hot else None
        feats[view], nearest[view] = view_features(hot[view], maps[view], frames[view], other,
                                                   structure)
        if reach:
            extent[view] = reach_features(hot[view], maps[view], frames[view])
    return ScanContext(feats, nearest, frames, extent)
