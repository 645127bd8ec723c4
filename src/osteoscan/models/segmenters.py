"""2-D segmentation networks from MONAI's U-Net family, created by name.

The lesion stage (``osteoscan.lesions``) uses these for hotspot masks and skeletal regions.
MONAI already implements the networks well; this module only fixes sensible 2-D defaults
and a ``tiny`` variant for tests, so that a model card can name an architecture plus a few
numbers and rebuild it.

Example:
    >>> net = create_segmenter("unet", in_channels=2, out_channels=1, tiny=True)
    >>> sum(p.numel() for p in net.parameters()) < 50_000
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from monai.networks.nets import AttentionUnet, BasicUNet, UNet
from torch import nn

from osteoscan.errors import ConfigError

SEGMENTERS: tuple[str, ...] = ("unet", "basicunet", "attentionunet")
"""Names accepted by :func:`create_segmenter`."""

_DEFAULT_CHANNELS = (16, 32, 64, 128)
_TINY_CHANNELS = (4, 8, 16)


def create_segmenter(
    name: str,
    *,
    in_channels: int,
    out_channels: int,
    channels: Sequence[int] | None = None,
    tiny: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Build a 2-D MONAI U-Net-family network returning logits ``(N, out, H, W)``.

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
    chans = tuple(channels or (_TINY_CHANNELS if tiny else _DEFAULT_CHANNELS))
    if len(chans) < 2:
        raise ConfigError(f"segmenter {name!r} needs at least 2 channel levels, got {chans}")
    strides = (2,) * (len(chans) - 1)
    if key == "unet":
        return UNet(
            spatial_dims=2, in_channels=in_channels, out_channels=out_channels,
            channels=chans, strides=strides, num_res_units=1 if tiny else 2, dropout=dropout,
        )
    if key == "attentionunet":
        return AttentionUnet(
            spatial_dims=2, in_channels=in_channels, out_channels=out_channels,
            channels=chans, strides=strides, dropout=dropout,
        )
    feats = list(chans[:5])
    while len(feats) < 5:
        feats.append(feats[-1] * 2)
    return BasicUNet(
        spatial_dims=2, in_channels=in_channels, out_channels=out_channels,
        features=(*feats, feats[0]), dropout=dropout,
    )


def divisor(name: str, channels: Sequence[int] | None = None, tiny: bool = False) -> int:
    """The number the input height and width must be divisible by."""
    if name.lower() == "basicunet":
        return 16
    chans = tuple(channels or (_TINY_CHANNELS if tiny else _DEFAULT_CHANNELS))
    return 2 ** (len(chans) - 1)
