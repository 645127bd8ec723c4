"""Saving and loading lesion-stage networks: safetensors weights plus the one model card.

On disk a lesion network's card is an :class:`osteoscan.artefacts.ModelCard` like every
other model's: ``architecture`` (a registry name: ``unet``, ``patchcontext``, or a study
classifier wrapped for lesions), ``model_kwargs`` (the stage builder's arguments), ``classes``,
``threshold``, ``task``, ``metrics`` (figures with 95 % CIs), ``training``, and the stage's own
values under ``settings`` (``work_shape``, ``min_area_px``, ``patch``, ``context``,
``held_out``, ...). In memory the lesion stage keeps the flat dict it always used (``arch``,
``arch_kwargs``, ``labels`` and the settings at the top level): :func:`to_model_card` and
:func:`from_model_card` convert. Cards written before (the flat dict on disk) still load:
``ModelCard`` reads them. Nothing is unpickled.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from osteoscan.artefacts import LESION_ASSETS_DIR, ModelCard, atomic_write, read_card_file, write_card
from osteoscan.errors import ModelError

log = logging.getLogger(__name__)

ASSETS = LESION_ASSETS_DIR
"""Folder of the bundled lesion models."""


_CARD_KEYS = ("arch", "arch_kwargs", "labels", "threshold", "task", "metrics", "training")
"""Keys of the in-memory lesion card that are model-card fields; the rest are settings."""
_POSITIVE = {"lesion-classification": "malignant"}
_SEGMENTER_NAMES = {"in_channels": "in_chans", "out_channels": "num_classes"}
"""The segmenter builder's argument names -> ``create_model``'s."""
_RULE = {"hotspot-segmentation": "pooled Dice on the training studies"}
NOTES = ("Lesion-stage network trained on simulated bone scans only "
         "(osteoscan.lesions.recipes); research use only, not a medical device.")


def to_model_card(card: dict[str, Any]) -> ModelCard:
    """The lesion stage's card dict as the one :class:`~osteoscan.artefacts.ModelCard`."""
    task = str(card.get("task", ""))
    return ModelCard(
        architecture=card["arch"], model_kwargs=_registry_kwargs(card["arch"], card["arch_kwargs"]),
        classes=list(card.get("labels", [])), positive=_POSITIVE.get(task),
        threshold=card.get("threshold"), threshold_rule=_RULE.get(task, "fixed"), task=task,
        metrics=dict(card.get("metrics", {})), training=dict(card.get("training", {})),
        settings={k: v for k, v in card.items() if k not in _CARD_KEYS}, notes=NOTES,
    )


def from_model_card(mc: ModelCard) -> dict[str, Any]:
    """The flat card dict the lesion stage works with, from a model card."""
    card = {"arch": mc.architecture, "arch_kwargs": _stage_kwargs(mc.architecture, mc.model_kwargs),
            "labels": list(mc.classes), "task": mc.task, "metrics": dict(mc.metrics),
            "training": dict(mc.training), **mc.settings}
    if mc.threshold is not None:
        card["threshold"] = mc.threshold
    return card


_ONE_LOGIT = ("patchcontext", "hotspotpatch")
"""Networks built with one logit from 2-channel patches (their builders fix both)."""


def _registry_kwargs(arch: str, kwargs: dict) -> dict:
    """The stage builder's arguments as ``create_model(arch, **kwargs)`` takes them, so that
    every card's ``architecture`` + ``model_kwargs`` rebuilds its network the same way."""
    if arch in _ONE_LOGIT:
        return {"num_classes": 1, "in_chans": 2, **kwargs}
    return {_SEGMENTER_NAMES.get(k, k): v for k, v in kwargs.items()}


def _stage_kwargs(arch: str, kwargs: dict) -> dict:
    """Inverse of :func:`_registry_kwargs` (older cards already hold the stage's names)."""
    if arch in _ONE_LOGIT:
        return {k: v for k, v in kwargs.items() if k not in ("num_classes", "in_chans")}
    back = {v: k for k, v in _SEGMENTER_NAMES.items()}
    return {back.get(k, k): v for k, v in kwargs.items()}


def save_card(card: dict[str, Any], path: str | Path) -> Path:
    """Write ``<path>.json``, the model card of a lesion network, atomically."""
    return write_card(Path(path).with_suffix(".json"), to_model_card(card))


def save_bundle(net: nn.Module, card: dict[str, Any], path: str | Path) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json`` atomically.

    Args:
        net: the network (its ``state_dict`` is stored, made contiguous, on the CPU).
        card: the lesion card dict; must contain ``arch`` and ``arch_kwargs``.
        path: file stem (suffixes are replaced).

    Returns:
        The path of the weights file.
    """
    stem = Path(path).with_suffix("")
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    weights = stem.with_suffix(".safetensors")
    atomic_write(weights, lambda tmp: save_file(state, str(tmp)))
    save_card(card, stem)
    log.info("saved %s (+ card)", weights)
    return weights


def read_card(path: str | Path) -> dict[str, Any]:
    """Read the model card next to ``path`` (stem, ``.json`` or ``.safetensors``) as the
    lesion stage's card dict (either card format on disk).

    Raises:
        ModelError: missing or invalid card (the message names the file).
    """
    card_path = Path(path).with_suffix(".json")
    if not card_path.is_file():
        raise ModelError(f"{card_path}: model card not found")
    return from_model_card(read_card_file(card_path))


def load_weights(net: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into ``net`` (strict) and set eval mode.

    Raises:
        ModelError: missing file or weights that do not fit the architecture.
    """
    weights = Path(path).with_suffix(".safetensors")
    if not weights.exists():
        raise ModelError(f"{weights}: weights file not found")
    try:
        net.load_state_dict(load_file(str(weights)), strict=True)
    except (RuntimeError, OSError) as exc:
        raise ModelError(f"{weights}: weights do not fit {card_arch(net)} ({exc})") from exc
    return net.eval()


def card_arch(net: nn.Module) -> str:
    """Class name of a network, for messages."""
    return type(net).__name__


def set_threads(n: int | None) -> None:
    """Limit torch CPU threads (the lesion stage is light; do not grab every core)."""
    if n:
        torch.set_num_threads(n)
