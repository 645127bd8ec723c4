"""Checkpoints: weights as safetensors plus a JSON model card that travels with them.

A checkpoint folder holds ``model.safetensors`` and ``model.json`` (the :class:`ModelCard`).
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

import dataclasses
import json
import logging
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from osteoscan.errors import ModelError
from osteoscan.training._files import atomic_write, atomic_write_text

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "model.json"
CARD_FORMAT = 1
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "assets" / "reference"


@dataclass
class ModelCard:
    """What a user needs to know to rebuild, run and trust a set of weights.

    Attributes:
        architecture: registry name for ``osteoscan.models.create_model``.
        model_kwargs: constructor arguments (num_classes, in_chans, img_size, tiny, ...).
        classes: class names in output order.
        positive: the positive class of a binary task, None for multi-class.
        threshold: operating threshold on P(positive) chosen on validation (binary only).
        threshold_rule: how it was chosen ("youden", "sensitivity:0.9", "fixed").
        preprocess: keyword arguments of the preprocessing stage's ``PreprocessConfig``.
        augment: keyword arguments of ``AugmentConfig`` used in training.
        data: training data summary (counts per class/site/part, manifest hash).
        metrics: validation/test metrics (AUC with 95% CI, ...).
        training: epochs run, best epoch, config name, init source.
        versions: library versions (osteoscan, torch, timm, python).
        created: ISO 8601 UTC date.
        explain: explanation settings, e.g. ``{"gradcam_layer": "layer3"}`` (the Grad-CAM
            target layer when not the registry's default, with the reason).
        weights_dtype: dtype stored in the safetensors file ("float32" or "float16").
        format: card format version.
        notes: free text (intended use, limitations).
    """

    architecture: str
    model_kwargs: dict = field(default_factory=dict)
    classes: list[str] = field(default_factory=lambda: ["normal", "metastasis"])
    positive: str | None = "metastasis"
    threshold: float | None = 0.5
    threshold_rule: str = "fixed"
    preprocess: dict = field(default_factory=dict)
    augment: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    created: str = ""
    explain: dict = field(default_factory=dict)
    weights_dtype: str = "float32"
    format: int = CARD_FORMAT
    notes: str = "Research use only; not a medical device."

    def to_dict(self) -> dict:
        """Plain JSON-ready mapping."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str | Path = "<card>") -> ModelCard:
        """Build a card from a mapping; unknown keys are kept out with a warning."""
        names = {f.name for f in dataclasses.fields(cls)}
        if "architecture" not in values:
            raise ModelError(f"{Path(source).name}: model card has no 'architecture'")
        unknown = sorted(set(values) - names)
        if unknown:
            logger.warning("%s: ignoring unknown model card keys %s", source, unknown)
        return cls(**{k: v for k, v in values.items() if k in names})

    @property
    def is_binary(self) -> bool:
        """True for a two-class task with a positive class."""
        return len(self.classes) == 2 and self.positive in self.classes


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
    atomic_write_text(directory / CARD_NAME, json.dumps(card.to_dict(), indent=2, default=str))
    return directory


def resolve_checkpoint(source: str | Path) -> tuple[Path, Path]:
    """Find (weights file, card file) for a run folder, checkpoint folder, weights or card path.

    ``"reference"`` names the bundled reference model. A run folder resolves to ``best/``
    (then ``last/``); a k-fold run folder to ``fold0/best``.

    Raises:
        ModelError: nothing usable found.
    """
    path = REFERENCE_DIR if str(source) == "reference" else Path(source)
    if path.is_dir():
        for sub in ("", "best", "last", "fold0/best"):
            if (path / sub / CARD_NAME).is_file():
                path = path / sub / CARD_NAME
                break
        else:
            raise ModelError(f"{path.name}: no {CARD_NAME} in this folder or its best/ last/")
    if path.suffix == ".safetensors":
        weights, card = path, path.with_name(CARD_NAME)
        if not card.is_file():
            card = path.with_suffix(".json")
    elif path.suffix == ".json":
        card, weights = path, path.with_name(WEIGHTS_NAME)
    else:
        raise ModelError(f"{path.name}: expected a run folder, a .safetensors file or a model.json")
    for p in (weights, card):
        if not p.is_file():
            raise ModelError(f"{p.name}: not found (looked for it next to {path.name})")
    return weights, card


def read_card(path: str | Path) -> ModelCard:
    """Read a model card from anything :func:`resolve_checkpoint` accepts."""
    _, card_path = resolve_checkpoint(path)
    try:
        values = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_path.name}: not a readable JSON model card ({exc})") from exc
    if not isinstance(values, dict):
        raise ModelError(f"{card_path.name}: a model card must be a JSON object")
    return ModelCard.from_dict(values, card_path)


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

