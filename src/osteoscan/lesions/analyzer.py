"""The lesion stage in one object: scan -> hotspots, regions, probabilities, BSI.

Example::

    from osteoscan.lesions import LesionAnalyzer
    result = LesionAnalyzer.default().analyze(scan)
    result.bsi, [(h.view, h.region, h.probability) for h in result.hotspots]
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from osteoscan.errors import ModelError
from osteoscan.lesions.bundle import ASSETS, set_threads
from osteoscan.lesions.burden import (
    BSI_SHARE,
    RegionRow,
    bone_scan_index,
    distinct_lesions,
    malignant_lesions,
    patient_probability,
    region_table,
    share_bsi,
)
from osteoscan.lesions.classifier import LesionClassifier
from osteoscan.lesions.hotspots import HotspotSegmenter, extract_hotspots, scan_views
from osteoscan.lesions.regions import RegionSegmenter, match_views, normal_bone_means, place
from osteoscan.skeleton import REGION_CODE, REGIONS
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

BUNDLED = {"segmenter": "hotspot_unet", "regions": "region_unet", "classifier": "lesion_classifier"}
"""File stems of the bundled models in ``osteoscan/assets/lesions``."""


@dataclass(frozen=True, eq=False)
class LesionResult:
    """Everything the lesion stage found on one scan.

    Attributes:
        hotspots: anterior hotspots (head to toe) then posterior ones; ``match`` is the index
            of the partner within the other view's hotspots (``by_view``).
        bsi: Bone Scan Index in percent of skeletal mass.
        probability: patient-level probability of metastasis built from the lesions.
        lesion_count: distinct hotspots (a matched anterior/posterior pair counts once).
        malignant_count: distinct hotspots with probability >= the threshold.
        regions: the region table.
        region_maps: uint8 region map per view.
        threshold: probability at which a hotspot is called malignant.
    """

    hotspots: tuple[Hotspot, ...]
    bsi: float
    probability: float
    lesion_count: int
    malignant_count: int
    regions: tuple[RegionRow, ...]
    region_maps: dict[str, np.ndarray] = field(default_factory=dict)
    threshold: float = 0.5

    @property
    def by_view(self) -> dict[str, list[Hotspot]]:
        """Hotspots per view name, in order."""
        out: dict[str, list[Hotspot]] = {}
        for h in self.hotspots:
            out.setdefault(h.view, []).append(h)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no masks; see docs/lesions.md for the fields)."""
        keys = ("view", "row", "col", "area_mm2", "region", "probability", "max_counts",
                "mean_counts", "uptake_ratio", "match")
        return {
            "bsi": self.bsi,
            "probability": self.probability,
            "lesion_count": self.lesion_count,
            "malignant_count": self.malignant_count,
            "threshold": self.threshold,
            "hotspots": [{k: getattr(h, k) for k in keys} for h in self.hotspots],
            "regions": [dataclasses.asdict(r) for r in self.regions],
        }


def _uptake(hotspots: list[Hotspot], counts: np.ndarray, region_map: np.ndarray) -> list[Hotspot]:
    """Set region and uptake ratio (mean counts / normal bone of the same region)."""
    union = np.zeros(counts.shape, dtype=bool)
    for h in hotspots:
        union |= h.mask
    normal = normal_bone_means(counts, region_map, union)
    out = []
    for h in hotspots:
        region = place(h.mask, region_map, h.row, h.col)
        ref = normal.get(region, normal["__all__"])
        out.append(dataclasses.replace(h, region=region, uptake_ratio=h.mean_counts / max(ref, 1e-6)))
    return out


def _focal(hotspots: list[Hotspot], region_map: np.ndarray, max_fraction: float) -> list[Hotspot]:
    """Drop components covering more than ``max_fraction`` of their region's bone pixels."""
    bone = np.bincount(region_map.ravel(), minlength=len(REGIONS))
    keep = []
    for h in hotspots:
        n = bone[REGION_CODE.get(h.region, 0)] if h.region != "background" else 0
        covered = int((h.mask & (region_map == REGION_CODE.get(h.region, 0))).sum()) if n else 0
        if n and covered > max_fraction * n:
            log.debug("dropped diffuse %s component (%.0f%% of the region)", h.region, 100 * covered / n)
            continue
        keep.append(h)
    return keep


@dataclass
class LesionAnalyzer:
    """Hotspot segmenter + region segmenter + lesion classifier + burden rules.

    Attributes:
        segmenter: hotspot network.
        regions: skeletal-region network.
        classifier: benign/malignant network.
        combine: how the BSI combines views ("union", "mean" or "max").
        patient_method: "noisy_or" or "max" (see :mod:`osteoscan.lesions.burden`).
        max_region_fraction: a component covering more than this fraction of its region's
            bone is diffuse uptake, not a focal hotspot, and is dropped (e.g. a whole skull
            lit up on a blurrier camera; docs/lesions.md).
    """

    segmenter: HotspotSegmenter
    regions: RegionSegmenter
    classifier: LesionClassifier
    combine: str = "union"
    patient_method: str = "noisy_or"
    max_region_fraction: float = 0.5

    @classmethod
    def load(cls, folder: str | Path, *, threads: int | None = None) -> LesionAnalyzer:
        """Load the three models from ``folder`` (stems as in :data:`BUNDLED`).

        ``threads`` sets torch's thread count when given; by default loading leaves it as
        the caller set it (a default of 2 made a loaded 2-core machine spin in OpenMP
        barriers: 5.8-7.7 s per study against 0.66 s with one thread, lesionscv's figure).

        Raises:
            ModelError: a file is missing or invalid.
        """
        set_threads(threads)
        folder = Path(folder)
        return cls(
            HotspotSegmenter.load(folder / BUNDLED["segmenter"]),
            RegionSegmenter.load(folder / BUNDLED["regions"]),
            LesionClassifier.load(folder / BUNDLED["classifier"]),
        )

    @classmethod
    def default(cls) -> LesionAnalyzer:
        """The bundled lesion models (trained on simulated scans only)."""
        if not (ASSETS / f"{BUNDLED['segmenter']}.safetensors").exists():
            raise ModelError(f"{ASSETS}: bundled lesion models are missing")
        return cls.load(ASSETS)

    def _hotspots(self, scan: BoneScan, region_maps: Mapping[str, np.ndarray]) -> dict[str, list[Hotspot]]:
        probs = self.segmenter.predict(scan)
        card = self.segmenter.card
        by_view = {}
        for view, counts in scan_views(scan).items():
            hs = extract_hotspots(probs[view], counts, view, spacing_mm=scan.spacing_mm,
                                  threshold=card.get("threshold", 0.5),
                                  min_area_px=card.get("min_area_px", 4))
            hs = _uptake(hs, counts, region_maps[view])
            by_view[view] = _focal(hs, region_maps[view], self.max_region_fraction)
        ant, post = match_views(by_view["anterior"], by_view.get("posterior", []), scan.spacing_mm)
        return {"anterior": ant, "posterior": post} if scan.has_both_views else {"anterior": ant}

    def analyze(self, scan: BoneScan) -> LesionResult:
        """Run the lesion stage on one scan."""
        region_maps = self.regions.predict(scan)
        by_view = self._hotspots(scan, region_maps)
        for view, hs in by_view.items():
            probs = self.classifier.predict(scan, hs)
            by_view[view] = [dataclasses.replace(h, probability=float(p)) for h, p in zip(hs, probs, strict=True)]
        thr = float(self.classifier.card.get("threshold", 0.5))
        bsi, fractions = bone_scan_index(by_view, region_maps, threshold=thr, combine=self.combine)
        groups = distinct_lesions(by_view)
        log.debug("%s: %d hotspots, BSI %.2f", scan.study_id, len(groups), bsi)
        return LesionResult(
            hotspots=tuple(h for hs in by_view.values() for h in hs),
            bsi=bsi,
            probability=patient_probability(by_view, self.patient_method),
            lesion_count=len(groups),
            malignant_count=malignant_lesions(groups, thr),
            regions=tuple(region_table(by_view, fractions, thr)),
            region_maps=dict(region_maps),
            threshold=thr,
        )


def bundled_or_none() -> LesionAnalyzer | None:
    """The bundled analyzer, or None (logged) when its models are not installed.

    The analyze engineer's Predictor attaches this by default, so that a missing lesion
    bundle degrades to "no hotspots" instead of failing the image-level analysis.
    """
    try:
        return LesionAnalyzer.load(ASSETS, threads=None)
    except ModelError as exc:
        log.warning("lesion stage disabled: %s", exc)
        return None



def agreeing(result: LesionResult, probability: float, positive: bool) -> LesionResult:
    """``result`` made to agree with a study decision taken elsewhere (the image model's, when
    the lesion stage does not decide): the rule of ``HotspotDetector.decide``. Each hotspot's
    probability is capped at the study's (a lesion cannot be more likely malignant than the
    patient is metastatic); a study called normal has no malignant lesion and a BSI of 0; a
    study called metastatic has its lesions at or above the threshold malignant, and at least
    its most probable one. The BSI is recomputed from the region maps when the result has
    them (the lesion networks'), else from the hotspots' shares of the BSI when they carry
    them (the hotspot-first detector's :data:`~osteoscan.lesions.burden.BSI_SHARE`: so a
    study the detector found normal and the image model calls metastatic gets the BSI of the
    lesions now called malignant, not 0), else kept for a metastatic study."""
    by_view = {v: [dataclasses.replace(h, probability=min(h.probability, probability)) for h in hs]
               for v, hs in result.by_view.items()}
    groups = distinct_lesions(by_view)
    top = max((max(h.probability for h in g) for g in groups), default=0.0)
    if not positive:
        thr = max(result.threshold, float(np.nextafter(probability, 2.0)))  # above every capped p
    else:
        thr = result.threshold if top >= result.threshold or not groups else top
    shares = bool(result.hotspots) and all(BSI_SHARE in h.features for h in result.hotspots)
    if result.region_maps or shares:
        bsi, fractions = (bone_scan_index(by_view, result.region_maps, threshold=thr)
                          if result.region_maps else share_bsi(by_view, thr))
        regions = tuple(region_table(by_view, fractions, thr))
    else:
        bsi = result.bsi if positive else 0.0
        regions = result.regions if positive else tuple(region_table(by_view, {}, thr))
    return dataclasses.replace(
        result, hotspots=tuple(h for hs in by_view.values() for h in hs), bsi=float(bsi),
        malignant_count=malignant_lesions(groups, thr),
        regions=regions, threshold=float(thr))
