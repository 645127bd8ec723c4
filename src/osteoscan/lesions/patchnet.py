"""The detector's patch CNN: ``cnn_p``, one more named context feature of the hotspot trees.

:class:`PatchScorer` holds the registry's ``hotspotpatch`` network
(:mod:`osteoscan.models.hotspotpatch`) and its card; it turns a study's candidate patches
(:mod:`osteoscan.lesions.patches`) into probabilities. Stored as the lesion stage's other
networks are: safetensors weights + the one JSON model card (:mod:`osteoscan.lesions.bundle`).

Training (:func:`fit_patch_net`) goes through the one training loop
(:func:`osteoscan.training.loop.fit_epochs`, Adam, cosine LR), on one thread:

* the pool is every positive candidate (it overlaps a malignant lesion) and a seeded share
  ``neg_fraction`` of the negatives (memory: a study has about 300 candidates, 2 of them
  positive);
* each epoch draws ``samples`` patches, a third of them positives
  (``torch.utils.data.WeightedRandomSampler``), each flipped left-right with probability 1/2;
* the loss is plain binary cross-entropy (the trees only use the ranking of ``cnn_p``).

For the trees, the training records' ``cnn_p`` must not come from a network that saw them:
:func:`with_cnn_p` fits one network per fold of studies and gives each study the
probabilities of the network that did not see it (out-of-fold), then fits the shipped
network on all training studies; selection and test studies get the shipped network's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from osteoscan.lesions.bundle import load_weights, read_card, save_bundle
from osteoscan.lesions.patches import CHANNELS, PATCH_MM, PATCH_PX
from osteoscan.lesions.patches import PATCH_FEATURE as FEATURE
from osteoscan.models import create_model
from osteoscan.training.loop import fit_epochs

log = logging.getLogger(__name__)

ARCH = "hotspotpatch"

FIT_DEFAULTS = {"epochs": 4, "samples": 16000, "batch": 128, "lr": 3e-3, "width": 8,
                "neg_fraction": 0.25, "pos_share": 1 / 3}
"""Training settings (fixed a priori, not tuned on any held-out site)."""


@dataclass
class PatchScorer:
    """The patch network and its card (``arch``, ``arch_kwargs``, patch geometry, training)."""

    net: nn.Module
    card: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, width: int = 8) -> PatchScorer:
        """A fresh (untrained) network."""
        kwargs = {"width": int(width)}
        card = {"arch": ARCH, "arch_kwargs": kwargs, "labels": ["benign", "malignant"],
                "task": "hotspot-malignancy", "feature": FEATURE, "patch_mm": PATCH_MM,
                "patch_px": PATCH_PX, "channels": list(CHANNELS)}
        return cls(_net(kwargs), card)

    @classmethod
    def load(cls, path: str | Path) -> PatchScorer:
        """Read ``<path>.safetensors`` + ``<path>.json``.

        Raises:
            ModelError: missing files or weights that do not fit the card.
        """
        card = read_card(path)
        return cls(load_weights(_net(card["arch_kwargs"]), path), card)

    def save(self, path: str | Path) -> None:
        """Write ``<path>.safetensors`` + ``<path>.json`` atomically."""
        save_bundle(self.net, self.card, path)

    @torch.no_grad()
    def predict(self, patches: np.ndarray | None, batch: int = 512) -> np.ndarray:
        """P(malignant) of each candidate's patches, shape (n,) float64."""
        if patches is None or not len(patches):
            return np.zeros(0)
        self.net.eval()
        out = [torch.sigmoid(self.net(torch.from_numpy(
            np.asarray(patches[s:s + batch], np.float32)))[:, 0]).numpy()
            for s in range(0, len(patches), batch)]
        return np.concatenate(out).astype(np.float64)


def _net(kwargs: dict) -> nn.Module:
    """One logit from the patch's channels (the card's ``model_kwargs`` say the same)."""
    return create_model(ARCH, num_classes=1, in_chans=len(CHANNELS), img_size=(PATCH_PX, PATCH_PX),
                        **kwargs)


def _pool(records: Sequence[dict], neg_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Patches and labels of every positive and a seeded share of the negatives."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for rec in records:
        y = np.asarray(rec["y"])
        keep = (y == 1) | (rng.random(len(y)) < neg_fraction)
        xs.append(np.asarray(rec["patches"])[keep])
        ys.append(y[keep])
    return np.concatenate(xs), np.concatenate(ys).astype(np.float32)


def _flip(items):
    x, y = (torch.stack(col) for col in zip(*items, strict=True))
    flip = torch.rand(len(x)) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return x.float(), y, None


def fit_patch_net(records: Sequence[dict], *, seed: int = 0, progress=None,
                  **settings) -> PatchScorer:
    """Train a :class:`PatchScorer` on records with ``patches`` (module docstring);
    ``settings`` override :data:`FIT_DEFAULTS`."""
    s = {**FIT_DEFAULTS, **settings}
    torch.manual_seed(seed)
    scorer = PatchScorer.build(s["width"])
    x, y = _pool(records, s["neg_fraction"], seed)
    pos = max(float(y.mean()), 1e-6)
    weights = np.where(y == 1, s["pos_share"] / pos, (1 - s["pos_share"]) / (1 - pos))
    sampler = WeightedRandomSampler(torch.from_numpy(weights), int(s["samples"]),
                                    generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                        batch_size=int(s["batch"]), sampler=sampler, collate_fn=_flip)
    loss_fn = nn.BCEWithLogitsLoss()
    history = fit_epochs(scorer.net, loader, lambda out, t: loss_fn(out[:, 0], t),
                         epochs=int(s["epochs"]), lr=float(s["lr"]), weight_decay=1e-4,
                         on_epoch=progress or _log_epoch)
    scorer.card["training"] = {"studies": len(records), "pool": int(len(y)),
                               "positives": int(y.sum()), "seed": seed, "settings": s,
                               "loss": [float(v) for v in history]}
    return scorer


def _log_epoch(epoch: int, total: int, loss: float) -> None:
    log.info("patch net epoch %d/%d loss %.4f", epoch, total, loss)


def with_cnn_p(train: Sequence[dict], *, seed: int = 0, folds: int = 3,
               **settings) -> tuple[PatchScorer, list[dict]]:
    """The shipped network (fitted on every training study) and the training records with
    their out-of-fold ``cnn_p`` (``folds`` networks, each fitted without one fold of studies;
    the same study split as the trees' out-of-fold probabilities)."""
    order = np.random.default_rng(seed).permutation(len(train))
    out = [dict(r) for r in train]
    for k in range(folds):
        held = set(order[k::folds].tolist())
        net = fit_patch_net([r for i, r in enumerate(train) if i not in held], seed=seed + 1 + k,
                            **settings)
        for i in held:
            out[i][FEATURE] = net.predict(train[i]["patches"])
        log.info("patch net fold %d/%d done", k + 1, folds)
    scorer = fit_patch_net(train, seed=seed, **settings)
    scorer.card["training"]["oof_folds"] = folds
    return scorer, out
