"""The lesion stage's benign-vs-malignant network, a registry entry of task "lesion-classification".

:class:`PatchContextNet` (ours) takes three inputs per hotspot (see
:mod:`osteoscan.lesions.classifier` for how they are cut from a scan): a local patch and a
downsampled context window, two channels each (this view, the other view), plus tabular
features (region one-hot, area, uptake ratio, position, shape, seen on both views), and
returns one malignancy logit.

Example:
    >>> from osteoscan.models import create_model
    >>> net = create_model("patchcontext", num_classes=1, in_chans=2, img_size=(32, 32), tiny=True)
    >>> sum(p.numel() for p in net.parameters()) < 20_000
    True
"""

from __future__ import annotations

import torch
from torch import nn

from osteoscan.errors import ModelError
from osteoscan.models._registry import ModelInfo, register_model
from osteoscan.skeleton import REGIONS

N_TAB = len(REGIONS) + 7
"""Number of tabular features per hotspot (region one-hot + 7 numbers)."""


def _branch(width: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 2
    for c_out in (width, width * 2, width * 4):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        c_in = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


class PatchContextNet(nn.Module):
    """Two small CNN branches (patch, context) + tabular features -> one malignancy logit.

    Args:
        width: channels of the first conv (doubles twice).
        n_tab: number of tabular features.
    """

    def __init__(self, width: int = 16, n_tab: int = N_TAB):
        super().__init__()
        self.patch = _branch(width)
        self.context = _branch(width)
        self.head = nn.Sequential(
            nn.Linear(8 * width + n_tab, 64), nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(64, 1)
        )

    def forward(self, patch: torch.Tensor, context: torch.Tensor, tab: torch.Tensor) -> torch.Tensor:
        """Logits ``(N,)``."""
        z = torch.cat([self.patch(patch), self.context(context), tab], dim=1)
        return self.head(z)[:, 0]


@register_model(ModelInfo(
    name="patchcontext", family="cnn", source="osteoscan", timm_name="", default_img_size=(32, 32),
    gradcam_layer="patch.-4", is_transformer=False,
    description="patch + context two-branch CNN with tabular features (lesion classifier)",
    paper="lesion-level classification of bone-scan hotspots (2021)",
    size_rule="32x32 patch and context (osteoscan.lesions.classifier.PATCH)",
    min_img_size=(8, 8), task="lesion-classification",
))
def _build(*, num_classes, in_chans, img_size, pretrained, tiny, width: int | None = None,
           n_tab: int = N_TAB) -> nn.Module:
    if pretrained:
        raise ModelError("patchcontext: no pretrained weights; the lesion stage ships its own")
    if num_classes != 1 or in_chans != 2:
        raise ModelError(f"patchcontext: one logit from 2-channel inputs, got num_classes="
                         f"{num_classes}, in_chans={in_chans}")
    return PatchContextNet(width=int(width or (4 if tiny else 16)), n_tab=int(n_tab))
