"""A candidate's uptake against its own structure, not against the whole skeleton (torch-free).

``peak_z``, ``mean_z`` and ``band_rel`` (:mod:`osteoscan.lesions.context`) measure a
candidate against the patient's normal bone as a whole. Where a phantom or a patient holds a
different balance between the skeleton's parts (the independent phantom ``site_x``: a
posterior spine brighter against the rest than in osteoscan's simulator), the trees read
that balance as disease, vertebra by vertebra (docs/independent-sites.md, "Diagnosis").
These columns measure the candidate against references that stay within its structure:

* ``col_rel``: the peak over the median bone ``z`` of a vertical strip through it
  (:data:`STRIP_HALF_MM` either side of its column, :data:`STRIP_MM` above and below, the
  candidate's own rows left out): the spine column's own level for a vertebra, the shaft's
  for a long bone;
* ``contra_rel``: the peak over the median bone ``z`` of a window around the mirrored position
  across the midline (:data:`CONTRA_MM`): the same bone's level on the other side, not its
  brightest pixel (``sym_ratio``);
* ``axial_rel``: the view's axial-to-whole balance, the median bone ``z`` of the trunk's
  midline strip over that of all bone (one value per view): a study-level column that lets
  the trees discount ``peak_z`` where the whole spine is bright;
* ``soft_rel``: the view's soft tissue against its bone, the median ``z`` of the body pixels
  more than :data:`SOFT_MM` from bone (one value per view);
* ``kidney_rel``: the view's kidneys against its spine, the mean ``z`` of the kidney windows
  (:data:`KIDNEY_BODY`) over the median ``z`` of the spine at the same height (one value per
  view). A superscan (diffuse metastatic uptake) takes the tracer from the kidneys and the
  soft tissue (the "absent kidney sign"), while a patient whose spine is merely bright keeps
  his kidneys: ``axial_rel`` alone cannot tell the two apart (docs/independent-sites.md,
  "The kidneys and the soft tissue (session 12)").

Where a reference holds no bone pixel, ``contra_rel`` falls back to the strip and the strip
to the patient's normal bone (``z`` = 1), so that every column stays finite; ``soft_rel`` and
``kidney_rel`` stay NaN where a view holds no soft tissue or no kidney window (the trees send
a missing value down their learnt side).
"""

from __future__ import annotations

from collections.abc import Collection

import cv2
import numpy as np

STRUCTURE_FEATURES: tuple[str, ...] = ("col_rel", "contra_rel", "axial_rel", "soft_rel",
                                        "kidney_rel")
"""Names of :func:`structure_features`' columns, in order."""

STRIP_MM = (25.0, 100.0)
"""Rows of the vertical strip: from 25 mm to 100 mm above and below the peak (a vertebra is
about 25-35 mm tall, so the strip starts past the candidate's own vertebra)."""
STRIP_HALF_MM = 8.0
"""Half-width of the vertical strip (mm): inside a vertebral body or a long bone's shaft."""
CONTRA_MM = 12.0
"""Half-size of the window around the mirrored position (mm)."""
AXIAL_BODY = (0.12, 1.2, 3.6)
"""The trunk's midline strip in body units: ``|x_body|`` below 0.12 shoulder half-widths,
``y_body`` from 1.2 to 3.6 head lengths (the thoracic and lumbar spine; simulated adults
are about 7.5 head lengths tall)."""
SOFT_MM = 10.0
"""Soft-tissue pixels lie farther than this from every bone pixel (past the camera's blur
of the bone's edge)."""
KIDNEY_BODY = (0.2, 0.6, 2.3, 2.65)
"""The kidney windows in body units: ``|x_body|`` from 0.2 to 0.6 shoulder half-widths,
``y_body`` from 2.3 to 2.65 head lengths (where the simulator's kidneys lie, measured on 16
normal studies' posterior views; the lumbar spine between them is the reference)."""


def _median_bone(z: np.ndarray, bone: np.ndarray, boxes) -> float:
    """Median bone ``z`` over the (rows, cols) slices ``boxes`` (NaN without bone there)."""
    vals = np.concatenate([z[rs, cs][bone[rs, cs]] for rs, cs in boxes])
    return float(np.median(vals)) if vals.size else np.nan


def column_reference(z: np.ndarray, bone: np.ndarray, r: np.ndarray, c: np.ndarray,
                     px: float) -> np.ndarray:
    """Median bone ``z`` of the vertical strip through each (r, c) (module docstring)."""
    near, far = (int(round(m / px)) for m in STRIP_MM)
    half = max(int(round(STRIP_HALF_MM / px)), 1)
    return np.array([_median_bone(z, bone, [(rs, slice(max(ci - half, 0), ci + half + 1))
                                            for rs in (slice(max(ri - far, 0), max(ri - near, 0)),
                                                       slice(ri + near, ri + far + 1))])
                     for ri, ci in zip(np.round(r).astype(int), np.round(c).astype(int),
                                       strict=True)])


def window_reference(z: np.ndarray, bone: np.ndarray, r: np.ndarray, c: np.ndarray,
                     half_mm: float, px: float) -> np.ndarray:
    """Median bone ``z`` in a square of half-size ``half_mm`` around each (r, c)."""
    h = max(int(round(half_mm / px)), 1)
    return np.array([_median_bone(z, bone, [(slice(max(ri - h, 0), ri + h + 1),
                                             slice(max(ci - h, 0), ci + h + 1))])
                     for ri, ci in zip(np.round(r).astype(int), np.round(c).astype(int),
                                       strict=True)])


def axial_balance(z: np.ndarray, bone: np.ndarray, frame) -> float:
    """Median bone ``z`` of the trunk's midline strip over the median of all bone ``z`` (NaN
    without bone there; :func:`structure_features` then takes 1); ``frame``: the view's
    :class:`osteoscan.lesions.context.BodyFrame`."""
    rows, cols = np.nonzero(bone)
    if not rows.size:
        return np.nan
    y, x = frame.to_body(rows, cols)
    width, top, bottom = AXIAL_BODY
    axial = (np.abs(x) < width) & (y > top) & (y < bottom)
    if not axial.any():
        return np.nan
    vals = z[rows, cols]
    return float(np.median(vals[axial]) / max(float(np.median(vals)), 1e-6))


def far_from(mask: np.ndarray, mm: float, px: float) -> np.ndarray:
    """The pixels more than ``mm`` from every pixel of ``mask`` (Euclidean, pixel size
    ``px``): the mask dilated by the exact disk, inverted. The same pixels as
    ``ndimage.distance_transform_edt(~mask) * px > mm`` (the distances are the square roots
    of the same integers; a test checks it), 50 times faster with OpenCV's dilation, which
    matters in every ``analyze``."""
    r = int(mm // px) + 1
    i, j = np.mgrid[-r:r + 1, -r:r + 1]
    disk = (np.sqrt(i * i + j * j) * px <= mm).astype(np.uint8)
    return cv2.dilate(mask.astype(np.uint8), disk, borderType=cv2.BORDER_CONSTANT,
                      borderValue=0) == 0


def soft_balance(z: np.ndarray, bone: np.ndarray, body: np.ndarray, px: float) -> float:
    """Median ``z`` of the body pixels more than :data:`SOFT_MM` from bone (NaN without any)."""
    vals = z[body & far_from(bone, SOFT_MM, px)]
    return float(np.median(vals)) if vals.size else np.nan


def kidney_balance(z: np.ndarray, body: np.ndarray, frame) -> float:
    """Mean ``z`` of the kidney windows over the median ``z`` of the spine between them
    (``|x_body|`` below :data:`AXIAL_BODY`'s width, the same rows); NaN without either."""
    rows, cols = np.nonzero(body)
    y, x = frame.to_body(rows, cols)
    inner, outer, top, bottom = KIDNEY_BODY
    band = (y > top) & (y < bottom)
    kidney = band & (np.abs(x) > inner) & (np.abs(x) < outer)
    spine = band & (np.abs(x) < AXIAL_BODY[0])
    if not kidney.any() or not spine.any():
        return np.nan
    vals = z[rows, cols]
    return float(vals[kidney].mean() / max(float(np.median(vals[spine])), 1e-6))


def structure_features(peak_z: np.ndarray, r: np.ndarray, c: np.ndarray, mirror: np.ndarray,
                       z: np.ndarray, bone: np.ndarray, frame, px: float,
                       body: np.ndarray | None = None,
                       names: Collection[str] = STRUCTURE_FEATURES) -> dict:
    """:data:`STRUCTURE_FEATURES` of one view's candidates (peaks at (r, c), ``mirror``: the
    mirrored columns), as a name -> column dict; only the columns in ``names`` are computed,
    the others are NaN (a detector computes only what its trees read: every column costs time
    in every ``analyze``); ``body``: the body mask (None: the soft tissue and kidney columns
    are NaN)."""
    out = {k: np.full(len(r), np.nan) for k in STRUCTURE_FEATURES}
    if {"col_rel", "contra_rel"} & set(names):
        col = column_reference(z, bone, r, c, px)
        col = np.where(np.isnan(col), 1.0, col)
        if "col_rel" in names:
            out["col_rel"] = peak_z / np.maximum(col, 1e-3)
        if "contra_rel" in names:
            contra = window_reference(z, bone, r, mirror, CONTRA_MM, px)
            out["contra_rel"] = peak_z / np.maximum(np.where(np.isnan(contra), col, contra), 1e-3)
    if "axial_rel" in names:
        axial = axial_balance(z, bone, frame)
        out["axial_rel"][:] = 1.0 if np.isnan(axial) else axial
    if body is not None and "soft_rel" in names:
        out["soft_rel"][:] = soft_balance(z, bone, body, px)
    if body is not None and "kidney_rel" in names:
        out["kidney_rel"][:] = kidney_balance(z, body, frame)
    return out
