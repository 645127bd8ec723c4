"""osteoscan.lesions: hotspots, skeletal regions, lesion classification, Bone Scan Index.

Example::

    from osteoscan.lesions import LesionAnalyzer
    result = LesionAnalyzer.default().analyze(scan)   # bundled models (simulated data)
    result.bsi, result.lesion_count, [h.region for h in result.hotspots]

Submodules are imported lazily (torch is only loaded when a network is needed).
"""

from __future__ import annotations

from osteoscan._lazy import lazy_getattr

_LAZY = {
    "LesionAnalyzer": "osteoscan.lesions.analyzer",
    "LesionResult": "osteoscan.lesions.analyzer",
    "HotspotSegmenter": "osteoscan.lesions.hotspots",
    "RegionSegmenter": "osteoscan.lesions.regions",
    "LesionClassifier": "osteoscan.lesions.classifier",
    "extract_hotspots": "osteoscan.lesions.hotspots",
    "box_pseudo_mask": "osteoscan.lesions.hotspots",
    "match_views": "osteoscan.lesions.regions",
    "bone_scan_index": "osteoscan.lesions.burden",
    "patient_probability": "osteoscan.lesions.burden",
    "LesionStudy": "osteoscan.lesions.studies",
    "HotspotDetector": "osteoscan.lesions.patient",
    "scan_candidates": "osteoscan.lesions.candidates",
    "scan_context": "osteoscan.lesions.context",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
