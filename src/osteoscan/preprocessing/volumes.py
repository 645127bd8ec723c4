"""Intensity preprocessing of volumes: CT windowing in HU and SPECT count normalisation.

* :func:`hu_window` maps HU through a (level, width) window to 0..1; named windows are in
  :data:`HU_WINDOWS` (bone 500/2000 shows cortex, sclerosis and lysis at once).
* :func:`normalise_spect` is the planar count normalisation of
  :mod:`osteoscan.preprocessing.intensity` (divide by a robust reference, clip, log-map; one
  rule for 2-D and 3-D) with the reference taken in 3-D: the ``percentile``-th percentile
  (default 95) of body voxels of a denoised copy (1-voxel gaussian), body voxels being those
  above ``background_fraction`` of its 99th percentile. The statistics use at most
  :data:`MAX_SAMPLE` voxels (a regular stride), so a SPECT on a 512 x 512 x 300 CT grid costs
  the same as a small one. Counts of one patient at two count levels then agree up to noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.preprocessing.intensity import NORM_MODES, apply_reference

HU_WINDOWS: dict[str, tuple[float, float]] = {
    "bone": (500.0, 2000.0),
    "trabecular": (250.0, 700.0),
    "soft": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "full": (1023.5, 4095.0),
}
"""Named CT windows: (level, width) in HU."""

MAX_SAMPLE = 1 << 21
"""Most voxels the SPECT reference statistics are taken on."""


def window_of(window: str | tuple[float, float]) -> tuple[float, float]:
    """(level, width) of a named window or of a (level, width) pair.

    Raises:
        ConfigError: unknown name, or a width that is not positive.
    """
    if isinstance(window, str):
        if window not in HU_WINDOWS:
            raise ConfigError(f"CT window {window!r}: choose one of {', '.join(HU_WINDOWS)} or "
                              "give (level, width)")
        return HU_WINDOWS[window]
    level, width = (float(v) for v in window)
    if not width > 0:
        raise ConfigError(f"CT window width {width}: must be positive")
    return level, width


def hu_window(hu: np.ndarray, window: str | tuple[float, float] = "bone") -> np.ndarray:
    """HU through a window to float32 in [0, 1] (level - width/2 -> 0, level + width/2 -> 1).

    Example:
        >>> float(hu_window(np.array([500.0]), (500, 2000))[0])
        0.5
    """
    level, width = window_of(window)
    out = np.subtract(hu, level - width / 2.0, dtype=np.float32)
    out *= np.float32(1.0 / width)
    return np.clip(out, 0.0, 1.0, out=out)


def _sample(arr: np.ndarray) -> np.ndarray:
    step = max(1, int(np.ceil((arr.size / MAX_SAMPLE) ** (1 / 3))))
    return arr[::step, ::step, ::step]


def spect_reference_level(counts: np.ndarray, *, percentile: float = 95.0,
                          background_fraction: float = 0.05) -> float:
    """The robust count level a SPECT volume is divided by (>= a tiny epsilon)."""
    sample = ndimage.gaussian_filter(_sample(np.asarray(counts, np.float32)), 1.0)
    hi = float(np.percentile(sample, 99.0))
    body = sample[sample > background_fraction * hi]
    if body.size < 64:
        return max(hi, 1e-6)
    return max(float(np.percentile(body, percentile)), 1e-6)


def normalise_spect(counts: np.ndarray, *, norm: str = "log", percentile: float = 95.0,
                    background_fraction: float = 0.05, clip: float = 8.0) -> np.ndarray:
    """Normalise a (z, y, x) SPECT volume of counts to float32 (see the module docstring).

    Args:
        counts: the counts (any grid).
        norm: "log" (default, values in 0..1), "linear" (ratio to the reference, 0..clip) or
            "none" (a float32 copy).
        percentile, background_fraction: the reference rule.
        clip: largest ratio kept.

    Raises:
        ConfigError: unknown norm.
    """
    if norm not in NORM_MODES:
        raise ConfigError(f"norm must be one of {NORM_MODES}, got {norm!r}")
    arr = np.asarray(counts, dtype=np.float32)
    if norm == "none":
        return arr.copy()
    ref = spect_reference_level(arr, percentile=percentile,
                                background_fraction=background_fraction)
    flat = arr.reshape(1, -1, arr.shape[-1])  # apply_reference works on (C, H, W)
    return apply_reference(flat, np.array([ref], np.float32), norm=norm,
                           clip=clip).reshape(arr.shape)
