"""3-D segmentation networks for SPECT/CT and CT volumes (task ``"segmentation3d"``).

MONAI implements every architecture; this module fixes 3-D defaults, a ``tiny`` variant for
tests, and adds one network of its own, :class:`MTUNet3D`, a multi-task U-Net in the spirit of
MT-UNet (docs/seg3d.md): one MONAI ``UNet`` trunk shared by two 1x1x1 heads, the class logits
(background / benign / metastatic) and an auxiliary lesion-centre heatmap. Inputs are the
modalities as channels (SPECT, CT or both), so one entry serves the three input variants.

Contract (``osteoscan.models._registry``): ``(B, in_chans, D, H, W)`` -> ``(B, num_classes +
aux_channels, D, H, W)``; the comparison networks have no auxiliary output.

Example:
    >>> net = create_model("mtunet3d", num_classes=3, in_chans=2, img_size=(16, 16, 16), tiny=True)
    >>> import torch
    >>> tuple(net(torch.zeros(1, 2, 16, 16, 16)).shape)
    (1, 4, 16, 16, 16)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from osteoscan.errors import ModelError
from osteoscan.models._registry import ModelInfo, create_model, register_model  # noqa: F401

VOLUME_MODELS: tuple[str, ...] = (
    "mtunet3d", "unet3d", "attentionunet3d", "segresnet3d", "dynunet3d", "unetr3d")
"""Registry names of the 3-D networks (MT-UNet first, then the comparison networks)."""

_FULL = (16, 32, 64, 128)
_TINY = (4, 8, 16)
_MT_PAPER = "MT-UNet on bone SPECT/CT (2025)"


class MTUNet3D(nn.Module):
    """Shared MONAI UNet trunk with a segmentation head and an auxiliary head.

    Args:
        in_chans: input channels (modalities).
        num_classes: class logits (3: background, benign, metastatic).
        channels: trunk widths per level; the first is the width the heads read.
        aux_channels: auxiliary outputs (1: lesion-centre heatmap logit).
        dropout: dropout in the trunk.
    """

    def __init__(self, in_chans: int, num_classes: int, channels: tuple[int, ...],
                 aux_channels: int = 1, dropout: float = 0.0):
        super().__init__()
        from monai.networks.nets import UNet  # on use: `import monai` costs seconds (see segmenters)

        width = channels[0]
        self.trunk = UNet(spatial_dims=3, in_channels=in_chans, out_channels=width,
                          channels=channels, strides=(2,) * (len(channels) - 1),
                          num_res_units=1, dropout=dropout)
        self.act = nn.Sequential(nn.InstanceNorm3d(width, affine=True), nn.PReLU())
        self.seg_head = nn.Conv3d(width, num_classes, kernel_size=1)
        self.aux_head = nn.Conv3d(width, aux_channels, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        features = self.act(self.trunk(x))
        return torch.cat([self.seg_head(features), self.aux_head(features)], dim=1)


def _levels(channels, tiny: bool) -> tuple[int, ...]:
    chans = tuple(int(c) for c in (channels or (_TINY if tiny else _FULL)))
    if len(chans) < 2:
        raise ModelError(f"a 3-D network needs at least 2 channel levels, got {chans}")
    return chans


def _comparison(key: str, in_ch: int, out_ch: int, chans: tuple[int, ...], img_size,
                tiny: bool, dropout: float) -> nn.Module:
    # imported here, not on load: every look-up of the registry imports this module, and
    # ``import monai`` costs seconds (as in osteoscan.models.segmenters)
    from monai.networks.nets import UNETR, AttentionUnet, DynUNet, SegResNet, UNet

    strides = (2,) * (len(chans) - 1)
    if key == "unet3d":
        return UNet(spatial_dims=3, in_channels=in_ch, out_channels=out_ch, channels=chans,
                    strides=strides, num_res_units=1 if tiny else 2, dropout=dropout)
    if key == "attentionunet3d":
        return AttentionUnet(spatial_dims=3, in_channels=in_ch, out_channels=out_ch,
                             channels=chans, strides=strides, dropout=dropout)
    if key == "segresnet3d":
        ones = (1,) * len(chans)
        return SegResNet(spatial_dims=3, init_filters=chans[0], in_channels=in_ch,
                         out_channels=out_ch, blocks_down=ones, blocks_up=ones[:-1],
                         norm=("GROUP", {"num_groups": min(8, chans[0])}),
                         dropout_prob=dropout or None)
    if key == "dynunet3d":
        return DynUNet(spatial_dims=3, in_channels=in_ch, out_channels=out_ch,
                       kernel_size=[3] * len(chans), strides=[1, *strides],
                       upsample_kernel_size=list(strides), filters=list(chans), dropout=dropout)
    # unetr3d: a ViT encoder on 16^3 patches; the tiny variant is narrow and shallow-headed
    return UNETR(in_channels=in_ch, out_channels=out_ch, img_size=tuple(img_size),
                 feature_size=chans[0], hidden_size=48 if tiny else 192,
                 mlp_dim=96 if tiny else 384, num_heads=4 if tiny else 8, dropout_rate=dropout)


def _builder(key: str):
    def build(*, num_classes, in_chans, img_size, pretrained, tiny, channels=None,
              dropout: float = 0.0) -> nn.Module:
        if pretrained:
            raise ModelError(f"{key}: no pretrained weights; pre-train with `osteoscan seg3d "
                             "train` and fine-tune with --init (docs/seg3d.md)")
        chans = _levels(channels, tiny)
        if key == "mtunet3d":
            return MTUNet3D(in_chans, num_classes, chans, aux_channels=1, dropout=dropout)
        return _comparison(key, in_chans, num_classes, chans, img_size, tiny, dropout)

    return build


_ENTRIES = {
    # name: (description, size multiple, size rule, transformer)
    "mtunet3d": ("multi-task multi-modal 3-D U-Net (MONAI UNet trunk; class + lesion-centre "
                 "heads)", 8, "D, H, W divisible by 2 ** (levels - 1)", False),
    "unet3d": ("MONAI UNet with residual units, 3-D", 8,
               "D, H, W divisible by 2 ** (levels - 1)", False),
    "attentionunet3d": ("MONAI AttentionUnet, 3-D", 8, "D, H, W divisible by 2 ** (levels - 1)",
                        False),
    "segresnet3d": ("MONAI SegResNet, 3-D", 8, "D, H, W divisible by 2 ** (levels - 1)", False),
    "dynunet3d": ("MONAI DynUNet (nnU-Net's network), 3-D", 8,
                  "D, H, W divisible by 2 ** (levels - 1)", False),
    "unetr3d": ("MONAI UNETR (ViT encoder on 16^3 patches), 3-D", 16,
                "D, H, W multiples of 16 (the ViT patch); fixed at build time", True),
}

for _name, (_text, _multiple, _rule, _vit) in _ENTRIES.items():
    register_model(
        ModelInfo(
            name=_name, family="transformer" if _vit else "cnn", source="monai", timm_name="",
            default_img_size=(64, 64, 64), gradcam_layer="", is_transformer=_vit,
            description=_text, paper=_MT_PAPER, size_rule=_rule, size_multiple=_multiple,
            min_img_size=(16, 16, 16), task="segmentation3d", spatial_dims=3,
            aux_channels=1 if _name == "mtunet3d" else 0,
        ),
        _builder(_name),
    )
