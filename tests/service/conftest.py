"""Run the installed ``osteoscan`` console script in a real subprocess.

The script is the one next to ``sys.executable`` (``.venv/bin/osteoscan``); PYTHONPATH is
set to the tree under test so that the script imports it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import osteoscan

SCRIPT = Path(sys.executable).with_name("osteoscan")

_spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parents[1] / "_analyze_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)
"""tests/_analyze_fixtures.py: tiny models with cards, small scans."""
SRC = Path(osteoscan.__file__).resolve().parents[1]


def script_env(**extra: str) -> dict[str, str]:
    """The environment the console script runs in: this tree first on PYTHONPATH."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p), COLUMNS="200")
    env.update(extra)
    return env


def osteoscan_cmd(*args: object) -> list[str]:
    """The argv that runs ``osteoscan ARGS`` through the console script."""
    if not SCRIPT.is_file():
        pytest.skip(f"console script not installed next to {sys.executable}")
    return [str(SCRIPT), *map(str, args)]


def run_osteoscan(*args: object, timeout: float = 300, cwd: Path | None = None
                  ) -> subprocess.CompletedProcess:
    """Run ``osteoscan ARGS`` to completion; returns the completed process (text output)."""
    return subprocess.run(osteoscan_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=script_env(), cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture
def osteoscan_cli():
    """``osteoscan_cli(*args)`` -> CompletedProcess of the installed console script."""
    return run_osteoscan
