"""Checkpoints: weights as safetensors plus a JSON model card that travels with them.

A checkpoint folder holds ``model.safetensors`` and ``model.json`` (the :class:`ModelCard`).
The card, the file names and checkpoint resolution live in the torch-free
:mod:`osteoscan.artefacts`; this module adds the torch side (weights, building the model).
Nothing is ever unpickled: safetensors holds only tensors, the card is JSON. The card says
everything needed to rebuild and use the model: architecture and constructor arguments,
preprocessing and augmentation settings, class names, the positive class, the operating
threshold chosen on validation, the data the model saw, its metrics, library versions, date.

Example:
    >>> model, card = load_checkpoint("reference")       # doctest: +SKIP
    >>> card.classes, card.threshold                      # doctest: +SKIP
    (['normal', 'metastasis'], 0.42)
"""

from __future__ import annotations

import logging
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from osteoscan.artefacts import (
    CARD_FORMAT,
    CARD_NAME,
    REFERENCE_DIR,
    WEIGHTS_NAME,
    ModelCard,
    atomic_write,
    read_card,
    resolve_checkpoint,
    write_card,
)
from osteoscan.errors import ModelError

logger = logging.getLogger(__name__)

__all__ = ["CARD_FORMAT", "CARD_NAME", "REFERENCE_DIR", "WEIGHTS_NAME", "ModelCard", "build_model",
           "library_versions", "load_checkpoint", "read_card", "read_weights", "resolve_checkpoint",
           "save_checkpoint"]


def library_versions() -> dict:
    """Versions of the libraries that shape a model's numbers."""
    import timm

    from osteoscan import __version__

    return {"osteoscan": __version__, "torch": torch.__version__, "timm": timm.__version__,
            "python": platform.python_version()}


def save_checkpoint(
    directory: str | Path, model: torch.nn.Module, card: ModelCard, *, half: bool = False
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory`` (atomically).

    Args:
        directory: folder to write (created when missing).
        model: the network (a DDP wrapper is unwrapped).
        card: its model card; ``created``, ``versions`` and ``weights_dtype`` are filled in.
        half: store floating-point weights as float16 (halves the file; loading casts back).

    Returns:
        The folder written.
    """
    directory = Path(directory)
    model = getattr(model, "module", model)
    dtype = torch.float16 if half else None
    tensors = {
        k: (v.detach().to("cpu", dtype=dtype if v.is_floating_point() and dtype else v.dtype)
            .contiguous().clone())
        for k, v in model.state_dict().items()
    }
    card.created = card.created or datetime.now(timezone.utc).isoformat(timespec="seconds")
    card.versions = card.versions or library_versions()
    card.weights_dtype = "float16" if half else "float32"
    atomic_write(directory / WEIGHTS_NAME,
                 lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))
    write_card(directory / CARD_NAME, card)
    return directory


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file as float32 tensors (never unpickles)."""
    path = Path(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path.name}: not a readable safetensors file ({exc})") from exc
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def build_model(card: ModelCard) -> torch.nn.Module:
    """Instantiate the card's architecture with random weights (no download)."""
    from osteoscan.models import create_model

    kwargs = dict(card.model_kwargs)
    kwargs.pop("pretrained", None)
    try:
        return create_model(card.architecture, pretrained=False, **kwargs)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model card: cannot build {card.architecture!r} ({exc})") from exc


def load_checkpoint(source: str | Path, *, device: str = "cpu") -> tuple[torch.nn.Module, ModelCard]:
    """Load a model and its card, ready for inference (eval mode).

    Args:
        source: "reference", a run folder, a checkpoint folder, a ``.safetensors`` file with
            ``model.json`` beside it, or a ``model.json`` card.
        device: torch device for the model.

    Returns:
        (model, card).

    Raises:
        ModelError: missing files, an unreadable card or weights that do not fit the architecture.
    """
    weights_path, _ = resolve_checkpoint(source)
    card = read_card(source)
    model = build_model(card)
    state = read_weights(weights_path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"{weights_path.name}: weights do not fit {card.architecture} "
            f"{card.model_kwargs} ({str(exc).splitlines()[0]})"
        ) from exc
    return model.to(device).eval(), card

