"""2-D segmentation networks from MONAI's U-Net family, registered in the model registry.

The lesion stage (``osteoscan.lesions``) uses these for hotspot masks and skeletal regions.
MONAI already implements the networks well; this module only fixes sensible 2-D defaults
and a ``tiny`` variant for tests, so that a model card can name an architecture plus a few
numbers and rebuild it. Each is a registry entry of task ``"segmentation"``
(``create_model("unet", num_classes=out, in_chans=in, ...)``); :func:`create_segmenter` keeps
the lesion stage's channel names.

Example:
    >>> net = create_segmenter("unet", in_channels=2, out_channels=1, tiny=True)
    >>> sum(p.numel() for p in net.parameters()) < 50_000
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from osteoscan.errors import ConfigError, ModelError
from osteoscan.models._registry import ModelInfo, create_model, register_model

SEGMENTERS: tuple[str, ...] = ("unet", "basicunet", "attentionunet")
"""Registry names of the segmentation networks (task "segmentation")."""

_DEFAULT_CHANNELS = (16, 32, 64, 128)
_TINY_CHANNELS = (4, 8, 16)
_DESCRIPTIONS = {
    "unet": "MONAI UNet with residual units (hotspot and region maps of the lesion stage)",
    "basicunet": "MONAI BasicUNet (fixed depth of 5 levels)",
    "attentionunet": "MONAI AttentionUnet (attention gates on the skip connections)",
}


def _levels(channels: Sequence[int] | None, tiny: bool) -> tuple[int, ...]:
    chans = tuple(int(c) for c in (channels or (_TINY_CHANNELS if tiny else _DEFAULT_CHANNELS)))
    if len(chans) < 2:
        raise ConfigError(f"a segmenter needs at least 2 channel levels, got {chans}")
    return chans


def _monai(key: str, in_ch: int, out_ch: int, chans: tuple[int, ...], tiny: bool,
           dropout: float) -> nn.Module:
    # imported here, not on load: ``import monai`` loads its apps, torchvision and torch._dynamo
    # (seconds), and every process that imports the model registry (each analyze worker)
    # paid for it without building a U-Net
    from monai.networks.nets import AttentionUnet, BasicUNet, UNet

    strides = (2,) * (len(chans) - 1)
    if key == "unet":
        return UNet(
            spatial_dims=2, in_channels=in_ch, out_channels=out_ch,
            channels=chans, strides=strides, num_res_units=1 if tiny else 2, dropout=dropout,
        )
    if key == "attentionunet":
        return AttentionUnet(
            spatial_dims=2, in_channels=in_ch, out_channels=out_ch,
            channels=chans, strides=strides, dropout=dropout,
        )
    feats = list(chans[:5])
    while len(feats) < 5:
        feats.append(feats[-1] * 2)
    return BasicUNet(
        spatial_dims=2, in_channels=in_ch, out_channels=out_ch,
        features=(*feats, feats[0]), dropout=dropout,
    )


def _builder(key: str):
    def build(*, num_classes, in_chans, img_size, pretrained, tiny, channels=None,
              dropout: float = 0.0) -> nn.Module:
        if pretrained:
            raise ModelError(f"{key}: no pretrained weights; the lesion stage ships its own")
        return _monai(key, in_chans, num_classes, _levels(channels, tiny), tiny, dropout)

    return build


for _name in SEGMENTERS:
    register_model(
        ModelInfo(
            name=_name, family="cnn", source="monai", timm_name="", default_img_size=(512, 128),
            gradcam_layer="", is_transformer=False, description=_DESCRIPTIONS[_name],
            size_rule="rows and cols divisible by 2 ** (levels - 1) (16 for basicunet)",
            min_img_size=(16, 16), task="segmentation",
        ),
        _builder(_name),
    )


def create_segmenter(
    name: str,
    *,
    in_channels: int,
    out_channels: int,
    channels: Sequence[int] | None = None,
    tiny: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Build a registered 2-D U-Net-family network returning logits ``(N, out, H, W)``.

    Args:
        name: "unet" (MONAI ``UNet`` with residual units), "basicunet" or "attentionunet".
        in_channels: input channels (e.g. 2: this view plus the other view as context).
        out_channels: output channels (1 for a binary hotspot mask, 14 for regions).
        channels: feature widths per level (each level halves the resolution); the input
            sides must be divisible by ``2 ** (len(channels) - 1)``. Default (16, 32, 64, 128),
            (4, 8, 16) when ``tiny``. For "basicunet" exactly 5 widths are used (MONAI's
            fixed depth); shorter lists are padded by doubling.
        tiny: a very small variant for tests.
        dropout: dropout probability.

    Returns:
        The network (untrained).

    Raises:
        ConfigError: unknown name or too few levels.
    """
    key = name.lower()
    if key not in SEGMENTERS:
        raise ConfigError(f"unknown segmenter {name!r}; choose one of {', '.join(SEGMENTERS)}")
    side = 16 * divisor(key, channels, tiny)
    return create_model(key, num_classes=out_channels, in_chans=in_channels, img_size=(side, side),
                        tiny=tiny, channels=channels, dropout=dropout)


def divisor(name: str, channels: Sequence[int] | None = None, tiny: bool = False) -> int:
    """The number the input height and width must be divisible by."""
    if name.lower() == "basicunet":
        return 16
    return 2 ** (len(_levels(channels, tiny)) - 1)
