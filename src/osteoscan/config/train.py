"""Training configuration: frozen dataclasses <- YAML <- ``--set key=value`` overrides.

A YAML file gives sections (``data``, ``protocol``, ``model``, ``preprocess``, ``augment``,
``optim``) whose keys match the dataclass fields below; anything not given keeps its default.
Overrides use dotted keys (``optim.lr=3e-4``, ``protocol.kind=kfold``); the value is parsed
as YAML (``[a, b]`` is a list, ``null`` is None). The resolved config is what a run folder
saves as ``config.resolved.yaml``. Unknown keys, wrong types and out-of-range values raise
:class:`~osteoscan.errors.ConfigError` naming the file and the key (docs/configuration.md
lists every key).

Example:
    >>> cfg = resolve_config({"optim": {"epochs": 3}}, ["optim.lr=0.01"])
    >>> cfg.optim.lr, cfg.optim.epochs
    (0.01, 3)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from osteoscan.config.core import (
    STRICT_KEYS,
    Bool,
    Fraction,
    Mapping,
    Names,
    NonNegativeInt,
    NonNegativeNumber,
    PositiveInt,
    PositiveNumber,
    apply_overrides,
    fail,
    read_yaml,
    section,
    to_dict,
    validate,
)
from osteoscan.errors import ConfigError


@dataclass(frozen=True)
class SimulateConfig:
    """Studies generated in memory by ``osteoscan.simulate`` (used when no manifest is given).

    Attributes:
        n: number of studies (0: no simulation).
        seed: cohort seed.
        sites: simulated site names the cohort cycles through.
        difficulty: simulator difficulty name.
    """

    __pydantic_config__ = STRICT_KEYS
    n: NonNegativeInt = 0
    seed: NonNegativeInt = 0
    sites: Names = ()
    difficulty: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """Where studies come from and what the labels are.

    Attributes:
        manifest: path to a manifest CSV (relative paths resolve against the config file).
        simulate: in-memory simulated cohort, used when ``manifest`` is None.
        label_column: manifest column holding the class name ("label", "multiclass_label").
        classes: class names in output order.
        positive: the positive class of a binary task (ignored for multi-class).
        balance: "weights" (class-weighted loss), "sampler" (balanced sampling) or "none".
        cache: keep decoded studies in memory after the first epoch (float16 counts).
        num_workers: DataLoader worker processes.
    """

    __pydantic_config__ = STRICT_KEYS
    manifest: str | None = None
    simulate: section(SimulateConfig) = field(default_factory=SimulateConfig)
    label_column: str = "label"
    classes: Names = ("normal", "metastasis")
    positive: str = "metastasis"
    balance: Literal["weights", "sampler", "none"] = "weights"
    cache: Bool = True
    num_workers: NonNegativeInt = 0


@dataclass(frozen=True)
class ProtocolConfig:
    """Patient-level partition (see :mod:`osteoscan.data.splits`).

    Attributes:
        kind: "auto", "holdout", "kfold", "external" or "column".
        test_fraction: hold-out test share (external protocol: share of the training-site
            patients held out as an internal test set; 0 for none).
        val_fraction: validation share of the training part.
        folds: k of k-fold.
        train_sites: external protocol: sites to train on (empty: all but the test sites).
        test_sites: external protocol: sites to test on.
        val_sites: external protocol: sites to select the model on (validation only; empty:
            ``val_fraction`` of the training sites).
        seed: partition seed.
    """

    __pydantic_config__ = STRICT_KEYS
    kind: Literal["auto", "holdout", "kfold", "external", "column"] = "auto"
    test_fraction: Fraction = 0.3
    val_fraction: Fraction = 0.15
    folds: PositiveInt = 5
    train_sites: Names = ()
    test_sites: Names = ()
    val_sites: Names = ()
    seed: NonNegativeInt = 0


@dataclass(frozen=True)
class ModelConfig:
    """The network and how it starts.

    Attributes:
        name: registry name (``osteoscan.models.list_models()``).
        kwargs: extra keyword arguments for ``create_model`` (e.g. ``{tiny: true}``).
        init: initial weights: null, "reference", "imagenet-lite0", "timm", a run folder,
            a .safetensors file or a model.json card.
        freeze: freeze top-level layers up to this one ("layer2", "backbone", or a count;
            see ``osteoscan.models.init.freeze``).
        lr_decay: discriminative learning rates: the head gets ``optim.lr``, each earlier
            stage ``lr_decay`` times the next (1.0: one learning rate everywhere).
    """

    __pydantic_config__ = STRICT_KEYS
    name: str = "resnet18"
    kwargs: Mapping = field(default_factory=dict)
    init: str | None = None
    freeze: str | None = None
    lr_decay: PositiveNumber = 1.0


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation, schedule, stopping and the operating threshold.

    Attributes:
        epochs: maximum epochs.
        batch_size: studies per step (per process under DDP).
        lr: peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        schedule: "cosine" or "constant" (both after a linear warm-up).
        warmup_epochs: linear warm-up length in epochs (may be fractional).
        patience: early stopping after this many epochs without validation improvement (0: off).
        monitor: "val_auc" (higher is better) or "val_loss" (lower is better).
        amp: mixed precision when running on CUDA.
        threshold: operating point chosen on validation: "youden", "sensitivity:0.9"
            (highest threshold reaching that sensitivity) or a number.
        max_steps_per_epoch: cap on steps per epoch (0: no cap; for smoke tests).
        threads: torch CPU threads (0: leave torch's default).
    """

    __pydantic_config__ = STRICT_KEYS
    epochs: PositiveInt = 20
    batch_size: PositiveInt = 16
    lr: PositiveNumber = 1e-3
    weight_decay: NonNegativeNumber = 1e-4
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: NonNegativeNumber = 1.0
    patience: NonNegativeInt = 5
    monitor: Literal["val_auc", "val_loss"] = "val_auc"
    amp: Bool = True
    threshold: str = "youden"
    max_steps_per_epoch: NonNegativeInt = 0
    threads: NonNegativeInt = 0


@dataclass(frozen=True)
class TrainConfig:
    """A whole experiment. ``preprocess`` and ``augment`` are the preprocessing stage's
    ``PreprocessConfig`` / ``AugmentConfig`` fields (validated by those classes on load)."""

    __pydantic_config__ = STRICT_KEYS
    data: section(DataConfig) = field(default_factory=DataConfig)
    protocol: section(ProtocolConfig, "kind") = field(default_factory=ProtocolConfig)
    model: section(ModelConfig, "name") = field(default_factory=ModelConfig)
    preprocess: Mapping = field(default_factory=dict)
    augment: Mapping = field(default_factory=dict)
    optim: section(OptimConfig) = field(default_factory=OptimConfig)
    seed: NonNegativeInt = 0
    name: str = "run"


SHORTHANDS = {"protocol": "kind", "model": "name"}
"""Sections that may be given as a plain string, and the field it sets."""


def _check(cfg: TrainConfig, source: str | Path | None) -> None:
    """Rules across keys, and the preprocessing stage's own validation of its sections."""
    from osteoscan.preprocessing.pipeline import AugmentConfig, PreprocessConfig

    classes = cfg.data.classes
    if len(classes) < 2:
        raise fail(source, "data.classes", f"need at least two classes, got {list(classes)}")
    if len(classes) == 2 and cfg.data.positive not in classes:
        raise fail(source, "data.positive", f"{cfg.data.positive!r} is not in data.classes")
    for key, cls in (("preprocess", PreprocessConfig), ("augment", AugmentConfig)):
        try:
            cls.from_dict(dict(getattr(cfg, key)))
        except ConfigError as exc:
            raise fail(source, key, str(exc)) from None


def resolve_config(tree: dict | None = None, overrides: list[str] | None = None,
                   source: str | Path | None = None) -> TrainConfig:
    """Build a validated :class:`TrainConfig` from a mapping plus overrides (``source``:
    the file it came from, named in errors)."""
    cfg = validate(TrainConfig, apply_overrides(tree or {}, overrides or [], SHORTHANDS, source),
                   source)
    _check(cfg, source)
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply overrides, validate; a relative ``data.manifest`` resolves
    against the config file's folder."""
    from osteoscan.io.guard import reading

    path = Path(path)
    tree = read_yaml(path)
    with reading(path, "YAML config"):  # anything the validators missed is still an InputError
        cfg = resolve_config(tree, overrides, path)
    manifest = cfg.data.manifest
    if manifest and not Path(manifest).is_absolute() and not Path(manifest).exists():
        data = dataclasses.replace(cfg.data, manifest=str(path.parent / manifest))
        cfg = dataclasses.replace(cfg, data=data)
    return cfg


def config_to_dict(cfg: TrainConfig) -> dict:
    """Plain nested mapping (tuples as lists) suitable for YAML/JSON."""
    return to_dict(cfg)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically."""
    from osteoscan.artefacts import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
