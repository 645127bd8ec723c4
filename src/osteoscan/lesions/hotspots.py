"""Hotspot segmentation: a MONAI U-Net per view -> connected components -> Hotspot objects.

The network sees the normalised counts of one view plus the other view as context (two
channels), resampled to a fixed working shape (default 512 x 128, half a 1024 x 256 scan),
and returns a per-pixel probability of abnormal uptake, resampled back to the scan's grid.
Components come from ``scipy.ndimage.label`` and their shape features from
``skimage.measure.regionprops``. Box-only annotations become box-constrained pseudo-masks
(:func:`box_pseudo_mask`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.measure import regionprops

from osteoscan.lesions.bundle import load_weights, read_card, save_bundle
from osteoscan.models.segmenters import create_segmenter
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

WORK_SHAPE: tuple[int, int] = (512, 128)
"""Default (rows, cols) the lesion networks work at."""

MAX_HOTSPOTS = 100
"""Most hotspots kept per view."""

SHAPE_FEATURES = ("eccentricity", "solidity", "extent", "major_axis_mm", "minor_axis_mm")


def normalise_view(counts: np.ndarray) -> np.ndarray:
    """Scale counts so that typical bone is about 1 (count-level independent).

    The scale is the mean of the pixels above the view's mean (mostly bone and soft tissue
    near bone); values are clipped to [0, 10] so the bladder does not dominate.
    """
    x = np.asarray(counts, dtype=np.float32)
    above = x[x > x.mean()]
    scale = float(above.mean()) if above.size else 1.0
    return np.clip(x / max(scale, 1e-6), 0.0, 10.0).astype(np.float32)


def scan_views(scan: BoneScan) -> dict[str, np.ndarray]:
    """The views of a scan by name (a single-view scan uses its view as its own context)."""
    views = {"anterior": scan.anterior}
    if scan.posterior is not None:
        views["posterior"] = scan.posterior
    return views


def view_input(scan: BoneScan, view: str) -> np.ndarray:
    """Two-channel input (this view, the other view), normalised, at the scan's grid."""
    views = scan_views(scan)
    other = "posterior" if view == "anterior" else "anterior"
    this = normalise_view(views[view])
    return np.stack([this, normalise_view(views.get(other, views[view]))])


def resize(x: torch.Tensor, shape: tuple[int, int], mode: str = "area") -> torch.Tensor:
    """Resample an (N, C, H, W) tensor to ``shape`` (area down, bilinear up)."""
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    if mode == "area" and (shape[0] > x.shape[-2] or shape[1] > x.shape[-1]):
        mode = "bilinear"
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(x, size=shape, mode=mode, **kw)


@dataclass
class ViewSegmenter:
    """A per-view segmentation network plus its card (shared by hotspots and regions).

    Attributes:
        net: a MONAI U-Net family network taking :func:`view_input` channels.
        card: model card (``arch``, ``arch_kwargs``, ``work_shape``, ...).
    """

    net: torch.nn.Module
    card: dict[str, Any]

    @classmethod
    def load(cls, path):
        """Load from ``<path>.safetensors`` + ``<path>.json``."""
        card = read_card(path)
        net = create_segmenter(card["arch"], **card["arch_kwargs"])
        return cls(load_weights(net, path), card)

    def save(self, path) -> None:
        """Write weights and card."""
        save_bundle(self.net, self.card, path)

    @torch.no_grad()
    def view_logits(self, scan: BoneScan) -> dict[str, torch.Tensor]:
        """Per-view logits (1, C, rows, cols), run at the card's work shape, back at the scan's grid."""
        self.net.eval()
        out = {}
        for view in scan_views(scan):
            x = torch.from_numpy(view_input(scan, view))[None]
            logits = self.net(resize(x, tuple(self.card["work_shape"])))
            # channels-last: the up-sampling is ~8x faster and a per-pixel argmax over
            # classes (region maps) reads contiguous memory; values are identical
            logits = logits.contiguous(memory_format=torch.channels_last)
            out[view] = resize(logits, scan.shape, mode="bilinear")
        return out


@dataclass
class HotspotSegmenter(ViewSegmenter):
    """A trained hotspot network plus its card.

    Attributes:
        net: MONAI U-Net, 2 input channels, 1 output logit channel.
        card: model card (``arch``, ``arch_kwargs``, ``work_shape``, ``threshold``...).
    """

    @classmethod
    def build(cls, arch: str = "unet", work_shape=WORK_SHAPE, **arch_kwargs) -> HotspotSegmenter:
        """A fresh (untrained) segmenter."""
        kwargs = {"in_channels": 2, "out_channels": 1, **arch_kwargs}
        card = {"task": "hotspot-segmentation", "arch": arch, "arch_kwargs": kwargs,
                "work_shape": list(work_shape), "threshold": 0.5, "min_area_px": 4}
        return cls(create_segmenter(arch, **kwargs), card)

    def predict(self, scan: BoneScan) -> dict[str, np.ndarray]:
        """Per-view probability maps of abnormal uptake, at the scan's grid."""
        return {v: torch.sigmoid(lg)[0, 0].numpy() for v, lg in self.view_logits(scan).items()}


def _features(prop, counts: np.ndarray, spacing: tuple[float, float]) -> dict[str, float]:
    """Shape and intensity features of one component (lengths in mm)."""
    px = float(np.sqrt(spacing[0] * spacing[1]))
    return {
        "area_px": float(prop.area),
        "eccentricity": float(prop.eccentricity),
        "solidity": float(prop.solidity),
        "extent": float(prop.extent),
        "major_axis_mm": float(prop.axis_major_length) * px,
        "minor_axis_mm": float(prop.axis_minor_length) * px,
        "rel_row": float(prop.centroid[0] / counts.shape[0]),
        "rel_col": float(prop.centroid[1] / counts.shape[1]),
    }


def extract_hotspots(
    prob: np.ndarray,
    counts: np.ndarray,
    view: str,
    *,
    spacing_mm: tuple[float, float] | None,
    threshold: float = 0.5,
    min_area_px: int = 4,
    max_count: int = MAX_HOTSPOTS,
) -> list[Hotspot]:
    """Connected components of ``prob >= threshold`` as hotspots (region and probability
    are filled later by the region and lesion stages).

    Args:
        prob: per-pixel probability map of one view.
        counts: that view's counts (same grid).
        view: "anterior" or "posterior".
        spacing_mm: (row, col) pixel spacing; None -> areas in pixels (``features`` notes it).
        threshold: probability threshold.
        min_area_px: smaller components are dropped.
        max_count: at most this many components are kept (the largest; a guard against a
            noisy probability map turning into thousands of full-size masks).

    Returns:
        Hotspots sorted by row (head to toe).
    """
    labels, _ = ndimage.label(prob >= threshold)
    hotspots = hotspots_from_labels(labels, counts, view, spacing_mm=spacing_mm,
                                    min_area_px=min_area_px, max_count=max_count)
    for h in hotspots:
        h.features["mean_prob"] = float(prob[h.mask].mean())
    return sorted(hotspots, key=lambda h: (h.row, h.col))


def hotspots_from_labels(
    labels: np.ndarray,
    counts: np.ndarray,
    view: str,
    *,
    spacing_mm: tuple[float, float] | None,
    min_area_px: int = 1,
    max_count: int | None = None,
) -> list[Hotspot]:
    """One hotspot per label id of an instance map (e.g. ground-truth lesion masks).

    The label id is kept in ``features["label_id"]``; order follows the ids.
    """
    spacing = spacing_mm or (1.0, 1.0)
    props = [p for p in regionprops(np.asarray(labels, dtype=np.int32), intensity_image=counts)
             if p.area >= min_area_px]
    if max_count is not None and len(props) > max_count:
        log.warning("%s view: %d components, keeping the %d largest", view, len(props), max_count)
        props = sorted(sorted(props, key=lambda p: -p.area)[:max_count], key=lambda p: p.label)
    hotspots = []
    for prop in props:
        mask = np.zeros(labels.shape, dtype=bool)
        mask[prop.slice] = prop.image
        feats = _features(prop, counts, spacing)
        feats["label_id"] = float(prop.label)
        feats["area_unit_px"] = float(spacing_mm is None)
        hotspots.append(Hotspot(
            view=view, row=float(prop.centroid[0]), col=float(prop.centroid[1]),
            area_mm2=float(prop.area * spacing[0] * spacing[1]), region="background",
            probability=0.0, mask=mask, max_counts=float(prop.intensity_max),
            mean_counts=float(prop.intensity_mean), features=feats,
        ))
    return hotspots


def box_pseudo_mask(counts: np.ndarray, boxes, *, mode: str = "otsu") -> np.ndarray:
    """Weak supervision from rectangles: a binary mask built from boxes only.

    ``mode="box"`` fills each box. ``mode="otsu"`` keeps, inside each box, the pixels above
    the box's Otsu threshold of lightly smoothed counts (a hotspot is brighter than the
    bone around it), and falls back to the full box when that leaves under 10 % of it or
    the box is flat.

    Args:
        counts: the view's counts.
        boxes: iterable of (row0, col0, row1, col1) pixel corners (any order, inclusive).
        mode: "otsu" or "box".

    Returns:
        bool mask of ``counts.shape``.
    """
    mask = np.zeros(counts.shape, dtype=bool)
    smooth = ndimage.gaussian_filter(np.asarray(counts, np.float32), 1.0)
    for r0, c0, r1, c1 in boxes:
        rs = slice(max(int(np.floor(min(r0, r1))), 0), int(np.ceil(max(r0, r1))) + 1)
        cs = slice(max(int(np.floor(min(c0, c1))), 0), int(np.ceil(max(c0, c1))) + 1)
        patch = smooth[rs, cs]
        if patch.size == 0:
            continue
        keep = np.ones(patch.shape, dtype=bool)
        if mode == "otsu" and np.ptp(patch) > 0:
            inner = patch > threshold_otsu(patch)
            keep = inner if inner.mean() >= 0.10 else keep
        mask[rs, cs] |= keep
    return mask
