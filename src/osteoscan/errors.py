"""One exception hierarchy for everything a user can cause.

Every message names the offending file (or key) and what is wrong with it, e.g.
``"case7.dcm: Modality is CT, expected NM whole body"``. The CLI catches
:class:`OsteoscanError` and prints the message without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class OsteoscanError(Exception):
    """Base class of every error osteoscan raises on purpose."""


class InputError(OsteoscanError):
    """A file or folder handed to osteoscan cannot be used as asked.

    Args:
        path: the file at fault (None when no file is involved).
        problem: what is wrong, in words a user understands.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{_short(self.path.name) if self.path else '<input>'}: {problem}")


def _short(name: str, limit: int = 120) -> str:
    """A file name for a message: a hostile 5,000-character name is shortened, not repeated."""
    return name if len(name) <= limit else f"{name[:80]}...{name[-20:]} ({len(name)} characters)"


class ConfigError(OsteoscanError):
    """A configuration value or command-line option is invalid."""


class ModelError(OsteoscanError):
    """A model, a weights file or a model card is missing, invalid or mismatched."""
