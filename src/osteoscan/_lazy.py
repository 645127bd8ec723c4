"""Lazy public names for packages (PEP 562), so that importing a package stays light.

``import osteoscan`` must not load torch, and ``from osteoscan.io import load_study`` must
not load pandas: each package lists ``name -> defining module`` and resolves on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports`` (public name -> module path) on demand.

    Example:
        >>> getattr_ = lazy_getattr("pkg", {"sqrt": "math"})
        >>> getattr_("sqrt")(4.0)
        2.0
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
