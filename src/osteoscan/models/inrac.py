"""inRAC: a residual CNN with CBAM attention inside the residual block.

Written here because no library ships it: the lung-cancer bone-scan paper's "inRAC" puts
CBAM (channel then spatial attention, Woo et al. 2018) inside each basic residual block,
after the second convolution and before the skip addition; "outRAC" applies it after the
addition. The network is the ResNet-18/34 layout otherwise: 7x7/64 stride-2 stem, batch
norm, ReLU, 3x3 max pool, four stages, global average pooling, linear.

Ablation switches (kwargs of :func:`~osteoscan.models.create_model`):
``residual=False`` removes every skip connection; ``attention=False`` removes every CBAM.
They are also registered as names: ``inrac18_noskip`` and ``inrac18_noattn``.

Example:
    >>> import torch
    >>> from osteoscan.models import create_model
    >>> model = create_model("inrac18", in_chans=1, tiny=True).eval()
    >>> model(torch.zeros(1, 1, 128, 32)).shape
    torch.Size([1, 2])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from osteoscan.errors import ModelError
from osteoscan.models._registry import ModelInfo, register_model

Placement = Literal["inside", "outside"]
_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
_PAPER = "Multi-class lung-cancer bone scan classification (2022)"


class ChannelAttention(nn.Module):
    """CBAM channel attention: shared MLP over average- and max-pooled descriptors."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 2)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention map (B, C, 1, 1) in (0, 1)."""
        avg = self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        mx = self.mlp(torch.amax(x, dim=(2, 3), keepdim=True))
        return torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: 7x7 conv over the channel-wise mean and max."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attention map (B, 1, H, W) in (0, 1)."""
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel(x)
        return x * self.spatial(x)


class RABlock(nn.Module):
    """Basic residual block with optional CBAM inside (before the addition) or outside.

    Args:
        in_ch: input channels.
        out_ch: output channels.
        stride: stride of the first 3x3 convolution.
        residual: keep the skip connection.
        attention: "inside", "outside" or None (no CBAM).
        reduction: CBAM channel reduction ratio.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        *,
        residual: bool = True,
        attention: Placement | None = "inside",
        reduction: int = 16,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.placement = attention
        self.cbam = CBAM(out_ch, reduction) if attention else None
        self.downsample = None
        if residual and (stride != 1 or in_ch != out_ch):
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.placement == "inside":
            out = self.cbam(out)
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        if self.placement == "outside":
            out = self.cbam(out)
        return self.relu(out)


class InRAC(nn.Module):
    """Residual attention CNN (inRAC / outRAC and their ablations).

    Args:
        depth: 18 or 34 (blocks per stage as ResNet-18/34).
        num_classes: output logits.
        in_chans: input channels.
        widths: channels of the four stages.
        stem_width: channels of the 7x7 stem.
        layers: blocks per stage (overrides ``depth``).
        residual: skip connections on (False: plain CNN for the ablation).
        attention: CBAM on (False: residual CNN without attention).
        placement: "inside" (inRAC) or "outside" (outRAC).
        reduction: CBAM channel reduction ratio.
        drop_rate: dropout before the classifier.
    """

    def __init__(
        self,
        depth: int = 18,
        num_classes: int = 2,
        in_chans: int = 2,
        *,
        widths: tuple[int, ...] = (64, 128, 256, 512),
        stem_width: int = 64,
        layers: tuple[int, ...] | None = None,
        residual: bool = True,
        attention: bool = True,
        placement: Placement = "inside",
        reduction: int = 16,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        if layers is None and depth not in _LAYERS:
            raise ModelError(f"inRAC depth must be one of {sorted(_LAYERS)}, got {depth}")
        if placement not in ("inside", "outside"):
            raise ModelError(f"inRAC placement must be 'inside' or 'outside', got {placement!r}")
        layers = tuple(layers or _LAYERS[depth])
        if len(layers) != 4 or len(widths) != 4:
            raise ModelError(f"inRAC needs 4 stages: got layers={layers}, widths={tuple(widths)}")
        self.stem = nn.Sequential(
            nn.Conv2d(in_chans, stem_width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        block_kw = {
            "residual": residual,
            "attention": placement if attention else None,
            "reduction": reduction,
        }
        prev = stem_width
        for i, (n, width) in enumerate(zip(layers, widths, strict=True)):
            blocks = [
                RABlock(
                    prev if j == 0 else width, width, 2 if (i > 0 and j == 0) else 1, **block_kw
                )
                for j in range(n)
            ]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            prev = width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(prev, num_classes)
        self.num_features = prev
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map (B, C, h, w) of the last stage."""
        x = self.stem(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.forward_features(x)).flatten(1)
        return self.fc(self.drop(x))


def _builder(depth: int, placement: Placement, **fixed):
    def build(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs) -> nn.Module:
        if pretrained:
            raise ModelError(
                "inRAC has no published pretrained weights; use init_from() with a file"
            )
        args = {"placement": placement, **fixed}
        if tiny:
            args.update(widths=(8, 16, 32, 64), stem_width=8, layers=(1, 1, 1, 1), reduction=4)
        args.update(kwargs)
        return InRAC(depth, num_classes, in_chans, **args)

    return build


def _register() -> None:
    variants = [
        ("inrac18", 18, "inside", {}, "inRAC-18: CBAM inside each residual block"),
        ("inrac34", 34, "inside", {}, "inRAC-34: CBAM inside each residual block"),
        ("outrac18", 18, "outside", {}, "outRAC-18: CBAM after the residual addition"),
        ("outrac34", 34, "outside", {}, "outRAC-34: CBAM after the residual addition"),
        (
            "inrac18_noskip",
            18,
            "inside",
            {"residual": False},
            "inRAC-18 ablation: no skip connections",
        ),
        (
            "inrac18_noattn",
            18,
            "inside",
            {"attention": False},
            "inRAC-18 ablation: no CBAM (ResNet-18)",
        ),
    ]
    for name, depth, placement, fixed, desc in variants:
        info = ModelInfo(
            name=name,
            family="cnn",
            source="osteoscan",
            timm_name="",
            default_img_size=(1024, 256),
            gradcam_layer="layer4",
            is_transformer=False,
            description=desc,
            paper=_PAPER,
        )
        register_model(info, _builder(depth, placement, **fixed))


_register()
