"""Grad-CAM heatmaps for CNNs and transformers, sharing the prediction's forward pass.

Two ways to compute the same map (Selvaraju et al. 2017: channel weights are the spatial
mean of d score / d activation; map = ReLU(sum_c w_c A_c), min-max scaled to 0..1 and
resized bilinearly to the model input):

* ``"split"`` (default): one forward pass gives the logits *and* the map. The trunk up to
  the target layer runs under ``torch.no_grad``; a forward hook turns the target
  activation into a fresh leaf tensor that requires grad and switches autograd back on,
  so only the head (the layers after the target) records a graph, and the backward pass
  stops at the leaf. Written by hand because ``pytorch_grad_cam`` always runs a full
  forward with autograd through the whole backbone plus a full backward via hooks,
  which costs about two extra forward passes per study.
* ``"library"``: ``pytorch_grad_cam.GradCAM`` (with a ``reshape_transform`` for
  transformer tokens). Used when the split is impossible: the target layer returns a
  tuple, runs twice in one forward, or a later layer modifies it in place.

The two give the same heatmap (tests/explain/test_gradcam.py checks it to 1e-5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from osteoscan.errors import ModelError

log = logging.getLogger(__name__)

ReshapeFn = Callable[[torch.Tensor], torch.Tensor]
"""Maps a layer output to ``(B, C, h, w)`` (tokens or NHWC to a channel-first grid)."""


@dataclass(frozen=True)
class CamOutput:
    """Logits and heatmaps of one batch.

    Attributes:
        logits: float32 (B, K) raw model outputs (no softmax), detached.
        heatmaps: float32 (B, H, W) in 0..1 on the model input grid.
        targets: the class index each heatmap explains, per image.
        method: "split" or "library" (which path computed the maps).
    """

    logits: torch.Tensor
    heatmaps: np.ndarray
    targets: tuple[int, ...]
    method: str


class _SplitFailed(RuntimeError):
    """The split path cannot run on this model; use the library path."""


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """Find a sub-module by dotted path (``"stages.3"``, ``"blocks.-1.norm1"``).

    Args:
        model: the network.
        layer: a dotted path (integers index sequences, negatives allowed) or a module.

    Returns:
        The module.

    Raises:
        ModelError: when the path does not exist in ``model``.
    """
    if isinstance(layer, nn.Module):
        return layer
    module: nn.Module = model
    for part in layer.split("."):
        try:
            if part.lstrip("-").isdigit():
                module = module[int(part)]  # type: ignore[index]
            else:
                module = getattr(module, part)
        except (AttributeError, IndexError, TypeError, KeyError) as exc:
            raise ModelError(
                f"{type(model).__name__}: Grad-CAM layer {layer!r} not found ({part!r})"
            ) from exc
    return module


def nhwc_to_grid(x: torch.Tensor) -> torch.Tensor:
    """Swin-style ``(B, H, W, C)`` activations to ``(B, C, H, W)``."""
    return x.permute(0, 3, 1, 2)


def tokens_grid_fn(model: nn.Module, input_hw: tuple[int, int]) -> ReshapeFn:
    """Reshape ViT/DeiT tokens ``(B, N, C)`` to ``(B, C, h, w)``, dropping class/distillation tokens.

    Args:
        model: a timm vision transformer (``num_prefix_tokens``, ``patch_embed.patch_size``).
        input_hw: (H, W) of the model input.

    Returns:
        The reshape function.
    """
    n_prefix = int(getattr(model, "num_prefix_tokens", 1))
    patch = getattr(getattr(model, "patch_embed", None), "patch_size", (16, 16))
    ph, pw = (patch, patch) if isinstance(patch, int) else tuple(patch)
    h, w = input_hw[0] // ph, input_hw[1] // pw

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        if tokens.ndim == 4:  # already a grid (NHWC from Swin-like blocks)
            return nhwc_to_grid(tokens)
        grid = tokens[:, n_prefix:, :]
        if grid.shape[1] != h * w:
            raise ModelError(f"{type(model).__name__}: {grid.shape[1]} tokens, expected {h}x{w}")
        return grid.reshape(tokens.shape[0], h, w, tokens.shape[2]).permute(0, 3, 1, 2)

    return reshape


def cam_from(activation: torch.Tensor, grad: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Grad-CAM from one layer's activation and gradient, both ``(B, C, h, w)``.

    Args:
        activation: the layer output on a channel-first grid.
        grad: d score / d activation, same shape.
        size: (H, W) to resize to (the model input).

    Returns:
        float32 (B, H, W), each map min-max scaled to 0..1 before and again after
        resizing (what pytorch_grad_cam does, so both paths agree).
    """
    weights = grad.float().mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation.float()).sum(dim=1, keepdim=True))
    cam = _minmax(cam)
    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    return _minmax(cam[:, 0]).detach().cpu().numpy().astype(np.float32)


def _minmax(cam: torch.Tensor) -> torch.Tensor:
    """Scale each map of a batch to 0..1 (``x - min`` over ``1e-7 + max``)."""
    shape = (-1,) + (1,) * (cam.ndim - 1)
    cam = cam - cam.flatten(1).min(dim=1).values.reshape(shape)
    return cam / (1e-7 + cam.flatten(1).max(dim=1).values.reshape(shape))


TargetFn = Callable[[torch.Tensor], Sequence[int]]


class GradCam:
    """Grad-CAM on one layer of a classifier; returns logits and heatmaps in one call.

    Args:
        model: the classifier (set to eval mode here).
        layer: dotted path or module whose output is explained.
        reshape: maps that output to ``(B, C, h, w)``; None for CNN feature maps.
        method: "auto" (split, falling back to the library), "split" or "library".

    Example:
        >>> cam = GradCam(model, "layer4")                        # doctest: +SKIP
        >>> out = cam(x, target=lambda logits: [1] * len(logits))  # doctest: +SKIP
        >>> out.heatmaps.shape                                     # doctest: +SKIP
        (1, 512, 128)
    """

    def __init__(
        self,
        model: nn.Module,
        layer: str | nn.Module,
        *,
        reshape: ReshapeFn | None = None,
        method: str = "auto",
    ) -> None:
        if method not in ("auto", "split", "library"):
            raise ValueError(f"method must be auto, split or library, got {method!r}")
        self.model = model.eval()
        self.layer = resolve_layer(model, layer)
        self.reshape = reshape
        self.method = method
        self._split_ok = method != "library"

    def __call__(self, x: torch.Tensor, target: TargetFn | int) -> CamOutput:
        """Run the model on ``x`` and explain the target class of each image.

        Args:
            x: float32 (B, C, H, W) model input.
            target: a class index, or a function from detached logits (B, K) to indices.

        Returns:
            :class:`CamOutput`.
        """
        fn: TargetFn = target if callable(target) else (lambda lg: [int(target)] * len(lg))
        if self._split_ok:
            try:
                return self._split(x, fn)
            except _SplitFailed as exc:
                if self.method == "split":
                    raise ModelError(f"{type(self.model).__name__}: split Grad-CAM: {exc}") from exc
                log.info("split Grad-CAM not possible (%s); using pytorch_grad_cam", exc)
                self._split_ok = False
        return self._library(x, fn)

    def _grid(self, t: torch.Tensor) -> torch.Tensor:
        grid = self.reshape(t) if self.reshape is not None else t
        if grid.ndim != 4:
            raise ModelError(
                f"Grad-CAM layer output has shape {tuple(t.shape)}; give a reshape function"
            )
        return grid

    def _split(self, x: torch.Tensor, fn: TargetFn) -> CamOutput:
        captured: list[torch.Tensor] = []

        def hook(_module: nn.Module, _inp: object, out: object) -> torch.Tensor:
            if not isinstance(out, torch.Tensor) or captured:
                raise _SplitFailed("target layer output is not a single tensor used once")
            leaf = out.detach().requires_grad_(True)
            captured.append(leaf)
            torch.set_grad_enabled(True)  # the head records a graph, the trunk did not
            return leaf

        prev = torch.is_grad_enabled()
        handle = self.layer.register_forward_hook(hook)
        try:
            torch.set_grad_enabled(False)
            logits = self.model(x)
        except RuntimeError as exc:  # e.g. an in-place op on the leaf after the target
            raise _SplitFailed(str(exc)) from exc
        finally:
            handle.remove()
            torch.set_grad_enabled(prev)
        if not captured or not logits.requires_grad:
            raise _SplitFailed("target layer did not run or does not reach the logits")
        idx = [int(i) for i in fn(logits.detach())]
        score = logits[torch.arange(len(idx)), torch.tensor(idx)].sum()
        (grad,) = torch.autograd.grad(score, captured[0])
        act, g = self._grid(captured[0].detach()), self._grid(grad)
        maps = cam_from(act, g, tuple(x.shape[-2:]))
        return CamOutput(logits.detach().float(), maps, tuple(idx), "split")

    def _library(self, x: torch.Tensor, fn: TargetFn) -> CamOutput:
        # pytorch_grad_cam: full forward with autograd + full backward (the slower path)
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with torch.no_grad():
            logits = self.model(x).float()
        idx = [int(i) for i in fn(logits)]
        with GradCAM(self.model, [self.layer], reshape_transform=self.reshape) as cam:
            maps = cam(x, targets=[ClassifierOutputTarget(i) for i in idx])
        return CamOutput(logits, np.asarray(maps, np.float32), tuple(idx), "library")
