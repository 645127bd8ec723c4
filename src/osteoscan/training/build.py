"""Build what a training run needs from its config: model (with initial weights, frozen
layers, parameter groups) and the preprocessing pipelines."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from osteoscan.errors import ConfigError, ModelError
from osteoscan.training.checkpoint import ModelCard, resolve_checkpoint
from osteoscan.config.train import TrainConfig
from osteoscan.types import BoneScan

logger = logging.getLogger(__name__)

Pipeline = Callable[[BoneScan, np.random.Generator], np.ndarray]


def make_pipeline(preprocess: dict, augment: dict | None) -> Pipeline:
    """The preprocessing stage's pipeline from plain mappings (as stored in configs and cards).

    Args:
        preprocess: ``PreprocessConfig`` fields.
        augment: ``AugmentConfig`` fields, or None for inference (no augmentation).
    """
    from osteoscan.preprocessing import AugmentConfig, PreprocessConfig, build_pipeline

    pre = PreprocessConfig.from_dict(dict(preprocess))
    aug = None if augment is None else AugmentConfig.from_dict(dict(augment))
    return build_pipeline(pre, aug)


def resolved_settings(preprocess: dict, augment: dict) -> tuple[dict, dict]:
    """Preprocessing/augmentation settings with every default filled in (for the card)."""
    from osteoscan.preprocessing import AugmentConfig, PreprocessConfig

    return (PreprocessConfig.from_dict(dict(preprocess)).to_dict(),
            AugmentConfig.from_dict(dict(augment)).to_dict())


def probe_input(pipeline: Pipeline, scan: BoneScan) -> tuple[int, tuple[int, int]]:
    """(in_chans, (rows, cols)) the pipeline produces for a study."""
    x = pipeline(scan, np.random.default_rng(0))
    return int(x.shape[0]), (int(x.shape[1]), int(x.shape[2]))


def model_kwargs(cfg: TrainConfig, in_chans: int, img_size: tuple[int, int]) -> dict:
    """Constructor arguments recorded in the card (JSON-ready)."""
    kwargs = {"num_classes": len(cfg.data.classes), "in_chans": in_chans,
              "img_size": list(img_size)}
    extra = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.model.kwargs.items()}
    return {**kwargs, **extra}


def create_for_training(cfg: TrainConfig, kwargs: dict, init: str | None) -> nn.Module:
    """Create the model, load the initial weights and freeze layers as configured."""
    from osteoscan.models import create_model, model_info

    if model_info(cfg.model.name).task != "classification":
        raise ConfigError(f"model.name: {cfg.model.name!r} is a {model_info(cfg.model.name).task} "
                          "network of the lesion stage (osteoscan lesions train), not a study classifier")
    source = init if init is not None else cfg.model.init
    model = create_model(cfg.model.name, pretrained=source == "timm", **kwargs)
    if source and source != "timm":
        init_weights(model, source)
    if cfg.model.freeze:
        from osteoscan.models.init import freeze

        until = cfg.model.freeze
        freeze(model, int(until) if until.isdigit() else until)
    return model


def init_weights(model: nn.Module, source: str) -> None:
    """Load initial weights through ``osteoscan.models.init.init_from``.

    ``source``: "reference" (the bundled model), "imagenet-lite0" (ImageNet weights packaged
    for efficientnet_lite0), a run folder, a checkpoint folder, a .safetensors file or a
    model.json card. Tensors whose name or shape differ (e.g. a new classifier head) keep
    their fresh initialisation; the first convolution is adapted to the channel count.
    """
    from osteoscan.models.init import IMAGENET_LITE0, init_from

    if source in ("imagenet-lite0", IMAGENET_LITE0):
        report = init_from(model, IMAGENET_LITE0)
    else:
        if source != "reference" and not Path(source).exists():
            raise ConfigError(f"model.init: {source!r} is neither a known source nor an existing path")
        weights, _ = resolve_checkpoint(source)
        report = init_from(model, weights)
    if not report.loaded:
        raise ModelError(f"model.init: nothing in {source!r} fits {type(model).__name__}")
    logger.info("init from %s: %.0f%% of tensors loaded", source, 100 * report.coverage)


def parameter_groups(model: nn.Module, lr: float, lr_decay: float, weight_decay: float) -> list[dict]:
    """AdamW groups with layer-wise (discriminative) learning rates: the head gets ``lr``,
    each earlier stage ``lr_decay`` times the next (1.0: one learning rate)."""
    from osteoscan.models.init import param_groups

    return param_groups(model, lr, decay=lr_decay, weight_decay=weight_decay)


def card_for(cfg: TrainConfig, kwargs: dict) -> ModelCard:
    """A model card pre-filled from the config (metrics and threshold come later)."""
    binary = len(cfg.data.classes) == 2
    return ModelCard(
        architecture=cfg.model.name, model_kwargs=kwargs, classes=list(cfg.data.classes),
        positive=cfg.data.positive if binary else None, threshold=0.5 if binary else None,
        threshold_rule=cfg.optim.threshold, preprocess=dict(cfg.preprocess),
        augment=dict(cfg.augment),
    )
