"""One entry point: configs that travel with the weights, and the pipeline they build.

Order of operations (each step documented in its module)::

    prepare (deterministic, cached by training datasets):
      BoneScan counts --> each view block-reduced, area-resampled to ``size``
      --> combine views (align posterior; aggregate / stack / geomean / anterior)
      --> normalisation reference level per channel
      (+ the record of the geometry applied to each view: ``preprocessing.geometry``)
    finish:
      [train: binomial thinning of the cached integer block sums, then resample + combine]
      --[train: L-R flip, rotation + translation]--> count normalisation
      --[train: intensity scaling]--> float32 (C, H, W)

Views are resampled before they are aligned and combined: alignment then runs at the
network's resolution (4x fewer pixels at 512x128) with no loss that matters for a
translation/scale fit. Geometric augmentation precedes normalisation so that pixels moved
in from outside are true background (0 counts).

Example:
    >>> pre = PreprocessConfig(views="stack", size=(512, 128))
    >>> pre.in_chans
    2
    >>> PreprocessConfig.from_dict(pre.to_dict()) == pre
    True
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.preprocessing import augment as A
from osteoscan.preprocessing.geometry import Geometry, record_geometry
from osteoscan.preprocessing.intensity import (
    NORM_MODES,
    apply_reference,
    area_resize,
    block_reduce,
    pad_or_crop,
    reference_levels,
    scaled_shape,
)
from osteoscan.preprocessing.views import (
    MISSING_VIEW,
    VIEW_MODES,
    combine_views,
    in_chans_for,
    posterior_alignment,
)
from osteoscan.types import BoneScan

logger = logging.getLogger(__name__)


def _coerce_floats(obj: Any, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Turn numeric fields given as strings/ints (YAML, CLI) into finite floats, or raise
    ConfigError; only the ``optional`` ones may be None."""
    for name in names:
        value = getattr(obj, name)
        if value is None and name in optional:
            continue
        try:
            if isinstance(value, bool) or not np.isfinite(float(value)):
                raise ValueError(value)
            object.__setattr__(obj, name, float(value))
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{type(obj).__name__}.{name} must be a number, got {value!r}"
            ) from exc


def _from_dict(cls, data: dict[str, Any]):
    """Build a frozen config from a dict (e.g. read from YAML/JSON); unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown key(s) {unknown}; known: {sorted(names)}")
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**args)


@dataclass(frozen=True)
class PreprocessConfig:
    """How a BoneScan becomes a network input (saved in the model card).

    Attributes:
        views: "aggregate", "stack", "geomean" or "anterior" (see ``preprocessing.views``).
        size: (rows, cols) of the output.
        target_spacing_mm: resample to this mm/pixel when the scan's spacing is known;
            None: fit the image into ``size`` keeping its aspect ratio.
        align: align the posterior onto the anterior by the sweep-line critical points.
        missing_view: "duplicate" or "zero" for single-view studies.
        norm: "log", "linear" or "none" (see ``preprocessing.intensity``).
        norm_percentile: percentile of body pixels used as the reference level.
        background_fraction: body pixels are above this fraction of the 99th percentile.
        norm_clip: ratio to the reference level is clipped to [0, norm_clip].
    """

    views: str = "stack"
    size: tuple[int, int] = (1024, 256)
    target_spacing_mm: float | None = None
    align: bool = True
    missing_view: str = "duplicate"
    norm: str = "log"
    norm_percentile: float = 95.0
    background_fraction: float = 0.05
    norm_clip: float = 8.0

    def __post_init__(self) -> None:
        _coerce_floats(
            self, ("target_spacing_mm", "norm_percentile", "background_fraction", "norm_clip"),
            optional=("target_spacing_mm",),
        )
        if not isinstance(self.align, bool):
            raise ConfigError(f"PreprocessConfig.align must be true or false, got {self.align!r}")
        if self.views not in VIEW_MODES:
            raise ConfigError(
                f"PreprocessConfig.views must be one of {VIEW_MODES}, got {self.views!r}"
            )
        if self.missing_view not in MISSING_VIEW:
            raise ConfigError(f"PreprocessConfig.missing_view must be one of {MISSING_VIEW}")
        if self.norm not in NORM_MODES:
            raise ConfigError(
                f"PreprocessConfig.norm must be one of {NORM_MODES}, got {self.norm!r}"
            )
        try:
            size = tuple(int(v) for v in self.size)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"PreprocessConfig.size must be (rows, cols), got {self.size!r}"
            ) from exc
        if len(size) != 2 or min(size) < 8:
            raise ConfigError(f"PreprocessConfig.size must be (rows, cols) >= 8, got {self.size!r}")
        object.__setattr__(self, "size", size)
        if not 0 < self.norm_percentile <= 100 or self.norm_clip <= 0:
            raise ConfigError(
                "PreprocessConfig: norm_percentile must be in (0, 100], norm_clip > 0"
            )
        if self.target_spacing_mm is not None and self.target_spacing_mm <= 0:
            raise ConfigError("PreprocessConfig.target_spacing_mm must be > 0 or None")

    @property
    def in_chans(self) -> int:
        """Channels of the output (2 for "stack", else 1)."""
        return in_chans_for(self.views)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        """Inverse of :meth:`to_dict`; raises ConfigError on unknown keys or bad values."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation (each step applied with its probability ``p_*``).

    Attributes:
        rotate_deg: rotation drawn from U(-rotate_deg, rotate_deg) degrees.
        translate_px: shifts drawn from U(-translate_px, translate_px) output pixels.
        p_affine: probability of the rotation + translation.
        p_flip: probability of a left-right flip of both views together.
        thin_min: count thinning keeps a fraction drawn from U(thin_min, 1).
        p_thin: probability of count thinning.
        intensity_scale: intensity factor drawn from U(1 - s, 1 + s).
        p_intensity: probability of intensity scaling.
    """

    rotate_deg: float = 5.0
    translate_px: float = 8.0
    p_affine: float = 0.8
    p_flip: float = 0.5
    thin_min: float = 0.3
    p_thin: float = 0.5
    intensity_scale: float = 0.1
    p_intensity: float = 0.5

    def __post_init__(self) -> None:
        _coerce_floats(self, tuple(f.name for f in dataclasses.fields(self)))
        for name in ("p_affine", "p_flip", "p_thin", "p_intensity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"AugmentConfig.{name} must be a probability in [0, 1]")
        if not 0.0 < self.thin_min <= 1.0:
            raise ConfigError("AugmentConfig.thin_min must be in (0, 1]")
        if self.rotate_deg < 0 or self.translate_px < 0 or not 0 <= self.intensity_scale < 1:
            raise ConfigError(
                "AugmentConfig: rotate_deg, translate_px >= 0; intensity_scale in [0, 1)"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        """Inverse of :meth:`to_dict`; raises ConfigError on unknown keys or bad values."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class PreparedScan:
    """The deterministic part of the pipeline for one study: what a training dataset caches.

    Attributes:
        base: ``(C, H, W)`` float32 combined counts at the output size (views resampled,
            posterior aligned; not normalised, not augmented).
        refs: ``(C,)`` normalisation reference level of each channel of ``base``.
        blocks: ``(V, h, w)`` float16 integer block sums of the views (1 or 2 views), kept
            only when the pipeline may thin counts; None otherwise.
        area: pixels per block (block means x area = block sums).
        scaled: (rows, cols) of the views after scaling, before pad/crop to the output size.
        align_map: the posterior's alignment map (None: none applied).
        geometry: the record of the operations that took each view to the output grid
            (:class:`~osteoscan.preprocessing.geometry.Geometry`): heatmaps and points map
            back to the scan through it.
    """

    base: np.ndarray
    refs: np.ndarray
    blocks: np.ndarray | None
    area: float
    scaled: tuple[int, int]
    align_map: Any
    geometry: Geometry


class Pipeline:
    """``pipeline(scan, rng) -> float32 (C, H, W)``, in two stages that can be cached apart.

    :meth:`prepare` does the deterministic work (resampling, alignment, normalisation
    statistics); :meth:`finish` augments (when built with an AugmentConfig and called with
    an rng) and normalises. Training datasets cache the prepared studies, so an epoch after
    the first pays only for :meth:`finish`. Thinned studies are rebuilt from the cached
    block sums with the cached alignment; their reference level is the unthinned one times
    the kept fraction (its expectation: the denoised percentiles are count-level
    invariant, see ``preprocessing.intensity``), so percentiles are not recomputed.
    """

    def __init__(self, pre: PreprocessConfig, aug: AugmentConfig | None = None):
        self.pre, self.aug = pre, aug

    def __call__(self, scan: BoneScan, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.finish(self.prepare(scan), rng)

    def _blocks(self, scan: BoneScan) -> tuple[np.ndarray, float, tuple[int, int]]:
        """Block means ``(V, h, w)`` of the views, their block area, and the scaled shape.

        Each view is reduced on its own before stacking: a native 2x1024x256 float32 copy
        costs more than the whole reduction on a memory-bound machine."""
        ant = scan.anterior
        post = scan.posterior if self.pre.views != "anterior" else None
        scaled = scaled_shape(ant.shape, self.pre.size, scan.spacing_mm, self.pre.target_spacing_mm)
        reduced = [block_reduce(v.astype(np.float32, copy=False)[None], *scaled)
                   for v in (ant, post) if v is not None]
        area = reduced[0][1]
        return np.concatenate([r[0] for r in reduced]), area, scaled

    def _combine(self, views: np.ndarray, scaled: tuple[int, int], align_map: Any) -> np.ndarray:
        views = pad_or_crop(area_resize(views, *scaled), self.pre.size)
        post = views[1] if len(views) > 1 else None
        return combine_views(views[0], post, self.pre.views, align=self.pre.align,
                             missing_view=self.pre.missing_view, align_map=align_map)

    def prepare(self, scan: BoneScan) -> PreparedScan:
        """The deterministic stage (see the class docstring)."""
        pre = self.pre
        blocks, area, scaled = self._blocks(scan)
        views = pad_or_crop(area_resize(blocks, *scaled), pre.size)
        post = views[1] if len(views) > 1 else None
        align_map = posterior_alignment(views[0], post, pre.views, pre.align)
        base = combine_views(views[0], post, pre.views, align=pre.align,
                             missing_view=pre.missing_view, align_map=align_map)
        refs = (np.ones(len(base), np.float32) if pre.norm == "none" else reference_levels(
            base, percentile=pre.norm_percentile, background_fraction=pre.background_fraction))
        thins = self.aug is not None and self.aug.p_thin > 0
        keep = (blocks * np.float32(area)).astype(np.float16) if thins else None
        geometry = record_geometry(pre.views, scan.anterior.shape, scaled, pre.size,
                                   scan.has_both_views, align_map)
        return PreparedScan(np.ascontiguousarray(base, np.float32), refs, keep, area, scaled,
                            align_map, geometry)

    def finish(self, prep: PreparedScan, rng: np.random.Generator | None = None) -> np.ndarray:
        """Augment (training calls with an rng) and normalise a prepared study."""
        aug = self.aug if rng is not None else None
        img, refs = prep.base, prep.refs
        if aug is not None and prep.blocks is not None and rng.random() < aug.p_thin:
            keep = float(rng.uniform(aug.thin_min, 1.0))
            # thinning runs on integer block sums: a sum of binomials is binomial, so this
            # is thinning every native pixel, on fewer pixels
            thinned = A.thin_counts(prep.blocks.astype(np.float32), keep, rng) / prep.area
            img, refs = self._combine(thinned, prep.scaled, prep.align_map), refs * keep
        if aug is not None:
            if rng.random() < aug.p_flip:
                img = A.flip_lr(img)
            if rng.random() < aug.p_affine:
                img = A.random_rotate_translate(img, aug.rotate_deg, aug.translate_px, rng)
        if self.pre.norm == "none":
            img = np.array(img, dtype=np.float32)
        else:
            img = apply_reference(img, refs, norm=self.pre.norm, clip=self.pre.norm_clip)
        if aug is not None and rng.random() < aug.p_intensity:
            img = A.scale_intensity(
                img, rng.uniform(1 - aug.intensity_scale, 1 + aug.intensity_scale)
            )
        return np.ascontiguousarray(img, dtype=np.float32)


def build_pipeline(pre: PreprocessConfig, aug: AugmentConfig | None = None) -> Pipeline:
    """Build the :class:`Pipeline` ``f(scan, rng) -> float32 (C, H, W)`` from the configs.

    Args:
        pre: preprocessing (always applied).
        aug: augmentation; applied only when given AND the call passes an rng. Calls with
            ``rng=None`` are deterministic (validation / inference).

    Returns:
        The pipeline; the output has ``pre.in_chans`` channels and ``pre.size`` rows/cols.

    Example:
        >>> import numpy as np
        >>> from osteoscan.types import BoneScan, StudySource
        >>> img = np.ones((64, 16), np.float32)
        >>> scan = BoneScan(img, img, (2.4, 2.4), "p", "s", (), StudySource((), "simulated"))
        >>> build_pipeline(PreprocessConfig(size=(32, 8)))(scan, None).shape
        (2, 32, 8)
    """
    return Pipeline(pre, aug)
