"""Study configurations: ``osteoscan compare`` (several training arms, one protocol) and
``osteoscan lesions compare`` (lesion-level classifiers, ``task: lesion``).

A compare study is a training config (the shared sections, see
:mod:`osteoscan.config.train`) plus ``arms`` (each a name and overrides of the shared
config), an optional ``tiny`` list of overrides for smoke runs and ``evaluation`` options.
Loading validates the whole study: the study keys, and the resolved training config of
every arm, so a typo in the fifth arm fails before the first arm trains.

Example:
    >>> s = parse_study({"optim": {"epochs": 3}, "arms": [{"name": "a"}]}, "s.yaml")
    >>> s.arms[0].name, s.base
    ('a', {'optim': {'epochs': 3}})
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field

from osteoscan.config.core import (
    STRICT_KEYS,
    Mapping,
    Names,
    NonNegativeInt,
    PositiveInt,
    apply_overrides,
    fail,
    read_yaml,
    section,
    to_dict,
    validate,
)
from osteoscan.errors import ConfigError


def _flatten(tree: dict, prefix: str = "") -> list[str]:
    """Nested mapping -> dotted ``key=value`` overrides (values dumped as YAML flow)."""
    out = []
    for key, value in tree.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out += _flatten(value, full)
        else:
            text = yaml.safe_dump(value, default_flow_style=True).strip()
            out.append(f"{full}={text.removesuffix('...').strip()}")
    return out


def _as_overrides(value: Any) -> Any:
    """Overrides given as a nested mapping become dotted ``key=value`` strings."""
    if value is None:
        return []
    return _flatten(value) if isinstance(value, dict) else value


Overrides = Annotated[tuple[str, ...], BeforeValidator(_as_overrides)]
"""``key=value`` strings, or a nested mapping of the same."""


@dataclass(frozen=True)
class Arm:
    """One model or ablation: a name and overrides of the shared config (dotted strings)."""

    __pydantic_config__ = STRICT_KEYS
    name: Annotated[str, Field(min_length=1, pattern=r"^[^/]+$")]
    overrides: Overrides = ()
    description: str = ""


@dataclass(frozen=True)
class EvaluationConfig:
    """Options of the aggregate step: ``subgroups`` are manifest columns to split by."""

    __pydantic_config__ = STRICT_KEYS
    subgroups: Names = ()


@dataclass(frozen=True)
class StudyKeys:
    """The study's own keys (the rest of the YAML is the shared training config)."""

    __pydantic_config__ = STRICT_KEYS
    arms: Annotated[tuple[Arm, ...], Field(min_length=1)]
    name: str | None = None
    description: str = ""
    tiny: Overrides = ()
    evaluation: section(EvaluationConfig) = field(default_factory=EvaluationConfig)
    reference: str | None = None


STUDY_KEYS = tuple(f.name for f in dataclasses.fields(StudyKeys))


@dataclass(frozen=True)
class Study:
    """A parsed study YAML.

    Attributes:
        name: study name.
        base: the shared training-config tree (data, protocol, model, preprocess, augment, optim).
        arms: the arms, in order.
        tiny: overrides applied to every arm before the arm's own (``--tiny``, ``--set``).
        evaluation: options for the aggregate step (``subgroups``: manifest columns).
        source: the YAML file.
    """

    name: str
    base: dict
    arms: tuple[Arm, ...]
    tiny: tuple[str, ...] = ()
    evaluation: dict = field(default_factory=dict)
    source: str = ""


def arm_config(study: Study, arm: Arm):
    """The resolved ``TrainConfig`` of one arm (shared config + tiny + arm overrides)."""
    from osteoscan.config.train import resolve_config

    where = f"{study.source or 'study'}: arm {arm.name}"
    return resolve_config(study.base, [*study.tiny, *arm.overrides, f"name={arm.name}"], where)


def parse_study(tree: dict, source: str = "", *, tiny: bool = False) -> Study:
    """Validate a study mapping (see :func:`load_study`); ``tiny`` keeps its tiny overrides."""
    if not isinstance(tree, dict) or not tree.get("arms"):
        raise ConfigError(f"{source or 'study'}: needs a non-empty 'arms' list")
    own = validate(StudyKeys, {k: v for k, v in tree.items() if k in STUDY_KEYS}, source or None)
    names = [a.name for a in own.arms]
    if len(set(names)) != len(names):
        raise fail(source or None, "arms",
                   f"arm names must be unique and contain no '/', got {names}")
    return Study(
        own.name or Path(source).stem or "study",
        {k: v for k, v in tree.items() if k not in STUDY_KEYS},
        own.arms,
        own.tiny if tiny else (),
        to_dict(own.evaluation) if tree.get("evaluation") else {},
        source,
    )


def load_study(
    path: str | Path,
    *,
    tiny: bool = False,
    overrides: list[str] | None = None,
    arms: list[str] | None = None,
) -> Study:
    """Read a study YAML: the shared config sections, ``arms`` and optional ``tiny``/``evaluation``.

    Args:
        path: the YAML file.
        tiny: apply the study's ``tiny`` overrides (smoke run).
        overrides: extra ``key=value`` overrides for every arm (after ``tiny``).
        arms: run only these arms (in the study's order).

    Raises:
        InputError: missing or invalid YAML. ConfigError: invalid study, unknown arm, or an
        arm whose resolved training config is invalid.
    """
    path = Path(path)
    study = parse_study(read_yaml(path, "study"), str(path), tiny=tiny)
    if arms:
        unknown = sorted(set(arms) - {a.name for a in study.arms})
        if unknown:
            raise ConfigError(
                f"{path.name}: no arm(s) {unknown} (arms: {[a.name for a in study.arms]})"
            )
        study = dataclasses.replace(study, arms=tuple(a for a in study.arms if a.name in arms))
    if overrides:
        study = dataclasses.replace(study, tiny=(*study.tiny, *overrides))
    data = study.base.get("data")
    manifest = data.get("manifest") if isinstance(data, dict) else None
    if manifest and not Path(manifest).is_absolute():
        study.base["data"]["manifest"] = str((path.parent / manifest).resolve())
    for arm in study.arms:  # validated on load: every arm's resolved config
        arm_config(study, arm)
    return study


# ------------------------------------------------------------------- lesion-level studies
@dataclass(frozen=True)
class LesionSimulateConfig:
    """The simulated cohort whose lesions are the samples (masks come from the simulator)."""

    __pydantic_config__ = STRICT_KEYS
    n: PositiveInt
    seed: NonNegativeInt = 0
    sites: Names = ("site_a",)
    difficulty: str = "default"


@dataclass(frozen=True)
class LesionDataConfig:
    __pydantic_config__ = STRICT_KEYS
    simulate: LesionSimulateConfig


@dataclass(frozen=True)
class LesionProtocolConfig:
    """Patient-level k-fold cross-validation (the only protocol of the lesion study)."""

    __pydantic_config__ = STRICT_KEYS
    kind: Literal["kfold"] = "kfold"
    folds: Annotated[int, Field(strict=True, ge=2)] = 5


@dataclass(frozen=True)
class LesionOptimConfig:
    __pydantic_config__ = STRICT_KEYS
    epochs: PositiveInt = 15


@dataclass(frozen=True)
class LesionArm:
    """``arch``: "patchcontext" or a model-registry name; ``kwargs`` go to its constructor."""

    __pydantic_config__ = STRICT_KEYS
    name: Annotated[str, Field(min_length=1, pattern=r"^[^/]+$")]
    arch: str
    kwargs: Mapping = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class LesionStudy:
    """A lesion-level study YAML (``configs/papers/lesion_level.yaml``)."""

    __pydantic_config__ = STRICT_KEYS
    data: LesionDataConfig
    arms: Annotated[tuple[LesionArm, ...], Field(min_length=1)]
    task: Literal["lesion"] = "lesion"
    name: str = "lesion_study"
    description: str = ""
    protocol: section(LesionProtocolConfig, "kind") = field(default_factory=LesionProtocolConfig)
    optim: section(LesionOptimConfig) = field(default_factory=LesionOptimConfig)
    seed: NonNegativeInt = 0
    tiny: tuple[str, ...] = ()


def load_lesion_study(path: str | Path, *, tiny: bool = False) -> LesionStudy:
    """Read and validate a lesion study YAML, applying its ``tiny`` overrides when asked.

    Raises:
        InputError: unreadable file; ConfigError: missing, unknown or invalid keys.
    """
    path = Path(path)
    tree = read_yaml(path, "study")
    if tiny:
        tiny_items = tree.get("tiny") or []
        if not isinstance(tiny_items, list):
            raise fail(path, "tiny", "expected a list of key=value strings")
        tree = apply_overrides(tree, [str(v) for v in tiny_items], source=path)
    study = validate(LesionStudy, tree, path)
    names = [a.name for a in study.arms]
    if len(set(names)) != len(names):
        raise fail(path, "arms", f"arm names must be unique, got {names}")
    return study
