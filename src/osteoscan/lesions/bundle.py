"""Saving and loading lesion-stage networks: safetensors weights plus a JSON model card.

The card holds everything needed to rebuild the network (``arch`` + ``arch_kwargs``) and to
feed it (``work_shape``, label names, threshold), plus provenance (training data, metrics).
Nothing is unpickled. ``arch`` is a registry name (``unet``, ``patchcontext``, or a study
classifier wrapped for lesions), so the networks are rebuilt through
``osteoscan.models.create_model``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from osteoscan.artefacts import LESION_ASSETS_DIR, atomic_write, atomic_write_text, dumps_json
from osteoscan.errors import ModelError

log = logging.getLogger(__name__)

ASSETS = LESION_ASSETS_DIR
"""Folder of the bundled lesion models."""


def save_bundle(net: nn.Module, card: dict[str, Any], path: str | Path) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json`` atomically.

    Args:
        net: the network (its ``state_dict`` is stored, made contiguous, on the CPU).
        card: JSON-serialisable model card; must contain ``arch`` and ``arch_kwargs``.
        path: file stem (suffixes are replaced).

    Returns:
        The path of the weights file.
    """
    stem = Path(path).with_suffix("")
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    weights, card_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    atomic_write(weights, lambda tmp: save_file(state, str(tmp)))
    atomic_write_text(card_path, dumps_json(card, sort_keys=True, default=float))
    log.info("saved %s (+ card)", weights)
    return weights


def read_card(path: str | Path) -> dict[str, Any]:
    """Read the JSON card next to ``path`` (stem, ``.json`` or ``.safetensors``).

    Raises:
        ModelError: missing or invalid card.
    """
    card_path = Path(path).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{card_path}: model card not found") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{card_path}: model card is not valid JSON ({exc})") from exc
    for key in ("arch", "arch_kwargs"):
        if key not in card:
            raise ModelError(f"{card_path}: model card lacks {key!r}")
    return card


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
