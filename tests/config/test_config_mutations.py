"""Mutated configs (a leaf replaced by a value of another type, an unknown key, a section
replaced by a scalar, random bytes) either load or raise an OsteoscanError naming the file:
no other exception escapes the config readers."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from osteoscan.config import load_config, load_lesion_study, load_study
from osteoscan.errors import OsteoscanError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
VALUES = [None, True, 0, -1, 2.5, float("nan"), "", "x", "1e-3", [], [1, "a"], {}, {"k": 1},
          [[1]], 10**30, "site_a"]


def _paths(tree, prefix=()):
    """Every key path of a nested mapping (sections and leaves)."""
    for key, value in tree.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))


def _mutate(tree: dict, rng: np.random.Generator) -> dict:
    tree = yaml.safe_load(yaml.safe_dump(tree))
    paths = list(_paths(tree))
    for _ in range(int(rng.integers(1, 4))):
        path = paths[int(rng.integers(len(paths)))]
        node = tree
        for key in path[:-1]:
            node = node[key] if isinstance(node.get(key), dict) else {}
        if rng.random() < 0.15:
            node[f"unknown_{int(rng.integers(99))}"] = 1
        else:
            node[path[-1]] = copy.deepcopy(VALUES[int(rng.integers(len(VALUES)))])
    return tree


@pytest.mark.parametrize("name, loader", [
    ("reference.yaml", load_config),
    ("papers/lung_multiclass_inrac.yaml", load_study),
    ("papers/lesion_level.yaml", load_lesion_study),
])
def test_mutated_configs_raise_only_osteoscan_errors(tmp_path, name, loader):
    rng = np.random.default_rng(13)
    tree = yaml.safe_load((CONFIGS / name).read_text())
    path = tmp_path / "mutated.yaml"
    failed = 0
    for _ in range(40):
        path.write_text(yaml.safe_dump(_mutate(tree, rng)))
        try:
            loader(path)
        except OsteoscanError as exc:
            assert "mutated.yaml" in str(exc)
            failed += 1
    assert failed > 20  # most mutations are invalid and must be caught
    path.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(OsteoscanError, match="mutated.yaml"):
        loader(path)


def test_a_yaml_alias_loop_is_an_input_error(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: x\nmodel: &m {name: resnet18, kwargs: {inner: *m}}\n")
    with pytest.raises(OsteoscanError, match="loop.yaml: (nested deeper than|more than [0-9]+ values)"):
        load_config(path)
    path.write_text("arms: &a [{name: a, overrides: {x: *a}}]\n")
    with pytest.raises(OsteoscanError, match="loop.yaml: (nested deeper than|more than [0-9]+ values)"):
        load_study(path)
