"""Patient-level burden: hotspot counts, per-region involvement, Bone Scan Index, probability.

**Bone Scan Index** (Imbriaco et al., Clin Cancer Res 1998; mass fractions of Spiers 1968 in
:data:`osteoscan.skeleton.MASS_FRACTION`)::

    involved(r) = bone pixels of region r covered by a malignant hotspot
    BSI = 100 * sum_r MASS_FRACTION[r] * involved(r) / bone pixels of r      (percent)

A hotspot is malignant when its probability is >= ``threshold`` (0.5). A covered pixel counts
for the region of the region map under it (hotspot pixels off bone, e.g. blur, do not count),
so a fraction never exceeds 1. How the two views combine (``combine``):

* ``"union"`` (default, the simulator's ground-truth definition,
  ``osteoscan.simulate.groundtruth.bone_scan_index``): both views are in anterior
  orientation, so a pixel is one body location; it is involved when a malignant hotspot
  covers it on either view. The region map is the anterior one, with posterior labels
  filling its background pixels.
* ``"mean"`` / ``"max"``: each view's fraction with its own region map, then their mean or max.

With one view, that view alone is used.

**Patient probability** from the lesions: ``1 - prod(1 - p_i)`` over distinct lesions
(noisy-OR; a matched anterior/posterior pair counts once, with the larger probability),
or ``"max"``: the largest lesion probability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from osteoscan.skeleton import MASS_FRACTION, REGION_CODE, REGIONS
from osteoscan.types import Hotspot


@dataclass(frozen=True)
class RegionRow:
    """One line of the region table.

    Attributes:
        region: region name.
        hotspots: distinct hotspots placed in the region (a matched pair counts once).
        malignant: distinct hotspots with probability >= threshold.
        involvement: fraction of the region's bone covered by malignant hotspots (0..1).
        bsi: the region's contribution to the BSI (percent of skeletal mass).
    """

    region: str
    hotspots: int
    malignant: int
    involvement: float
    bsi: float

    def keys(self) -> tuple[str, ...]:
        """Field names, so that ``dict(row)`` works (reports render rows as mappings)."""
        return ("region", "hotspots", "malignant", "involvement", "bsi")

    def __getitem__(self, key: str):
        return getattr(self, key)


def distinct_lesions(by_view: Mapping[str, Sequence[Hotspot]]) -> list[tuple[Hotspot, ...]]:
    """Group hotspots into distinct lesions: matched anterior/posterior pairs, singles."""
    ant = list(by_view.get("anterior", ()))
    post = list(by_view.get("posterior", ()))
    groups: list[tuple[Hotspot, ...]] = []
    for h in ant:
        groups.append((h, post[h.match]) if h.match is not None and h.match < len(post) else (h,))
    matched = {h.match for h in ant if h.match is not None}
    groups.extend((h,) for j, h in enumerate(post) if j not in matched)
    return groups


BSI_SHARE = "bsi_share"
"""Hotspot feature of the hotspot-first detector: the hotspot's share of the BSI (percent)
were its lesion called malignant (``HotspotDetector.decide``'s ``share``)."""


LESION_ID = "lesion"
"""Hotspot feature of the hotspot-first detector: the lesion it belongs to for counting
(:mod:`osteoscan.lesions.lesion_count`; hotspots of one lesion share it)."""


def _called(group: Sequence[Hotspot], threshold: float) -> bool:
    """A distinct lesion is called malignant when its most probable hotspot reaches
    ``threshold``."""
    return max(h.probability for h in group) >= threshold


def _lesion_key(k: int, group: Sequence[Hotspot]):
    """The lesion a distinct-lesion group (the ``k``-th) counts as: its :data:`LESION_ID` when
    its hotspots carry one (the detector joins the candidates of one lesion), else itself."""
    return group[0].features.get(LESION_ID, ("group", k))


def malignant_lesions(groups: Sequence[Sequence[Hotspot]], threshold: float) -> int:
    """Lesions called malignant among distinct-lesion ``groups``: groups sharing one
    :data:`LESION_ID` count once, others one each."""
    return len({_lesion_key(k, g) for k, g in enumerate(groups) if _called(g, threshold)})


def share_bsi(by_view: Mapping[str, Sequence[Hotspot]],
              threshold: float) -> tuple[float, dict[str, float]]:
    """The BSI of hotspots carrying :data:`BSI_SHARE`: the shares of every hotspot of the
    distinct lesions called malignant (``>= threshold``; both views of a lesion count, as in
    the detector's own BSI), and the involvement fraction per region they amount to
    (``share / (100 * MASS_FRACTION)``, summed by each hotspot's region; not clipped, so
    that the region table's BSI adds up to the study's)."""
    bsi: dict[str, float] = {}
    for group in distinct_lesions(by_view):
        if _called(group, threshold):
            for h in group:
                bsi[h.region] = bsi.get(h.region, 0.0) + float(h.features.get(BSI_SHARE, 0.0))
    fractions = {n: b / (100.0 * MASS_FRACTION[n]) for n, b in bsi.items() if n in MASS_FRACTION}
    return float(sum(bsi.values())), fractions


def _malignant_union(hotspots: Sequence[Hotspot], shape, threshold: float) -> np.ndarray:
    hit = np.zeros(shape, dtype=bool)
    for h in hotspots:
        if h.probability >= threshold:
            hit |= h.mask
    return hit


def region_fractions(involved: np.ndarray, region_map: np.ndarray) -> dict[str, float]:
    """Per region present in ``region_map``, the fraction of its bone pixels ``involved``."""
    counts = np.bincount(region_map.ravel(), minlength=len(REGIONS))
    hit = np.bincount(region_map[involved].ravel(), minlength=len(REGIONS))
    return {name: float(hit[REGION_CODE[name]] / counts[REGION_CODE[name]])
            for name in MASS_FRACTION if counts[REGION_CODE[name]]}


def bone_scan_index(
    by_view: Mapping[str, Sequence[Hotspot]],
    region_maps: Mapping[str, np.ndarray],
    *,
    threshold: float = 0.5,
    combine: str = "union",
) -> tuple[float, dict[str, float]]:
    """Bone Scan Index (percent) and the combined involvement fraction per region.

    Args:
        by_view: hotspots per view name.
        region_maps: uint8 region map per view name.
        threshold: probability at which a hotspot counts as malignant.
        combine: "union" (pixel involved on either view), "mean" or "max" of the views'
            fractions.

    Returns:
        ``(bsi_percent, {region: fraction})``.

    Raises:
        ValueError: unknown ``combine``.
    """
    if combine not in ("union", "mean", "max"):
        raise ValueError(f"combine must be 'union', 'mean' or 'max', got {combine!r}")
    views = [v for v in region_maps]
    if not views:
        return 0.0, {}
    if combine == "union":
        rmap = np.array(region_maps[views[0]], copy=True)
        for v in views[1:]:
            rmap = np.where(rmap == 0, region_maps[v], rmap)
        involved = np.zeros(rmap.shape, dtype=bool)
        for v in views:
            involved |= _malignant_union(by_view.get(v, ()), rmap.shape, threshold)
        fractions = {n: region_fractions(involved, rmap).get(n, 0.0) for n in MASS_FRACTION}
    else:
        per_view = [region_fractions(_malignant_union(by_view.get(v, ()), m.shape, threshold), m)
                    for v, m in region_maps.items()]
        agg = np.mean if combine == "mean" else np.max
        fractions = {n: float(agg([f.get(n, 0.0) for f in per_view])) for n in MASS_FRACTION}
    bsi = 100.0 * sum(MASS_FRACTION[n] * f for n, f in fractions.items())
    return float(bsi), fractions


def region_table(by_view: Mapping[str, Sequence[Hotspot]], fractions: Mapping[str, float],
                 threshold: float = 0.5) -> list[RegionRow]:
    """The region table (regions with a hotspot or involvement only), in REGIONS order: per
    region the distinct hotspots and the lesions called malignant (hotspots carrying one
    :data:`LESION_ID` count once, as in :func:`malignant_lesions`)."""
    counts: dict[str, tuple[list, set]] = {}
    for k, group in enumerate(distinct_lesions(by_view)):
        c = counts.setdefault(group[0].region, ([], set()))
        c[0].append(k)
        if _called(group, threshold):
            c[1].add(_lesion_key(k, group))
    rows = []
    for name in REGIONS[1:]:
        n, m = (len(c) for c in counts.get(name, ((), ())))
        frac = fractions.get(name, 0.0)
        if n or frac:
            rows.append(RegionRow(name, n, m, frac, 100.0 * MASS_FRACTION[name] * frac))
    return rows


def patient_probability(by_view: Mapping[str, Sequence[Hotspot]], method: str = "noisy_or") -> float:
    """Probability that the patient has metastases, from the lesion probabilities.

    Args:
        by_view: hotspots per view name (with ``match`` set).
        method: "noisy_or" (``1 - prod(1 - p)`` over distinct lesions) or "max".

    Returns:
        A probability in 0..1 (0 with no hotspot).

    Example:
        >>> import numpy as np
        >>> from osteoscan.types import Hotspot
        >>> m = np.zeros((2, 2), bool)
        >>> hs = [Hotspot("anterior", 1, 1, 1, "ribs", p, m) for p in (0.5, 0.5)]
        >>> patient_probability({"anterior": hs})
        0.75
    """
    probs = [max(h.probability for h in g) for g in distinct_lesions(by_view)]
    if not probs:
        return 0.0
    if method == "max":
        return float(max(probs))
    if method != "noisy_or":
        raise ValueError(f"method must be 'noisy_or' or 'max', got {method!r}")
    return float(1.0 - np.prod(1.0 - np.clip(probs, 0.0, 1.0)))
