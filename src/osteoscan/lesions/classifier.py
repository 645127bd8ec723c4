"""Benign vs malignant per hotspot: a patch + context classifier.

Each hotspot gives three inputs:

* a local patch, ``PATCH`` x ``PATCH`` pixels centred on the hotspot, two channels (this
  view and the other view at the same place: the posterior is already mirrored);
* a context window, ``CONTEXT`` x ``CONTEXT`` pixels around it downsampled (area) to the patch
  size, the same two channels: where in the skeleton, neighbouring foci, symmetry;
* tabular features: the region (one-hot over REGIONS), log area, uptake ratio against normal
  bone of its region, position, shape (eccentricity, solidity) and whether it is seen on
  both views.

:class:`PatchContextNet` is a small two-branch CNN (ours), the registry entry
``"patchcontext"`` (:mod:`osteoscan.models.patchcontext`). For the comparison with the
published baselines (InceptionV3, VGG16, DenseNet169), :class:`RegistryLesionNet` feeds a
registry model a 3-channel picture (patch this view, patch other view, context this view)
resized to its input size; the tabular features are not used there, as in the paper.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from osteoscan.lesions.bundle import load_weights, read_card, save_bundle
from osteoscan.lesions.hotspots import normalise_view, scan_views
from osteoscan.models import create_model
from osteoscan.models.patchcontext import N_TAB, PatchContextNet  # noqa: F401  (re-exported)
from osteoscan.skeleton import REGION_CODE, REGIONS
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

PATCH = 32
CONTEXT = 128


def _crop(img: np.ndarray, row: float, col: float, size: int) -> np.ndarray:
    """A size x size crop centred on (row, col), zero-padded outside the image."""
    half = size // 2
    r0, c0 = int(round(row)) - half, int(round(col)) - half
    out = np.zeros((size, size), dtype=np.float32)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + size, img.shape[0]), min(c0 + size, img.shape[1])
    if re > rs and ce > cs:
        out[rs - r0:re - r0, cs - c0:ce - c0] = img[rs:re, cs:ce]
    return out


def tabular(h: Hotspot) -> np.ndarray:
    """The tabular features of one hotspot (length :data:`N_TAB`)."""
    onehot = np.zeros(len(REGIONS), dtype=np.float32)
    onehot[REGION_CODE.get(h.region, 0)] = 1.0
    f = h.features
    extra = [
        np.log1p(h.area_mm2) / 8.0,
        min(h.uptake_ratio, 10.0) / 5.0,
        f.get("rel_row", 0.5),
        abs(f.get("rel_col", 0.5) - 0.5) * 2.0,
        f.get("eccentricity", 0.0),
        f.get("solidity", 1.0),
        float(h.match is not None),
    ]
    return np.concatenate([onehot, np.asarray(extra, dtype=np.float32)])


def lesion_inputs(scan: BoneScan, hotspots: Sequence[Hotspot]) -> dict[str, np.ndarray]:
    """Patch, context and tabular arrays for hotspots of one scan.

    Returns:
        ``{"patch": (N, 2, P, P), "context": (N, 2, P, P), "tab": (N, N_TAB)}`` float32.
    """
    views = {v: normalise_view(x) for v, x in scan_views(scan).items()}
    patches, contexts, tabs = [], [], []
    k = CONTEXT // PATCH
    for h in hotspots:
        this = views[h.view]
        other = views.get("posterior" if h.view == "anterior" else "anterior", this)
        patches.append([_crop(im, h.row, h.col, PATCH) for im in (this, other)])
        ctx = [_crop(im, h.row, h.col, CONTEXT) for im in (this, other)]
        contexts.append([c.reshape(PATCH, k, PATCH, k).mean(axis=(1, 3)) for c in ctx])
        tabs.append(tabular(h))
    n = len(hotspots)
    return {
        "patch": np.asarray(patches, dtype=np.float32).reshape(n, 2, PATCH, PATCH),
        "context": np.asarray(contexts, dtype=np.float32).reshape(n, 2, PATCH, PATCH),
        "tab": np.asarray(tabs, dtype=np.float32).reshape(n, N_TAB),
    }


class RegistryLesionNet(nn.Module):
    """A registry classifier on (patch this view, patch other view, context this view).

    Args:
        name: registry name (e.g. "inception_v3", "vgg16", "densenet169").
        img_size: side the three channels are resized to.
        tiny: the registry's tiny variant.
    """

    def __init__(self, name: str, img_size: int = 96, tiny: bool = False):
        super().__init__()
        self.img_size = img_size
        self.backbone = create_model(name, num_classes=1, in_chans=3,
                                     img_size=(img_size, img_size), tiny=tiny)

    def forward(self, patch: torch.Tensor, context: torch.Tensor, tab: torch.Tensor) -> torch.Tensor:
        """Logits ``(N,)`` (``tab`` is ignored)."""
        x = torch.cat([patch, context[:, :1]], dim=1)
        x = F.interpolate(x, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)
        out = self.backbone(x)
        out = out.logits if hasattr(out, "logits") else out
        return out.reshape(len(x), -1)[:, 0]


def build_net(arch: str, **kwargs) -> nn.Module:
    """A registry "lesion-classification" entry (e.g. ``"patchcontext"``) by name, else a
    registry classifier wrapped in :class:`RegistryLesionNet`."""
    from osteoscan.models import model_info

    if model_info(arch).task == "lesion-classification":
        return create_model(arch, num_classes=1, in_chans=2, img_size=(PATCH, PATCH), **kwargs)
    return RegistryLesionNet(arch, **kwargs)


@dataclass
class LesionClassifier:
    """A trained lesion classifier plus its card (``arch``, ``arch_kwargs``, metrics)."""

    net: nn.Module
    card: dict[str, Any]

    @classmethod
    def build(cls, arch: str = "patchcontext", **arch_kwargs) -> LesionClassifier:
        """A fresh (untrained) classifier."""
        card = {"task": "lesion-classification", "arch": arch, "arch_kwargs": arch_kwargs,
                "labels": ["benign", "malignant"], "threshold": 0.5,
                "patch": PATCH, "context": CONTEXT}
        return cls(build_net(arch, **arch_kwargs), card)

    @classmethod
    def load(cls, path) -> LesionClassifier:
        """Load from ``<path>.safetensors`` + ``<path>.json``."""
        card = read_card(path)
        return cls(load_weights(build_net(card["arch"], **card["arch_kwargs"]), path), card)

    def save(self, path) -> None:
        """Write weights and card."""
        save_bundle(self.net, self.card, path)

    @torch.no_grad()
    def predict_arrays(self, inputs: Mapping[str, np.ndarray], batch: int = 256) -> np.ndarray:
        """Malignancy probabilities for arrays from :func:`lesion_inputs`."""
        self.net.eval()
        n = len(inputs["tab"])
        out = np.zeros(n, dtype=np.float32)
        for s in range(0, n, batch):
            t = [torch.from_numpy(inputs[k][s:s + batch]) for k in ("patch", "context", "tab")]
            out[s:s + batch] = torch.sigmoid(self.net(*t)).numpy()
        return out

    def predict(self, scan: BoneScan, hotspots: Sequence[Hotspot]) -> np.ndarray:
        """Malignancy probability of each hotspot of ``scan``."""
        if not hotspots:
            return np.zeros(0, dtype=np.float32)
        return self.predict_arrays(lesion_inputs(scan, hotspots))
