"""Image patches of the detector's candidates at a fixed physical scale (torch-free).

Each candidate gets a ``PATCH_PX`` x ``PATCH_PX`` patch covering ``PATCH_MM`` x ``PATCH_MM``
mm of the normalised map ``z`` (:class:`osteoscan.lesions.candidates.ViewMaps`: counts over
the patient's own normal bone level), centred on its peak and resampled bilinearly
(``scipy.ndimage.map_coordinates``), so that the pixel size of the camera drops out. Two
channels:

0. the candidate itself;
1. the contralateral side: the same window around the point mirrored across the body
   midline (:class:`osteoscan.lesions.context.BodyFrame`), flipped left-right so that it
   lies like channel 0 (a symmetric joint looks the same in both channels, a metastasis
   does not).

Values are ``log(z)`` clipped to ``[log Z_MIN, log Z_MAX]`` (normal bone is 0, soft tissue
about -1.5, a bright lesion 1-3): the range of bone-scan uptake is multiplicative. They are
stored as float16 in the detector's per-study records (``patches`` option of
:func:`osteoscan.lesions.patient.study_arrays`). The network that scores them is
:mod:`osteoscan.lesions.patchnet`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from osteoscan.lesions.candidates import ViewMaps
from osteoscan.lesions.context import BodyFrame
from osteoscan.types import Hotspot

PATCH_MM = 64.0
"""Side of a patch in mm (a large metastasis is 48 mm across; the rest is its surroundings)."""

PATCH_PX = 32
"""Side of a patch in pixels (2 mm per pixel, finer than most cameras' 2.4-4.8 mm)."""

PATCH_FEATURE = "cnn_p"
"""Name of the patch network's probability among the detector trees' inputs (their last
column; defined here, below both :mod:`osteoscan.lesions.patient` and
:mod:`osteoscan.lesions.patchnet`, which read it)."""

CHANNELS = ("this", "mirror")
"""The channels of a patch, in order (module docstring)."""

Z_MIN, Z_MAX = 0.05, 40.0
"""Clip of ``z`` before the logarithm."""


def _offsets(spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets (pixels of the view) of the patch grid around its centre."""
    mm = (np.arange(PATCH_PX) - (PATCH_PX - 1) / 2) * (PATCH_MM / PATCH_PX)
    return mm / spacing[0], mm / spacing[1]


def _sample(img: np.ndarray, rows: np.ndarray, cols: np.ndarray, dr: np.ndarray,
            dc: np.ndarray) -> np.ndarray:
    """(n, P, P) bilinear samples of ``img`` at ``rows[i] + dr`` x ``cols[i] + dc`` (0 outside)."""
    rr = rows[:, None, None] + dr[None, :, None]
    cc = cols[:, None, None] + dc[None, None, :]
    rr, cc = np.broadcast_arrays(rr, cc)
    out = ndimage.map_coordinates(img, [rr.ravel(), cc.ravel()], order=1, mode="constant", cval=0.0)
    return out.reshape(rr.shape)


def view_patches(hots: list[Hotspot], maps: ViewMaps, frame: BodyFrame) -> np.ndarray:
    """(n, len(CHANNELS), PATCH_PX, PATCH_PX) float16 patches of one view's candidates."""
    if not hots:
        return np.zeros((0, len(CHANNELS), PATCH_PX, PATCH_PX), np.float16)
    r = np.array([h.features["peak_row"] for h in hots], float)
    c = np.array([h.features["peak_col"] for h in hots], float)
    logz = np.log(np.clip(maps.z, Z_MIN, Z_MAX)).astype(np.float32)
    floor = float(np.log(Z_MIN))
    dr, dc = _offsets(maps.spacing)
    # sampled with a 0 outside the image, i.e. log Z_MIN after the shift below
    this = _sample(logz - floor, r, c, dr, dc)
    mirror = _sample(logz - floor, r, 2 * frame.midline(r) - c, dr, -dc)
    return (np.stack([this, mirror], axis=1) + floor).astype(np.float16)


def scan_patches(hot: dict[str, list[Hotspot]], maps: dict[str, ViewMaps],
                 frames: dict[str, BodyFrame], views: list[str]) -> np.ndarray:
    """Patches of every candidate of a scan, views in the order of ``views`` (the order of
    :class:`osteoscan.lesions.patient.StudyArrays`)."""
    parts = [view_patches(hot[v], maps[v], frames[v]) for v in views]
    if not parts:
        return np.zeros((0, len(CHANNELS), PATCH_PX, PATCH_PX), np.float16)
    return np.concatenate(parts)
