"""Published classification backbones, built through timm (and torchvision's GoogLeNet).

Each entry registers a :class:`~osteoscan.models._registry.ModelInfo` and a builder. Full
variants are the published architectures; ``tiny=True`` overrides depth/width through the
architectures' own constructor arguments, so large models (ViT-L, ConvNeXt-L, VGG16) are
never instantiated at full size in tests. ``inception_v1`` (torchvision hard-codes its widths)
is shrunk by swapping in narrower Inception blocks; ``inception_v3`` has no width arguments
and its tiny variant is the full network (24 M parameters), tested at 112x80 (its minimum
is 75x75).

timm and torchvision are imported by the builders, not on load: importing them loads
torch._dynamo (seconds), and every process that imports the model registry (each analyze
worker, whose bundled models are osteoscan's own inRAC) paid that at start-up.
"""

from __future__ import annotations

import torch
from torch import nn

from osteoscan.errors import ModelError
from osteoscan.models._registry import ModelInfo, register_model

_NATIVE = (1024, 256)
_CONVNEXT_TINY = {"depths": (1, 1, 1, 1), "dims": (8, 16, 32, 64)}
_VIT_TINY = {"embed_dim": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 2.0}
_SWIN_TINY = {"embed_dim": 16, "depths": (1, 1, 2, 1), "num_heads": (1, 2, 2, 4)}
# VGG widths divided by 16 (64 -> 4 ... 512 -> 32); used by the tiny VGG variants.
_VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],
}

_PAPER_CONVNEXT = "ConvNeXt vs transformers on bone scans (Clin Nucl Med 2025)"
_PAPER_LUNG = "Multi-class lung-cancer bone scan classification (2022)"
_PAPER_LESION = "Lesion-level benign/malignant on whole-body scans (2021)"
_PAPER_CT = "3-D Mask R-CNN with ConvNeXt-V2 on CT (2024); used here as a 2-D backbone"


def _timm_builder(timm_name: str, tiny_kwargs: dict, *, pass_img_size: bool = False):
    """A builder calling ``timm.create_model`` with tiny overrides and the image size."""

    def build(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs) -> nn.Module:
        import timm

        args = dict(tiny_kwargs) if tiny else {}
        if pass_img_size:
            args["img_size"] = tuple(img_size)
        args.update(kwargs)
        model = timm.create_model(
            timm_name, pretrained=False, num_classes=num_classes, in_chans=in_chans, **args
        )
        if pretrained:
            _load_hub_weights(model, timm_name, num_classes, args)
        return model

    return build


def _load_hub_weights(model: nn.Module, timm_name: str, num_classes: int, args: dict) -> None:
    """Download RGB ImageNet weights through timm and transfer them (first conv adapted).

    The RGB model is built with the same arguments (so ViT position embeddings are resampled
    to ``img_size`` by timm), then copied with :func:`~osteoscan.models.init.transfer_state`,
    which adapts the first conv to the channel count the same way as for local files.
    """
    import timm

    from osteoscan.models.init import transfer_state

    try:
        rgb = timm.create_model(
            timm_name, pretrained=True, num_classes=num_classes, in_chans=3, **args
        )
    except Exception as exc:  # network, hub or cache failures: one clear message
        raise ModelError(
            f"{timm_name}: cannot download pretrained weights ({exc}); "
            "use pretrained=False or init_from() with a local .safetensors file"
        ) from exc
    transfer_state(model, rgb.state_dict(), f"timm:{timm_name}")


def _vgg_builder(variant: str):
    def build(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs) -> nn.Module:
        import timm

        if not tiny:
            model = timm.create_model(variant, num_classes=num_classes, in_chans=in_chans, **kwargs)
            if pretrained:
                _load_hub_weights(model, variant, num_classes, kwargs)
            return model
        cfg = [v if v == "M" else v // 16 for v in _VGG_CFG[variant]]
        # head_hidden_size is fixed at 4096 in timm's VGG; mlp_ratio shrinks the 7x7 conv layer.
        from timm.models.vgg import VGG

        return VGG(cfg, num_classes=num_classes, in_chans=in_chans, mlp_ratio=1 / 128, **kwargs)

    return build


def adapt_first_conv(conv: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    """A copy of an RGB first convolution taking ``in_chans`` channels.

    Uses :func:`osteoscan.models.init.adapt_rgb_kernels` (1 channel: sum of the RGB
    kernels; 2 channels: the mean RGB kernel x 3/2 each).
    """
    from osteoscan.models.init import adapt_rgb_kernels

    new = nn.Conv2d(
        in_chans,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        new.weight.copy_(adapt_rgb_kernels(conv.weight.detach(), in_chans))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


# GoogLeNet's Inception widths (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj), in order.
_GOOGLENET = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}


def _shrink_googlenet(model: nn.Module, div: int = 8) -> nn.Module:
    """Same GoogLeNet topology with every width divided by ``div`` (the tiny test variant).

    torchvision hard-codes GoogLeNet's widths, so the tiny variant swaps in narrower
    modules built from torchvision's own ``BasicConv2d`` and ``Inception`` blocks.
    """
    from torchvision.models.googlenet import BasicConv2d, Inception

    model.conv1 = BasicConv2d(3, 64 // div, kernel_size=7, stride=2, padding=3)
    model.conv2 = BasicConv2d(64 // div, 64 // div, kernel_size=1)
    model.conv3 = BasicConv2d(64 // div, 192 // div, kernel_size=3, padding=1)
    prev = 192 // div
    for name, widths in _GOOGLENET.items():
        w = [max(v // div, 1) for v in widths]
        setattr(model, name, Inception(prev, *w))
        prev = w[0] + w[2] + w[4] + w[5]
    model.fc = nn.Linear(prev, model.fc.out_features)
    return model


def _build_googlenet(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs) -> nn.Module:
    """torchvision GoogLeNet (Inception-v1) without auxiliary heads, first conv adapted."""
    from torchvision.models import googlenet

    weights = "IMAGENET1K_V1" if pretrained else None
    # transform_input assumes ImageNet RGB statistics: off, osteoscan normalises counts itself.
    init = not pretrained and not tiny  # tiny: skip initialising modules that are swapped out
    model = googlenet(
        weights=weights, aux_logits=False, transform_input=False, init_weights=init, **kwargs
    )
    if tiny:
        model = _shrink_googlenet(model)
    if in_chans != 3:
        model.conv1.conv = adapt_first_conv(model.conv1.conv, in_chans)
    if num_classes != model.fc.out_features:
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def _build_lite0(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs) -> nn.Module:
    """timm efficientnet_lite0; tiny: channels x 0.25, depth x 0.34 through timm's generator."""
    if not tiny:
        return _timm_builder("efficientnet_lite0", {})(
            num_classes=num_classes,
            in_chans=in_chans,
            img_size=img_size,
            pretrained=pretrained,
            tiny=False,
            **kwargs,
        )
    # the public entry point fixes the multipliers; its generator takes them as arguments
    from timm.models.efficientnet import _gen_efficientnet_lite

    return _gen_efficientnet_lite(
        "efficientnet_lite0",
        channel_multiplier=0.25,
        depth_multiplier=0.34,
        num_classes=num_classes,
        in_chans=in_chans,
        **kwargs,
    )


def _cnn(name: str, timm_name: str, layer: str, description: str, paper: str, **extra) -> ModelInfo:
    return ModelInfo(
        name=name,
        family="cnn",
        source=extra.pop("source", "timm"),
        timm_name=timm_name,
        default_img_size=_NATIVE,
        gradcam_layer=layer,
        is_transformer=False,
        description=description,
        paper=paper,
        **extra,
    )


def _register_cnns() -> None:
    register_model(
        _cnn("resnet18", "resnet18", "layer4", "ResNet-18 (He et al. 2016)", _PAPER_CONVNEXT),
        _timm_builder(
            "resnet18", {"layers": (1, 1, 1, 1), "channels": (8, 16, 32, 64), "stem_width": 8}
        ),
    )
    register_model(
        _cnn(
            "convnext_large",
            "convnext_large",
            "stages.-1",
            "ConvNeXt-L (Liu et al. 2022)",
            _PAPER_CONVNEXT,
        ),
        _timm_builder("convnext_large", _CONVNEXT_TINY),
    )
    for size in ("atto", "nano", "tiny", "base"):
        name = f"convnextv2_{size}"
        register_model(
            _cnn(name, name, "stages.-1", f"ConvNeXt-V2 {size} (Woo et al. 2023)", _PAPER_CT),
            _timm_builder(name, _CONVNEXT_TINY),
        )
    for name in ("vgg11", "vgg16"):
        register_model(
            _cnn(
                name,
                name,
                "features",
                f"{name.upper()} (Simonyan & Zisserman 2015)",
                _PAPER_LUNG if name == "vgg11" else _PAPER_LESION,
            ),
            _vgg_builder(name),
        )
    register_model(
        _cnn(
            "inception_v1",
            "googlenet",
            "inception5b",
            "GoogLeNet / Inception-v1 (torchvision)",
            _PAPER_LUNG,
            source="torchvision",
        ),
        _build_googlenet,
    )
    register_model(
        _cnn(
            "inception_v3",
            "inception_v3",
            "Mixed_7c",
            "Inception-v3 (Szegedy et al. 2016)",
            _PAPER_LESION,
            min_img_size=(75, 75),
            size_rule="rows and cols >= 75",
        ),
        _timm_builder("inception_v3", {}),
    )
    register_model(
        _cnn(
            "densenet169",
            "densenet169",
            "features",
            "DenseNet-169 (Huang et al. 2017)",
            _PAPER_LESION,
        ),
        _timm_builder("densenet169", {"growth_rate": 8, "block_config": (1, 1, 1, 1)}),
    )
    register_model(
        _cnn(
            "efficientnet_lite0",
            "efficientnet_lite0",
            "bn2",
            "EfficientNet-Lite0 (ImageNet weights available offline, see models.init)",
            "",
        ),
        _build_lite0,
    )


def _register_transformers() -> None:
    vit_rule = "rows and cols must be multiples of the 16-pixel patch"
    for name, timm_name, desc in (
        ("deit_base", "deit_base_patch16_224", "DeiT-B/16 (Touvron et al. 2021)"),
        ("vit_large_patch16", "vit_large_patch16_224", "ViT-L/16 (Dosovitskiy et al. 2021)"),
    ):
        register_model(
            ModelInfo(
                name=name,
                family="transformer",
                source="timm",
                timm_name=timm_name,
                default_img_size=_NATIVE,
                gradcam_layer="blocks.-1.norm1",
                is_transformer=True,
                description=desc,
                paper=_PAPER_CONVNEXT,
                size_rule=vit_rule,
                size_multiple=16,
                min_img_size=(16, 16),
            ),
            _timm_builder(timm_name, _VIT_TINY, pass_img_size=True),
        )
    register_model(
        ModelInfo(
            name="swin_base",
            family="transformer",
            source="timm",
            timm_name="swin_base_patch4_window7_224",
            default_img_size=_NATIVE,
            gradcam_layer="layers.-1.blocks.-1.norm1",
            is_transformer=True,
            description="Swin-B, 4-pixel patches, 7x7 windows (Liu et al. 2021)",
            paper=_PAPER_CONVNEXT,
            size_rule="rows and cols must be multiples of 32 (4-pixel patches, 3 patch mergings); "
            "windows are padded by timm so the grid need not divide by 7",
            size_multiple=32,
            min_img_size=(32, 32),
        ),
        _timm_builder("swin_base_patch4_window7_224", _SWIN_TINY, pass_img_size=True),
    )


_register_cnns()
_register_transformers()

__all__ = ["adapt_first_conv", "ModelError"]
