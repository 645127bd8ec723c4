"""The package's shape: no import circles, no private names across modules, no torch in the
torch-free layers, imports only go down the layers (docs/architecture.md).

The import graph is read from the source with ``ast`` (every import statement, also those
inside functions; ``if TYPE_CHECKING:`` blocks do not run and are skipped).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import osteoscan

ROOT = Path(osteoscan.__file__).resolve().parent

LAYERS = (
    ("errors", "types", "arrays", "skeleton", "_lazy", "artefacts", "csvsafe", "__init__", "__main__"),
    ("io", "simulate"),
    ("preprocessing",),
    ("config",),
    ("models",),
    ("data",),
    ("training", "evaluation"),
    ("explain",),
    ("lesions", "volumetric"),
    ("inference",),
    ("reporting",),
    ("workflows",),
    ("service",),
)
"""Lowest first; a module may import its own layer and the layers below. ``__main__`` only
starts the CLI and is exempt (see :func:`test_imports_only_go_down_the_layers`)."""

TORCH_FREE = ("osteoscan.io", "osteoscan.preprocessing", "osteoscan.simulate",
              "osteoscan.artefacts", "osteoscan.csvsafe", "osteoscan.evaluation.statistics",
              "osteoscan.config")
TORCH_LIBS = ("torch", "torchvision", "timm", "monai")


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported osteoscan module
    names: tuple[str, ...]  # names taken by ``from target import ...``
    line: int
    top_level: bool  # at module scope (runs on import)


def _module_name(path: Path) -> str:
    parts = ["osteoscan", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, top_level: bool = True):
    """(node, top_level) for every import statement outside TYPE_CHECKING blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from ((n, top_level) for n in node.orelse
                        if isinstance(n, (ast.Import, ast.ImportFrom)))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, top_level
        scope = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        nested = top_level and not isinstance(node, scope)
        yield from _imports(node, nested)


def _resolve(source: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source if MODULES[source].name == "__init__.py" else source.rsplit(".", 1)[0]
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _edges(source: str) -> tuple[list[Edge], list[tuple[str, int, bool]]]:
    """osteoscan imports of ``source`` and its third-party (name, line, top_level) imports."""
    tree = ast.parse(MODULES[source].read_text(encoding="utf-8"))
    edges, external = [], []
    for node, top in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "osteoscan":
                    edges.append(Edge(source, alias.name, (), node.lineno, top))
                else:
                    external.append((alias.name, node.lineno, top))
            continue
        module = _resolve(source, node)
        if module.split(".")[0] != "osteoscan":
            external.append((module, node.lineno, top))
            continue
        for alias in node.names:  # ``from pkg import submodule`` imports the submodule
            sub = f"{module}.{alias.name}"
            target, names = (sub, ()) if sub in MODULES else (module, (alias.name,))
            edges.append(Edge(source, target, names, node.lineno, top))
    return edges, external


GRAPH = {m: _edges(m) for m in MODULES}


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module}: not in any layer of tests/test_architecture.py LAYERS")


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for e in GRAPH[v][0]:
            w = e.target
            if w not in MODULES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(MODULES):
        if m not in index:
            visit(m)
    return out


def test_every_import_resolves_to_a_module():
    missing = [f"{e.source}:{e.line} -> {e.target}" for m in MODULES for e in GRAPH[m][0]
               if e.target not in MODULES]
    assert not missing, missing


def test_no_import_circles():
    assert _cycles() == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_names_across_modules():
    bad = []
    for m in MODULES:
        for e in GRAPH[m][0]:
            private = [n for n in e.names if _private(n)]
            if private and e.target != e.source:
                bad.append(f"{e.source}:{e.line} imports {private} from {e.target}")
            parts = e.target.split(".")
            hidden = [i for i, p in enumerate(parts) if _private(p)]
            if not hidden:
                continue
            package = ".".join(parts[: hidden[0]])  # a private module serves its own package
            if e.source != package and not e.source.startswith(package + "."):
                bad.append(f"{e.source}:{e.line} imports private module {e.target}")
    assert not bad, "\n".join(bad)


def test_imports_only_go_down_the_layers():
    bad = [f"{e.source}:{e.line} (layer {_layer(e.source)}) imports {e.target} "
           f"(layer {_layer(e.target)})"
           for m in MODULES if m != "osteoscan.__main__" for e in GRAPH[m][0]
           if _layer(e.target) > _layer(e.source)]
    assert not bad, "\n".join(bad)


def _closure(module: str) -> set[str]:
    """Modules imported when ``module`` is imported (module-scope imports, transitively)."""
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen or m not in MODULES:
            continue
        seen.add(m)
        todo += [e.target for e in GRAPH[m][0] if e.top_level]
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]  # parent packages run first
    return seen


@pytest.mark.parametrize("area", TORCH_FREE)
def test_torch_free_layers(area):
    own = [m for m in MODULES if m == area or m.startswith(area + ".")]
    assert own, area
    bad = [f"{m}:{line} imports {name}" for m in own for name, line, _ in GRAPH[m][1]
           if name.split(".")[0] in TORCH_LIBS]
    for m in own:
        for dep in _closure(m):
            bad += [f"{m} -> {dep}:{line} imports {name} on import"
                    for name, line, top in GRAPH[dep][1]
                    if top and name.split(".")[0] in TORCH_LIBS]
    assert not bad, "\n".join(sorted(set(bad)))


def test_the_checker_sees_what_it_forbids(tmp_path):
    """The rules above would fail on each kind of violation (guards against a blind walker)."""
    tree = ast.parse("import torch\nfrom osteoscan.a import _x\n"
                     "if TYPE_CHECKING:\n    import timm\n"
                     "def f():\n    from osteoscan.b import y\n")
    found = [(type(n).__name__, top) for n, top in _imports(tree)]
    assert found == [("Import", True), ("ImportFrom", True), ("ImportFrom", False)]
    assert (_layer("osteoscan.service.cli") > _layer("osteoscan.training.fit")
            > _layer("osteoscan.io.dicom"))
    assert any(e.target == "osteoscan.artefacts" for e in GRAPH["osteoscan.training.checkpoint"][0])
