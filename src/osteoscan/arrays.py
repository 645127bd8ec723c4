"""Array helpers shared by every layer (numpy and OpenCV only; no torch).

They sit below ``io`` so that the reader (view identification) and preprocessing use the
same code.
"""

from __future__ import annotations

import cv2
import numpy as np


def block_mean(img: np.ndarray, ky: int, kx: int, *, crop: bool = False) -> np.ndarray:
    """Means over ``ky x kx`` blocks of the last two axes, float32.

    The sizes must divide exactly, unless ``crop`` drops the last rows and columns that do
    not fill a whole block.

    OpenCV's area resize at integer factors is exactly the block mean (its fast path sums
    each block and scales once), 2-5x faster than the best numpy form (a sum of ``ky * kx``
    strided views), which itself is ~15x faster than ``reshape(...).mean(axis=...)``.

    Example:
        >>> block_mean(np.arange(16, dtype=np.float32).reshape(4, 4), 2, 2).tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    if crop:
        img = img[..., : img.shape[-2] // ky * ky, : img.shape[-1] // kx * kx]
    h, w = img.shape[-2:]
    if h % ky or w % kx or h < ky or w < kx:
        raise ValueError(f"block_mean: {ky}x{kx} blocks do not tile a {h}x{w} image")
    planes = np.ascontiguousarray(img, dtype=np.float32).reshape(-1, h, w)
    out = np.empty((planes.shape[0], h // ky, w // kx), np.float32)
    for i, plane in enumerate(planes):  # 1-3 planes (views or channels), not pixels
        out[i] = cv2.resize(plane, (w // kx, h // ky), interpolation=cv2.INTER_AREA)
    return out.reshape(img.shape[:-2] + out.shape[1:])


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation, all elements) as a float.

    One ``np.partition`` and the minimum of the short tail above it: the same value (to
    float rounding), 3-8x faster than numpy's general path on the 10^4-10^5 pixels of a
    view. Preprocessing, view identification and report rendering take several per study.

    Example:
        >>> percentile(np.array([1.0, 2.0, 3.0, 4.0]), 50.0)
        2.5
    """
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        raise ValueError("percentile of an empty array")
    pos = (flat.size - 1) * q / 100.0
    lo = min(int(np.floor(pos)), flat.size - 1)
    part = np.partition(flat, lo)
    low = float(part[lo])
    if lo + 1 >= flat.size or pos == lo:
        return low
    return low + (float(part[lo + 1:].min()) - low) * (pos - lo)
