"""osteoscan.preprocessing: BoneScan -> network input, numpy/scipy only (no torch).

Example:
    >>> from osteoscan.preprocessing import PreprocessConfig, AugmentConfig, build_pipeline
    >>> pipe = build_pipeline(PreprocessConfig(views="aggregate", size=(512, 128)), AugmentConfig())
"""

from osteoscan.preprocessing.augment import flip_lr, rotate_translate, scale_intensity, thin_counts
from osteoscan.preprocessing.intensity import normalise_counts, reference_level, resample
from osteoscan.preprocessing.pipeline import AugmentConfig, PreprocessConfig, build_pipeline
from osteoscan.preprocessing.views import (
    VIEW_MODES,
    CriticalPoints,
    align_to,
    combine_views,
    critical_points,
)

__all__ = [
    "VIEW_MODES",
    "AugmentConfig",
    "CriticalPoints",
    "PreprocessConfig",
    "align_to",
    "build_pipeline",
    "combine_views",
    "critical_points",
    "flip_lr",
    "normalise_counts",
    "reference_level",
    "resample",
    "rotate_translate",
    "scale_intensity",
    "thin_counts",
]
