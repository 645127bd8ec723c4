"""The model card: one schema for every set of weights osteoscan writes or reads.

A card is the JSON file that travels with a safetensors file. It says everything needed to
rebuild and use the model (architecture and constructor arguments, preprocessing, class
names, the positive class, the operating threshold chosen on validation) and what the model
saw and scored. Reading validates every known key and names the file and the key when one
is wrong. The class decision (probability against threshold) is :func:`decide`, used by
training, prediction files and the Predictor alike.

Lesion-stage cards fit the same schema: ``task`` says what the network does and ``settings``
holds stage-specific values (working shape, patch size, minimum area). Cards written before
this schema by the lesion stage (keys ``arch``, ``arch_kwargs``, ``labels``) are read as such.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from osteoscan.artefacts.files import atomic_write_text, dumps_json
from osteoscan.artefacts.paths import resolve_checkpoint
from osteoscan.errors import InputError, ModelError

logger = logging.getLogger(__name__)

CARD_FORMAT = 1
LEGACY_LESION_KEYS = {"arch": "architecture", "arch_kwargs": "model_kwargs", "labels": "classes"}
"""Keys of the lesion stage's older cards and the card field each one is."""


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
        task: what the network does ("classification", "hotspot-segmentation", ...).
        settings: stage-specific values (e.g. ``work_shape``, ``patch``, ``min_area_px``).
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
    task: str = "classification"
    settings: dict = field(default_factory=dict)
    format: int = CARD_FORMAT
    notes: str = "Research use only; not a medical device."

    def to_dict(self) -> dict:
        """Plain JSON-ready mapping."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict, source: str | Path = "<card>") -> ModelCard:
        """Build a card from a mapping, checking the type of every known key.

        Unknown keys are left out with a warning (a newer osteoscan may add keys).

        Raises:
            ModelError: not a mapping, no ``architecture``, or a key of the wrong type;
                the message names the file and the key.
        """
        name = Path(source).name
        if not isinstance(values, dict):
            raise ModelError(f"{name}: a model card must be a JSON object")
        if "architecture" not in values and "arch" in values:
            values = _from_legacy_lesion(values)
        if "architecture" not in values:
            raise ModelError(f"{name}: model card has no 'architecture'")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            logger.warning("%s: ignoring unknown model card keys %s", source, unknown)
        known = {k: v for k, v in values.items() if k in names}
        for key, value in known.items():
            _check_type(name, key, value)
        return cls(**known)

    @property
    def is_binary(self) -> bool:
        """True for a two-class task with a positive class."""
        return len(self.classes) == 2 and self.positive in self.classes


_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "architecture": ((str,), "a string"), "classes": ((list,), "a list of strings"),
    "positive": ((str, type(None)), "a string or null"),
    "threshold": ((int, float, type(None)), "a number or null"),
    "format": ((int,), "an integer"),
    **{k: ((dict,), "an object") for k in ("model_kwargs", "preprocess", "augment", "data",
                                           "metrics", "training", "versions", "explain",
                                           "settings")},
    **{k: ((str,), "a string") for k in ("threshold_rule", "created", "weights_dtype", "task",
                                         "notes")},
}


def _check_type(name: str, key: str, value: object) -> None:
    types, expected = _TYPES[key]
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if ok and key == "classes":
        ok = all(isinstance(c, str) for c in value)
    if not ok:
        raise ModelError(f"{name}: model card key {key!r} must be {expected}, not {value!r:.60}")


def _from_legacy_lesion(values: dict) -> dict:
    """An older lesion-stage card (``arch``/``arch_kwargs``/``labels``) in this schema."""
    out = {LEGACY_LESION_KEYS.get(k, k): v for k, v in values.items()}
    out.setdefault("classes", [])
    out.setdefault("positive", None)
    out.setdefault("threshold", None)
    settings = dict(out.get("settings", {}))
    fields = {f.name for f in dataclasses.fields(ModelCard)}
    for key in [k for k in out if k not in fields]:
        settings[key] = out.pop(key)
    out["settings"] = settings
    return out


def read_card_values(path: str | Path) -> dict:
    """The raw key/value mapping of a model card file (the one place cards are parsed).

    Raises:
        InputError: the file is missing, unreadable, not JSON or not a JSON object.
    """
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(path, "model card not found") from exc
    except (OSError, ValueError, RecursionError) as exc:  # JSON, UTF-8; deep nesting
        raise InputError(path, f"not valid JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(values, dict):
        raise InputError(path, "a model card must be a JSON object")
    return values


def read_card_file(path: str | Path) -> ModelCard:
    """Read and validate one model card file.

    Raises:
        ModelError: missing, unreadable, not JSON, or not a valid card (names the file).
    """
    path = Path(path)
    try:
        values = read_card_values(path)
    except InputError as exc:
        raise ModelError(f"{path.name}: not a readable JSON model card ({exc.problem})") from exc
    return ModelCard.from_dict(values, path)


def read_card(source: str | Path) -> ModelCard:
    """Read the card of anything :func:`~osteoscan.artefacts.paths.resolve_checkpoint` accepts."""
    return read_card_file(resolve_checkpoint(source)[1])


def write_card(path: str | Path, card: ModelCard) -> Path:
    """Write ``card`` as JSON to ``path`` atomically (NaN/inf as null)."""
    return atomic_write_text(path, dumps_json(card.to_dict(), default=str))


def decide(card: ModelCard, prob: np.ndarray) -> np.ndarray:
    """Class names decided from (n, classes) probabilities: the one class-decision rule.

    Binary (two classes, one of them ``card.positive``): the positive class when
    P(positive) >= the card's threshold (0.5 when it has none), else the other class.
    Multi-class: the most probable class. ``card`` may be any object with ``classes``,
    ``positive`` and ``threshold``.
    """
    prob = np.asarray(prob)
    classes = list(card.classes)
    positive = getattr(card, "positive", None)
    if len(classes) == 2 and positive in classes:
        pos = classes.index(positive)
        threshold = getattr(card, "threshold", None)
        thr = 0.5 if threshold is None else float(threshold)
        return np.where(prob[:, pos] >= thr, positive, classes[1 - pos])
    return np.asarray(classes)[np.argmax(prob, axis=1)]
