"""osteoscan.lesions: hotspots, skeletal regions, lesion classification, Bone Scan Index.

Example::

    from osteoscan.lesions import LesionAnalyzer
    result = LesionAnalyzer.default().analyze(scan)   # bundled models (simulated data)
    print(result.bsi, result.lesion_count, [h.region for h in result.hotspots])

Submodules are imported lazily (torch is only loaded when a network is needed).
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "LesionStudy": "osteoscan.lesions.training",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'osteoscan.lesions' has no attribute {name!r}")
