"""A small patch CNN for the hotspot-first detector, a registry entry of task "classification".

:class:`HotspotPatchNet` (ours) scores one candidate from its fixed-scale image patch
(:mod:`osteoscan.lesions.patches`: 64 mm at 32 x 32 px, channels "this" and "mirror"); its
probability becomes the context feature ``cnn_p`` of the detector's trees
(:mod:`osteoscan.lesions.patchnet`). Four 3x3 conv blocks (BatchNorm, ReLU; max-pooling
after the first three), global average pooling, one linear layer: about 16 k parameters at
``width=8`` (64 kB of float32), so it adds a few tens of milliseconds to a study's few
hundred candidates on one core. Fully convolutional: it takes any input size.

Example:
    >>> import torch
    >>> from osteoscan.models import create_model
    >>> net = create_model("hotspotpatch", num_classes=1, in_chans=2, img_size=(32, 32), tiny=True)
    >>> net(torch.zeros(3, 2, 32, 32)).shape
    torch.Size([3, 1])
"""

from __future__ import annotations

from torch import nn

from osteoscan.errors import ModelError
from osteoscan.models._registry import ModelInfo, register_model


def _block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                               nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, *([nn.MaxPool2d(2)] if pool else []))


class HotspotPatchNet(nn.Module):
    """Conv blocks of ``width``, 2 ``width``, 4 ``width``, 4 ``width`` channels -> logits.

    Args:
        in_chans: input channels.
        num_classes: output logits.
        width: channels of the first block.
        drop: dropout before the linear layer.
    """

    def __init__(self, in_chans: int = 2, num_classes: int = 1, width: int = 8, drop: float = 0.1):
        super().__init__()
        w = int(width)
        self.features = nn.Sequential(_block(in_chans, w, True), _block(w, 2 * w, True),
                                      _block(2 * w, 4 * w, True), _block(4 * w, 4 * w, False))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop),
                                  nn.Linear(4 * w, num_classes))

    def forward(self, x):
        """Logits ``(B, num_classes)``."""
        return self.head(self.features(x))


@register_model(ModelInfo(
    name="hotspotpatch", family="cnn", source="osteoscan", timm_name="", default_img_size=(32, 32),
    gradcam_layer="features.-1", is_transformer=False,
    description="small patch CNN scoring the hotspot detector's candidates (feature cnn_p)",
    paper="hotspot-level classification of bone-scan uptake (patch CNN + context features)",
    size_rule="any size >= 8x8; the detector uses 32x32 patches of 64 mm (lesions.patches)",
    min_img_size=(8, 8), task="classification",
))
def _build(*, num_classes, in_chans, img_size, pretrained, tiny, width: int | None = None,
           drop: float = 0.1) -> nn.Module:
    if pretrained:
        raise ModelError("hotspotpatch: no pretrained weights; the detector ships its own")
    return HotspotPatchNet(in_chans, num_classes, width=int(width or (4 if tiny else 8)),
                           drop=float(drop))
