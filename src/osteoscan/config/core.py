"""The machinery every configuration kind shares: YAML in, ``--set`` overrides, validation.

A configuration is a tree of frozen dataclasses. Validation is pydantic's (pinned in
requirements.lock and pyproject.toml; typer needs it too) run over those plain dataclasses,
so the classes stay stdlib dataclasses that the rest of the code compares, replaces and
pickles as before.
Every failure becomes one :class:`~osteoscan.errors.ConfigError` that names the file and
the key path, e.g. ``configs/x.yaml: optim.lr: expected a number > 0, got 'abc'``.

The field types below (:data:`PositiveInt`, :data:`PositiveNumber`, :data:`Names`...) say
what a YAML value may be; YAML has no tuples, so lists become tuples, and PyYAML reads
``1e-3`` (no dot) as a string, so numbers also come as numeric strings.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Small:
    ...     __pydantic_config__ = STRICT_KEYS
    ...     lr: PositiveNumber = 0.1
    >>> validate(Small, apply_overrides({}, ["lr=0.5"])).lr
    0.5
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from osteoscan.errors import ConfigError
from osteoscan.io.yamlfile import read_yaml  # noqa: F401  (re-exported: osteoscan.config.read_yaml)

T = TypeVar("T")

STRICT_KEYS = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
"""Every config dataclass sets ``__pydantic_config__ = STRICT_KEYS``: unknown keys are
errors; a number given where a name is expected (``name: 2027``) becomes the string."""


def _number(value: Any) -> Any:
    """A numeric string (``"1e-3"``) -> float; everything else is left to the validator."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _listify(value: Any) -> Any:
    """A single name where a list is expected (``sites: site_a``) is a list of one."""
    return [value] if isinstance(value, str) else value


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


# integers are strict (not a bool, not 3.0); numbers are finite, an int or a numeric string
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
Bool = Annotated[bool, Strict()]
PositiveNumber = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False),
                           BeforeValidator(_number)]
NonNegativeNumber = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False),
                              BeforeValidator(_number)]
Fraction = Annotated[float, Strict(), Field(ge=0, lt=1), BeforeValidator(_number)]
"""A share in [0, 1)."""
Names = Annotated[tuple[str, ...], BeforeValidator(_listify)]
"""A list of names (one name alone is a list of one)."""
Mapping = Annotated[dict, BeforeValidator(_empty_mapping)]
"""Free-form keyword arguments (``null`` is ``{}``)."""


def section(cls: type, shorthand: str | None = None) -> Any:
    """The type of a sub-section: ``null`` is all defaults; with ``shorthand``, a plain
    string sets that one field (``protocol: kfold`` is ``protocol: {kind: kfold}``)."""

    def before(value: Any) -> Any:
        if value is None:
            return {}
        if shorthand and isinstance(value, str):
            return {shorthand: value}
        return value

    return Annotated[cls, BeforeValidator(before)]


# ------------------------------------------------------------------------------ messages
_PHRASES = {
    "greater_than": "expected a number > {gt}",
    "greater_than_equal": "expected a number >= {ge}",
    "less_than": "expected a number < {lt}",
    "less_than_equal": "expected a number <= {le}",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "tuple_type": "expected a list",
    "dataclass_type": "expected a mapping",
    "unexpected_keyword_argument": "unknown key",
    "missing_argument": "required, missing",
    "missing": "required, missing",
    "string_pattern_mismatch": "expected a name without '/'",  # the only pattern used
    "string_too_short": "expected a non-empty name",
    "too_short": "expected at least {min_length} item(s)",
}
_NO_VALUE = ("unexpected_keyword_argument", "missing_argument", "missing")


def _key_path(loc: tuple) -> str:
    """``("data", "simulate", "sites", 0)`` -> ``data.simulate.sites[0]`` (validator tags
    dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in str(part) or str(part) in ("function-before", "function-after"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "config"


def _phrase(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _PHRASES:
        try:
            return _PHRASES[kind].format(**{k: f"{v:g}" if isinstance(v, float) else v
                                             for k, v in ctx.items()})
        except KeyError:
            pass
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '')}"
    return str(err["msg"]).removeprefix("Value error, ").rstrip(".")


def describe(exc: ValidationError, source: str | Path | None = None, prefix: str = "") -> str:
    """One line per problem: ``FILE: key.path: what was expected, got VALUE``."""
    lines = []
    errors = exc.errors()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(tuple(e["loc"])[:len(loc)] == loc and e is not err
                                              for e in errors):
            continue  # "too few items" only because an item failed: the item's error says why
        key = _key_path(((prefix,) if prefix else ()) + tuple(err["loc"]))
        got = err.get("input")
        tail = "" if err["type"] in _NO_VALUE else f", got {got!r}"
        lines.append(f"{key}: {_phrase(err)}{tail}")
    head = f"{source}: " if source else ""
    return head + ("\n" + head).join(lines)


def fail(source: str | Path | None, key: str, problem: str) -> ConfigError:
    """The ConfigError for one key (``raise fail(path, "optim.lr", "must be > 0")``)."""
    return ConfigError(f"{source}: {key}: {problem}" if source else f"{key}: {problem}")


# -------------------------------------------------------------------------- load / dump
_ADAPTERS: dict[type, TypeAdapter] = {}


def validate(cls: type[T], tree: Any, source: str | Path | None = None, prefix: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a mapping, or raise ConfigError naming the
    file and every key at fault."""
    adapter = _ADAPTERS.get(cls) or _ADAPTERS.setdefault(cls, TypeAdapter(cls))
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise fail(source, prefix or "config", f"expected a mapping, got {tree!r}")
    try:
        return adapter.validate_python(tree)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source, prefix)) from None


def _set_dotted(tree: dict, key: str, value: Any, shorthands: dict[str, str],
                source: str | Path | None) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str) and part in shorthands:
            child = {shorthands[part]: child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise fail(source, key, f"{part} is not a section (it is {child!r})")
        node[part] = child
        node = child
    node[parts[-1]] = value


def apply_overrides(tree: dict, overrides: list[str] | tuple[str, ...],
                    shorthands: dict[str, str] | None = None,
                    source: str | Path | None = None) -> dict:
    """A copy of ``tree`` with ``key=value`` strings applied (values parsed as YAML:
    ``[a, b]`` is a list, ``null`` is None); ``shorthands`` maps a section that may be
    given as a plain string to the field that string sets; ``source`` is named in errors."""
    tree = yaml.safe_load(yaml.safe_dump(tree)) or {}
    for item in overrides:
        if "=" not in item:
            raise fail(source, f"--set {item}", "expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise fail(source, key, f"cannot parse value {raw!r} ({exc})") from exc
        _set_dotted(tree, key.strip(), value, shorthands or {}, source)
    return tree


def to_dict(cfg: Any) -> dict:
    """Plain nested mapping (tuples as lists) suitable for YAML/JSON."""
    return yaml.safe_load(yaml.safe_dump(_plain(dataclasses.asdict(cfg))))


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj
