"""Every name a benchmark or a build script takes from osteoscan exists.

Benchmarks import inside their functions (so that ``--help`` stays fast), so a name that
moved breaks them only when they run, which may be sessions later (``bench_detector``'s
lesion-stage baseline and ``bench_lesions`` both took functions that had moved to
``osteoscan.lesions.scoring``). This reads every ``from osteoscan... import ...`` of
``benchmarks/`` and ``scripts/`` and checks that the module imports and holds each name.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILES = sorted([*REPO.glob("benchmarks/**/*.py"), *REPO.glob("scripts/*.py")])


def taken(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of each name ``path`` takes from an osteoscan module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node.lineno, node.module, a.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
            and node.module.split(".")[0] == "osteoscan" for a in node.names if a.name != "*"]


def missing(rows: list[tuple[int, str, str]]) -> list[str]:
    """The rows whose module does not import or does not hold the name."""
    out = []
    for line, module, name in rows:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            out.append(f"{line}: {module}: {exc}")
            continue
        if not hasattr(mod, name):
            try:  # a submodule taken by name: from osteoscan.lesions import context
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                out.append(f"{line}: {module} has no {name}")
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_osteoscan_name_a_benchmark_takes_exists(path):
    assert not missing(taken(path))


def test_the_check_sees_a_name_that_moved(tmp_path):
    src = tmp_path / "bench.py"
    src.write_text("def main():\n    from osteoscan.lesions.pipeline import stacked_masks\n"
                   "    from osteoscan.lesions import scoring\n")
    rows = taken(src)
    assert [r[1:] for r in rows] == [("osteoscan.lesions.pipeline", "stacked_masks"),
                                     ("osteoscan.lesions", "scoring")]
    assert missing(rows) == ["2: osteoscan.lesions.pipeline has no stacked_masks"]
