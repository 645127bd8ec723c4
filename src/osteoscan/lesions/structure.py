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
  the trees discount ``peak_z`` where the whole spine is bright.

Where a reference holds no bone pixel, ``contra_rel`` falls back to the strip and the strip
to the patient's normal bone (``z`` = 1), so that every column stays finite.
"""

from __future__ import annotations

import numpy as np

STRUCTURE_FEATURES: tuple[str, ...] = ("col_rel", "contra_rel", "axial_rel")
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


def structure_features(peak_z: np.ndarray, r: np.ndarray, c: np.ndarray, mirror: np.ndarray,
                       z: np.ndarray, bone: np.ndarray, frame, px: float) -> dict:
    """:data:`STRUCTURE_FEATURES` of one view's candidates (peaks at (r, c), ``mirror``: the
    mirrored columns), as a name -> column dict."""
    col = column_reference(z, bone, r, c, px)
    col = np.where(np.isnan(col), 1.0, col)
    contra = window_reference(z, bone, r, mirror, CONTRA_MM, px)
    contra = np.where(np.isnan(contra), col, contra)
    axial = axial_balance(z, bone, frame)
    return {"col_rel": peak_z / np.maximum(col, 1e-3),
            "contra_rel": peak_z / np.maximum(contra, 1e-3),
            "axial_rel": np.full(len(r), 1.0 if np.isnan(axial) else axial)}
