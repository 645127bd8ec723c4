"""The pointing game: does a heatmap's peak fall on a true lesion? (Zhang et al., ECCV 2016)

A heatmap "hits" when its maximum lies within ``tolerance_px`` pixels (Euclidean) of a
pixel of a true malignant lesion on that view. The tolerance (default 4 px, about 10 mm at
2.4 mm/pixel) absorbs the coarseness of Grad-CAM: the target layer of a CNN sees the image
at 1/32 of its resolution, so one heatmap cell spans 8-16 view pixels after mapping back.

A study hits when the anterior or the posterior map hits (a lesion may be visible on one
view only). The chance level of a study is what a peak placed uniformly at random on the
body would score: the fraction of body pixels within the tolerance of a lesion, so the
hit rate can be read against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

DEFAULT_TOLERANCE_PX = 4.0


@dataclass(frozen=True)
class PointingResult:
    """Pointing-game outcome of one study.

    Attributes:
        hit: the peak of at least one view's map is on a lesion.
        hits: view name -> hit, for views with a heatmap and at least one lesion.
        peaks: view name -> (row, col) of the heatmap maximum.
        distance_px: view name -> distance from the peak to the nearest lesion pixel.
        chance: chance level of the study (see the module docstring).
    """

    hit: bool
    hits: dict[str, bool]
    peaks: dict[str, tuple[int, int]]
    distance_px: dict[str, float]
    chance: float


def malignant_mask(instances: np.ndarray, malignant_ids: Iterable[int]) -> np.ndarray:
    """Boolean mask of the malignant lesions in an int instance-id mask."""
    ids = np.fromiter((int(i) for i in malignant_ids), dtype=np.int64)
    return np.isin(instances, ids) if ids.size else np.zeros(instances.shape, bool)


def pointing_game(
    heatmaps: dict[str, np.ndarray], lesions: dict[str, np.ndarray], *,
    tolerance_px: float = DEFAULT_TOLERANCE_PX, body: dict[str, np.ndarray] | None = None,
) -> PointingResult | None:
    """Score one study.

    Args:
        heatmaps: view name -> float (rows, cols) map.
        lesions: view name -> bool (rows, cols) mask of true malignant lesions.
        tolerance_px: a peak this close (pixels) to a lesion pixel counts as a hit.
        body: view name -> bool mask of the body for the chance level (the whole image
            when absent).

    Returns:
        The result, or None when no view has both a map and a lesion (nothing to point at).

    Example:
        >>> h = np.zeros((10, 10)); h[2, 3] = 1
        >>> m = np.zeros((10, 10), bool); m[2, 6] = True
        >>> pointing_game({"anterior": h}, {"anterior": m}, tolerance_px=3).hit
        True
    """
    hits, peaks, dist, chance_px, body_px = {}, {}, {}, 0, 0
    for view, heat in heatmaps.items():
        mask = lesions.get(view)
        if mask is None or not mask.any():
            continue
        peak = tuple(int(v) for v in np.unravel_index(int(np.argmax(heat)), heat.shape))
        edt = ndimage.distance_transform_edt(~mask)
        near = edt <= tolerance_px
        peaks[view], dist[view] = peak, float(edt[peak])
        hits[view] = bool(near[peak])
        region = body[view] if body is not None and view in body else np.ones(mask.shape, bool)
        chance_px += int((near & region).sum())
        body_px += int(region.sum())
    if not hits:
        return None
    return PointingResult(any(hits.values()), hits, peaks, dist, chance_px / max(body_px, 1))


def summarise(results: Iterable[PointingResult | None]) -> dict:
    """Hit rate over studies (None entries skipped), with a Wilson 95% interval and chance."""
    scored = [r for r in results if r is not None]
    n = len(scored)
    k = sum(r.hit for r in scored)
    lo, hi = wilson_interval(k, n)
    per_view: dict[str, list[bool]] = {}
    for r in scored:
        for v, h in r.hits.items():
            per_view.setdefault(v, []).append(h)
    return {"n": n, "hits": k, "hit_rate": k / n if n else None, "ci95": [lo, hi],
            "chance": float(np.mean([r.chance for r in scored])) if n else None,
            "per_view": {v: {"n": len(h), "hit_rate": float(np.mean(h))} for v, h in per_view.items()},
            "median_distance_px": float(np.median([min(r.distance_px.values()) for r in scored])) if n else None}


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion k/n (None, None when n == 0)."""
    if n == 0:
        return None, None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
