"""The 3-D training loss: batch Dice + cross-entropy, voxel- or lesion-weighted.

``loss="voxel"`` is MONAI's ``DiceCELoss`` (batch Dice over benign and metastatic + CE): every
lesion voxel weighs the same, so a 400-voxel hot lesion outweighs a 4-voxel bone island a
hundredfold. ``loss="lesion"`` keeps the batch Dice and weighs the CE per voxel by
:func:`lesion_weights`: each lesion instance of a case carries the same total weight whatever
its voxel count (the CE part of the instance-balanced losses: blob loss, Kofler et al. 2022,
arXiv:2205.08209, computes a loss per connected component; nnU-Net-style "balanced" losses
weigh by inverse lesion size). The weights ride along as a third target channel, so MONAI's
crops and flips move them with the labels.

Example:
    >>> w = lesion_weights(instances)          # doctest: +SKIP
    >>> Seg3DLoss(lesion_weighted=True)(logits, torch.stack([sem, heat, w])[None])  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import torch
from monai.losses import DiceLoss
from torch import nn

LOSSES = ("voxel", "lesion")


def lesion_weights(instances: np.ndarray, factors: dict[int, float] | None = None) -> np.ndarray:
    """float32 per-voxel CE weights: 1 outside lesions; inside lesion ``i`` of volume ``V_i``,
    ``mean(V) / V_i``. Every lesion then weighs ``mean(V)`` in all, and the lesions together
    weigh as many as their voxels (the lesion/background balance of the plain CE is kept;
    only the share among lesions changes). ``factors`` (instance id -> factor; ninth run's
    lesion-kind weights) multiplies the weight of those lesions: lesion ``i`` then weighs
    ``factor_i * mean(V)``."""
    ids, counts = np.unique(instances[instances > 0], return_counts=True)
    weights = np.ones(instances.shape, np.float32)
    if len(ids):
        per_id = np.zeros(int(ids.max()) + 1, np.float32)
        per_id[ids] = counts.mean() / counts
        for i, factor in (factors or {}).items():
            if 0 < int(i) < len(per_id):
                per_id[int(i)] *= float(factor)
        inside = instances > 0
        weights[inside] = per_id[instances[inside]]
    return weights


class Seg3DLoss(nn.Module):
    """Batch Dice + CE on the class logits (CE weighted by target channel 2 when
    ``lesion_weighted``), + ``aux_weight`` * BCE of the auxiliary heatmap (channel 1)."""

    def __init__(self, num_classes: int = 3, aux_weight: float = 0.5,
                 lesion_weighted: bool = False):
        super().__init__()
        self.k, self.aux_weight = num_classes, float(aux_weight)
        self.lesion_weighted = bool(lesion_weighted)
        # batch Dice (nnU-Net's): lesions fill < 0.1 % of a torso, and a per-patch Dice of an
        # absent class rewards predicting nothing, which is where per-patch training collapsed
        self.dice = DiceLoss(to_onehot_y=True, softmax=True, include_background=False,
                             batch=True)
        self.aux = nn.BCEWithLogitsLoss()

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seg = logits[:, :self.k]
        # per-voxel CE from torch; MONAI's DiceCELoss takes class weights only, not voxel ones
        ce = nn.functional.cross_entropy(seg, y[:, 0].long(), reduction="none")
        if self.lesion_weighted:
            w = y[:, 2]
            ce = (ce * w).sum() / w.sum().clamp_min(1e-6)
        else:
            ce = ce.mean()
        loss = self.dice(seg, y[:, :1]) + ce
        if logits.shape[1] > self.k and self.aux_weight:
            loss = loss + self.aux_weight * self.aux(logits[:, self.k:self.k + 1], y[:, 1:2])
        return loss
