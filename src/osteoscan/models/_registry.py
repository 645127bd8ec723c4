"""The model registry: one name -> one constructor, one contract per task.

Every network of the toolkit is registered here, whatever its task (``ModelInfo.task``):

* ``"classification"``: a float32 batch ``(B, in_chans, H, W)`` -> logits
  ``(B, num_classes)`` (softmax is applied by callers at inference);
* ``"segmentation"``: ``(B, in_chans, H, W)`` -> per-pixel logits ``(B, num_classes, H, W)``
  (the lesion stage's hotspot and region U-Nets);
* ``"lesion-classification"``: ``(patch, context, tab)`` -> one logit per lesion ``(B,)``;
* ``"segmentation3d"``: ``(B, in_chans, D, H, W)`` -> per-voxel logits
  ``(B, num_classes + aux_channels, D, H, W)``: the class logits first, then the entry's
  auxiliary outputs (``ModelInfo.aux_channels``; 0 for single-task networks) (docs/seg3d.md).

Each entry carries a :class:`ModelInfo` with its defaults and the layer Grad-CAM should use,
so explain and training code never special-case architectures. Entries are added in timm's
style, by decorating a builder with :func:`register_model`; every public module of
``osteoscan.models`` is imported on the first look-up, so a new module registers its models
by existing (no list of provider modules to keep in step).

Example:
    >>> from osteoscan.models import create_model, list_models
    >>> "inrac18" in list_models()
    True
    >>> model = create_model("inrac18", in_chans=2, tiny=True)
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from osteoscan.errors import ModelError

logger = logging.getLogger(__name__)

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model is and how to use it.

    Attributes:
        name: registry name.
        family: "cnn" or "transformer".
        source: "timm", "torchvision" or "osteoscan" (who implements the architecture).
        timm_name: the timm (or torchvision) model name, "" for osteoscan models.
        default_img_size: (rows, cols) the entry is meant for.
        gradcam_layer: dotted module path (negative indices allowed, e.g.
            ``"blocks.-1.norm1"``) of the layer Grad-CAM should hook, valid for the full
            and the tiny variant; resolve it with :func:`get_module`.
        is_transformer: True when the Grad-CAM layer emits tokens that need
            :func:`tokens_to_grid`.
        description: one line for humans.
        paper: the paper that used this architecture on bone scans.
        size_rule: the constraint on (rows, cols), in words ("" when any size >= min works).
        size_multiple: rows and cols must be multiples of this (1 = no constraint).
        min_img_size: smallest (rows, cols) the network accepts.
        task: "classification", "segmentation", "lesion-classification" or
            "segmentation3d" (the contract of the module docstring).
        spatial_dims: 2 (images: sizes are (rows, cols)) or 3 (volumes: (D, H, W)).
        aux_channels: extra output channels after the class logits (multi-task networks).
    """

    name: str
    family: str
    source: str
    timm_name: str
    default_img_size: tuple[int, int]
    gradcam_layer: str
    is_transformer: bool
    description: str
    paper: str = ""
    size_rule: str = ""
    size_multiple: int = 1
    min_img_size: tuple[int, int] = (32, 32)
    task: str = "classification"
    spatial_dims: int = 2
    aux_channels: int = 0


TASKS = ("classification", "segmentation", "lesion-classification", "segmentation3d")
_REGISTRY: dict[str, tuple[ModelInfo, Builder]] = {}


def register_model(info: ModelInfo, builder: Builder | None = None):
    """Add a model to the registry; used as a decorator (timm's style) or called.

    Example:
        >>> @register_model(ModelInfo("my_net", "cnn", "osteoscan", "", (64, 64), "", False, "x"))  # doctest: +SKIP
        ... def _build(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs):
        ...     return nn.Conv2d(in_chans, num_classes, 1)

    Args:
        info: the entry's description; ``info.name`` is the registry key.
        builder: ``builder(*, num_classes, in_chans, img_size, pretrained, tiny, **kwargs)``
            returning an ``nn.Module``; omitted, a decorator taking the builder is returned.
    """
    if info.task not in TASKS:
        raise ModelError(f"{info.name}: task must be one of {', '.join(TASKS)}, got {info.task!r}")

    def add(fn: Builder) -> Builder:
        _REGISTRY[info.name] = (info, fn)
        return fn

    return add if builder is None else add(builder)


def _model_modules() -> list[str]:
    """Every public module of ``osteoscan.models`` (each registers its entries on import)."""
    package = importlib.import_module("osteoscan.models")
    return [f"osteoscan.models.{m.name}" for m in pkgutil.iter_modules(package.__path__)
            if not m.name.startswith("_")]


def _store() -> dict[str, tuple[ModelInfo, Builder]]:
    """The registry, after importing every model module once (auto-import).

    Looked up through ``sys.modules`` so that a second copy of this file (doctest
    collection imports files by path) still sees the entries the modules registered.
    """
    for module in _model_modules():
        importlib.import_module(module)
    return importlib.import_module("osteoscan.models._registry")._REGISTRY


def list_models(task: str | None = None) -> list[str]:
    """Names of the registered models, sorted.

    Args:
        task: only the entries of this task ("classification", "segmentation",
            "lesion-classification"); None lists every entry.

    Returns:
        The registry names accepted by :func:`create_model`.
    """
    store = _store()
    return sorted(n for n, (info, _) in store.items() if task is None or info.task == task)


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model.

    Raises:
        ModelError: the name is not registered (the message lists the known names).
    """
    store = _store()
    if name not in store:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(sorted(store))}")
    return store[name][0]


def check_img_size(info: ModelInfo, img_size: tuple[int, ...]) -> tuple[int, ...]:
    """Validate (rows, cols), or (D, H, W) for a 3-D entry, against the entry's size rule.

    Raises:
        ModelError: the size breaks the rule; the message names the rule.
    """
    what = "(rows, cols)" if info.spatial_dims == 2 else "(D, H, W)"
    try:
        size = tuple(int(v) for v in img_size)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{info.name}: img_size must be {what}, got {img_size!r}") from exc
    if len(size) != info.spatial_dims:
        raise ModelError(f"{info.name}: img_size must be {what}, got {img_size!r}")
    text = "x".join(map(str, size))
    if any(v % info.size_multiple for v in size):
        rule = info.size_rule or f"multiples of {info.size_multiple}"
        raise ModelError(f"{info.name}: img_size {text} breaks the size rule: {rule}")
    if any(v < lo for v, lo in zip(size, info.min_img_size, strict=False)):
        low = "x".join(map(str, info.min_img_size))
        raise ModelError(f"{info.name}: img_size {text} is smaller than the minimum {low}")
    return size


def create_model(
    name: str,
    *,
    num_classes: int = 2,
    in_chans: int = 2,
    img_size: tuple[int, ...] | None = None,
    pretrained: bool = False,
    tiny: bool = False,
    **kwargs,
) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        num_classes: number of output logits.
        in_chans: input channels (1 to 3: aggregated, stacked or geometric-mean views).
        img_size: (rows, cols) of the input, (D, H, W) for a 3-D entry; transformers bake
            it into their position embeddings, CNNs accept any size >= the minimum. None:
            (1024, 256) for images, the entry's default size for volumes.
        pretrained: download ImageNet weights through timm/torchvision's hub (needs
            internet; never used in tests). The first conv is adapted to ``in_chans``.
        tiny: build a genuinely small variant (few blocks, narrow) for tests.
        **kwargs: passed to the architecture (e.g. ``drop_rate``, or inRAC switches).

    Returns:
        The model in training mode; forward gives logits ``(B, num_classes)``.

    Raises:
        ModelError: unknown name, invalid size or channel count, or a constructor failure.
    """
    info = model_info(name)
    if not 1 <= int(in_chans) <= 3:
        raise ModelError(f"{name}: in_chans must be 1, 2 or 3, got {in_chans}")
    if int(num_classes) < 1:
        raise ModelError(f"{name}: num_classes must be >= 1, got {num_classes}")
    if img_size is None:
        img_size = (1024, 256) if info.spatial_dims == 2 else info.default_img_size
    size = check_img_size(info, img_size)
    builder = _store()[name][1]
    try:
        model = builder(
            num_classes=int(num_classes),
            in_chans=int(in_chans),
            img_size=size,
            pretrained=pretrained,
            tiny=tiny,
            **kwargs,
        )
    except ModelError:
        raise
    except (TypeError, ValueError, RuntimeError, AssertionError) as exc:
        raise ModelError(f"{name}: cannot build the model: {exc}") from exc
    logger.debug("created %s (tiny=%s, in_chans=%d, img_size=%s)", name, tiny, in_chans, size)
    return model


def get_module(model: nn.Module, dotted: str) -> nn.Module:
    """Resolve a dotted module path such as ``"layers.-1.blocks.-1.norm1"``.

    Integer parts index ``nn.Sequential``/``nn.ModuleList`` children and may be negative.

    Raises:
        ModelError: a part of the path does not exist.
    """
    module = model
    for part in dotted.split(".") if dotted else []:
        try:
            if part.lstrip("-").isdigit() and isinstance(module, (nn.Sequential, nn.ModuleList)):
                module = module[int(part)]
            else:
                module = getattr(module, part) if hasattr(module, part) else module._modules[part]
        except (IndexError, KeyError, AttributeError) as exc:
            raise ModelError(
                f"{type(model).__name__} has no module {dotted!r} (at {part!r})"
            ) from exc
    return module


def tokens_to_grid(model: nn.Module, name: str, tokens: torch.Tensor) -> torch.Tensor:
    """Reshape a transformer layer's output to an image grid ``(B, C, h, w)``.

    ViT/DeiT tokens ``(B, N, C)`` lose their prefix (class/distillation) tokens and are
    laid out on the patch grid; Swin's ``(B, h, w, C)`` maps are permuted to NCHW.
    CNN feature maps (4-D NCHW) of non-transformer entries are returned unchanged.

    Args:
        model: the model created by :func:`create_model`.
        name: its registry name.
        tokens: the hooked layer's output.

    Raises:
        ModelError: the tokens cannot be laid out on the model's grid.
    """
    info = model_info(name)
    if not info.is_transformer:
        return tokens
    if tokens.ndim == 4:  # Swin: (B, h, w, C)
        return tokens.permute(0, 3, 1, 2).contiguous()
    if tokens.ndim != 3:
        raise ModelError(f"{name}: expected (B, N, C) tokens, got shape {tuple(tokens.shape)}")
    prefix = int(getattr(model, "num_prefix_tokens", 1))
    patches = tokens[:, prefix:, :]
    gh, gw = (int(v) for v in model.patch_embed.grid_size)
    n = patches.shape[1]
    if n != gh * gw:  # dynamic image size: keep the aspect ratio of the built grid
        gw = int(round((n * gw / gh) ** 0.5))
        gh = n // max(gw, 1)
        if gh * gw != n:
            raise ModelError(f"{name}: {n} patch tokens do not fit the {gh}x{gw} grid")
    return patches.reshape(patches.shape[0], gh, gw, -1).permute(0, 3, 1, 2).contiguous()
