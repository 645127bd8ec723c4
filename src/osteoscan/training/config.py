"""Training configuration: frozen dataclasses <- YAML <- ``--set key=value`` overrides.

A YAML file gives sections (``data``, ``protocol``, ``model``, ``preprocess``, ``augment``,
``optim``) whose keys match the dataclass fields below; anything not given keeps its default.
Overrides use dotted keys (``optim.lr=3e-4``, ``protocol.kind=kfold``); the value is parsed
as YAML (``[a, b]`` is a list, ``null`` is None). The resolved config is what a run folder
saves as ``config.resolved.yaml``. Unknown keys and wrong types raise
:class:`~osteoscan.errors.ConfigError` naming the key.

Example:
    >>> cfg = resolve_config({"optim": {"epochs": 3}}, ["optim.lr=0.01"])
    >>> cfg.optim.lr, cfg.optim.epochs
    (0.01, 3)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from osteoscan.errors import ConfigError, InputError


@dataclass(frozen=True)
class SimulateConfig:
    """Studies generated in memory by ``osteoscan.simulate`` (used when no manifest is given).

    Attributes:
        n: number of studies (0: no simulation).
        seed: cohort seed.
        sites: simulated site names the cohort cycles through.
        difficulty: simulator difficulty name.
    """

    n: int = 0
    seed: int = 0
    sites: tuple[str, ...] = ()
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

    manifest: str | None = None
    simulate: SimulateConfig = field(default_factory=SimulateConfig)
    label_column: str = "label"
    classes: tuple[str, ...] = ("normal", "metastasis")
    positive: str = "metastasis"
    balance: str = "weights"
    cache: bool = True
    num_workers: int = 0


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
        seed: partition seed.
    """

    kind: str = "auto"
    test_fraction: float = 0.3
    val_fraction: float = 0.15
    folds: int = 5
    train_sites: tuple[str, ...] = ()
    test_sites: tuple[str, ...] = ()
    seed: int = 0


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

    name: str = "resnet18"
    kwargs: dict = field(default_factory=dict)
    init: str | None = None
    freeze: str | None = None
    lr_decay: float = 1.0


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

    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    patience: int = 5
    monitor: str = "val_auc"
    amp: bool = True
    threshold: str = "youden"
    max_steps_per_epoch: int = 0
    threads: int = 0


@dataclass(frozen=True)
class TrainConfig:
    """A whole experiment. ``preprocess`` and ``augment`` are passed to the preprocessing
    stage's ``PreprocessConfig`` / ``AugmentConfig`` as keyword arguments."""

    data: DataConfig = field(default_factory=DataConfig)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    preprocess: dict = field(default_factory=dict)
    augment: dict = field(default_factory=dict)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    name: str = "run"


_CHOICES = {
    "data.balance": ("weights", "sampler", "none"),
    "protocol.kind": ("auto", "holdout", "kfold", "external", "column"),
    "optim.schedule": ("cosine", "constant"),
    "optim.monitor": ("val_auc", "val_loss"),
}
# Shorthand: a section given as a plain string sets this field (``protocol: kfold``).
_SHORTHAND = {"protocol": "kind", "model": "name"}


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check/convert one YAML value against a field type; raise ConfigError naming ``key``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
    if tp is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:  # PyYAML reads "1e-3" (no dot) as a string
            return float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{key}: {value!r} is not one of {list(_CHOICES[key])}")
    return value


def _build(cls: type, values: Any, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from a mapping, validating every key."""
    section = prefix.split(".")[-1]
    if isinstance(values, str) and section in _SHORTHAND:
        values = {_SHORTHAND[section]: values}
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"{full}: unknown key (known: {sorted(names)})")
        kwargs[key] = _coerce(full, value, hints[key])
    return cls(**kwargs)


def _set_dotted(tree: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str) and part in _SHORTHAND:
            child = {_SHORTHAND[part]: child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part} is not a section")
        node[part] = child
        node = child
    node[parts[-1]] = value


def apply_overrides(tree: dict, overrides: list[str]) -> dict:
    """Apply ``key=value`` strings to a nested mapping (values parsed as YAML)."""
    tree = yaml.safe_load(yaml.safe_dump(tree)) or {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: cannot parse value {raw!r} ({exc})") from exc
        _set_dotted(tree, key.strip(), value)
    return tree


def resolve_config(tree: dict | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Build a validated :class:`TrainConfig` from a mapping plus overrides."""
    cfg = _build(TrainConfig, apply_overrides(tree or {}, overrides or []))
    if len(cfg.data.classes) < 2:
        raise ConfigError("data.classes: need at least two classes")
    if len(cfg.data.classes) == 2 and cfg.data.positive not in cfg.data.classes:
        raise ConfigError(f"data.positive: {cfg.data.positive!r} is not in data.classes")
    for key, val in (("optim.epochs", cfg.optim.epochs), ("optim.batch_size", cfg.optim.batch_size)):
        if val < 1:
            raise ConfigError(f"{key}: must be >= 1, got {val}")
    if cfg.optim.lr <= 0:
        raise ConfigError(f"optim.lr: must be > 0, got {cfg.optim.lr}")
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply overrides, validate; a relative ``data.manifest`` resolves
    against the config file's folder."""
    from osteoscan.io.guard import reading
    from osteoscan.io.limits import MAX_TEXT_BYTES, check_file_size, check_tree

    path = Path(path)
    try:
        check_file_size(path, MAX_TEXT_BYTES)
        # libyaml when built in: 10x faster, and a hostile 5,000-deep document fails in
        # 0.2 s instead of 3 s of pure-Python recursion
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        tree = yaml.load(path.read_text(), Loader=loader) or {}
    except FileNotFoundError as exc:
        raise InputError(path, "config file not found") from exc
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({exc})") from exc
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(path, f"not a readable YAML config ({type(exc).__name__})") from exc
    if not isinstance(tree, dict):
        raise InputError(path, "a config must be a YAML mapping")
    check_tree(path, tree)
    with reading(path, "YAML config"):  # a value of the wrong type deep in the tree
        cfg = resolve_config(tree, overrides)
    manifest = cfg.data.manifest
    if manifest and not Path(manifest).is_absolute() and not Path(manifest).exists():
        data = dataclasses.replace(cfg.data, manifest=str(path.parent / manifest))
        cfg = dataclasses.replace(cfg, data=data)
    return cfg


def config_to_dict(cfg: TrainConfig) -> dict:
    """Plain nested mapping (tuples as lists) suitable for YAML/JSON."""
    return yaml.safe_load(yaml.safe_dump(_plain(dataclasses.asdict(cfg))))


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically."""
    from osteoscan.artefacts import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
