"""Study configs (``osteoscan compare`` and ``osteoscan lesions compare``): every shipped paper
config loads, and a wrong key anywhere, an arm's override included, fails on load naming the
file and the key."""

from pathlib import Path

import pytest
import yaml

from osteoscan.config import load_lesion_study, load_study, parse_study
from osteoscan.errors import ConfigError, InputError

PAPERS = Path(__file__).resolve().parents[2] / "configs" / "papers"


def _is_lesion(path: Path) -> bool:
    return yaml.safe_load(path.read_text()).get("task") == "lesion"


@pytest.mark.parametrize("path", sorted(PAPERS.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("tiny", [False, True])
def test_every_paper_config_loads(path: Path, tiny: bool) -> None:
    tree = yaml.safe_load(path.read_text())
    if _is_lesion(path):
        study = load_lesion_study(path, tiny=tiny)
        if not tiny:
            assert [a.name for a in study.arms] == [a["name"] for a in tree["arms"]]
            assert study.protocol.folds == tree["protocol"]["folds"]
        assert study.data.simulate.n == (int(tree["tiny"][0].split("=")[1]) if tiny
                                         else tree["data"]["simulate"]["n"])
    else:
        study = load_study(path, tiny=tiny)
        assert [a.name for a in study.arms] == [a["name"] for a in tree["arms"]]
        assert bool(study.tiny) == tiny and study.name == tree["name"]


def _write(tmp_path: Path, tree: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_a_bad_arm_override_fails_on_load_naming_file_arm_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, {"optim": {"epochs": 2}, "arms": [
        {"name": "ok"}, {"name": "bad", "overrides": {"optim": {"lr": "fast"}}}]})
    with pytest.raises(ConfigError, match=r"study\.yaml: arm bad: optim\.lr: expected a number"):
        load_study(path)


@pytest.mark.parametrize("tree, message", [
    ({"arms": []}, "needs a non-empty 'arms' list"),
    ({"arms": [{"name": "a", "model": "x"}]}, "arms[0].model: unknown key"),
    ({"arms": [{"name": "a/b"}]}, "arms[0].name: expected a name without '/', got 'a/b'"),
    ({"arms": [{"name": "a"}, {"name": "a"}]}, "arms: arm names must be unique"),
    ({"arms": [{"name": "a"}], "evaluation": {"subgroup": ["site"]}},
     "evaluation.subgroup: unknown key"),
    ({"arms": [{"name": "a"}], "optim": {"epoch": 3}}, "arm a: optim.epoch: unknown key"),
])
def test_compare_study_errors(tmp_path: Path, tree: dict, message: str) -> None:
    path = _write(tmp_path, tree)
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_parse_study_keeps_the_shared_sections_and_flattens_overrides() -> None:
    s = parse_study({"optim": {"epochs": 3}, "tiny": ["optim.epochs=1"],
                     "arms": [{"name": "a", "overrides": {"model": {"name": "vgg11"}}}]}, tiny=True)
    assert s.arms[0].overrides == ("model.name=vgg11",) and s.tiny == ("optim.epochs=1",)
    assert s.base == {"optim": {"epochs": 3}}


@pytest.mark.parametrize("change, message", [
    ({"data": {}}, "data.simulate: "),
    ({"protocol": {"folds": 1}}, "protocol.folds: expected a number >= 2, got 1"),
    ({"protocol": {"kind": "holdout"}}, "protocol.kind: expected one of 'kfold'"),
    ({"arms": [{"name": "x"}]}, "arms[0].arch: "),
    ({"arms": [{"name": "x", "arch": "vgg16", "kwarg": {}}]}, "arms[0].kwarg: unknown key"),
    ({"optim": {"epochs": 0}}, "optim.epochs: expected a number >= 1, got 0"),
    ({"seeds": 1}, "seeds: unknown key"),
])
def test_lesion_study_errors(tmp_path: Path, change: dict, message: str) -> None:
    tree = {"task": "lesion", "data": {"simulate": {"n": 4}},
            "arms": [{"name": "p", "arch": "patchcontext"}], **change}
    path = _write(tmp_path, tree)
    with pytest.raises(ConfigError) as info:
        load_lesion_study(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_unreadable_study_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.yaml"):
        load_study(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(InputError, match="mapping"):
        load_lesion_study(tmp_path / "list.yaml")
