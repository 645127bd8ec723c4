"""Config: YAML + overrides, validation errors naming the key, resolved config round trip."""

from pathlib import Path

import pytest
import yaml

from osteoscan.errors import ConfigError, InputError
from osteoscan.config.train import config_to_dict, load_config, resolve_config, save_config


def test_overrides_parse_yaml_values_and_shorthands():
    cfg = resolve_config({"protocol": "kfold", "model": "inrac18"},
                         ["optim.lr=1e-3", "optim.epochs=7", "data.classes=[a, b, c]",
                          "protocol.test_sites=[B]", "model.kwargs={tiny: true}",
                          "model.init=null"])
    assert cfg.protocol.kind == "kfold" and cfg.model.name == "inrac18"
    assert cfg.optim.lr == 0.001 and cfg.optim.epochs == 7
    assert cfg.data.classes == ("a", "b", "c") and cfg.protocol.test_sites == ("B",)
    assert cfg.model.kwargs == {"tiny": True} and cfg.model.init is None


@pytest.mark.parametrize("override, key", [
    (["optim.lrr=1"], "optim.lrr"),
    (["optim.epochs=many"], "optim.epochs"),
    (["optim.epochs=0"], "optim.epochs"),
    (["protocol.kind=random"], "protocol.kind"),
    (["data.balance=maybe"], "data.balance"),
    (["data.positive=cancer"], "data.positive"),
    (["optim.lr=-1"], "optim.lr"),
    (["nonsense"], "nonsense"),
    (["data.simulate.n=[1]"], "data.simulate.n"),
])
def test_validation_errors_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        resolve_config({}, override)


def test_load_save_round_trip_and_relative_manifest(tmp_path):
    (tmp_path / "m.csv").write_text("study_id,patient_id\n")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "exp", "data": {"manifest": "m.csv"},
                                    "optim": {"batch_size": 4}}))
    cfg = load_config(path, ["seed=3"])
    assert cfg.data.manifest == str(tmp_path / "m.csv") and cfg.seed == 3
    save_config(cfg, tmp_path / "resolved.yaml")
    again = resolve_config(yaml.safe_load((tmp_path / "resolved.yaml").read_text()))
    assert again == cfg and config_to_dict(again) == config_to_dict(cfg)
    with pytest.raises(InputError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(InputError, match="mapping"):
        load_config(tmp_path / "bad.yaml")


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["reference", "reference_default_difficulty"])
def test_shipped_training_configs_load_unchanged(name):
    tree = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    cfg = load_config(CONFIGS / f"{name}.yaml")
    plain = config_to_dict(cfg)
    for section in ("protocol", "optim"):  # every key the file gives is kept as given
        assert {k: plain[section][k] for k in tree[section]} == tree[section]
    assert plain["model"]["kwargs"] == tree["model"]["kwargs"]
    assert plain["preprocess"] == tree["preprocess"] and plain["augment"] == tree["augment"]


@pytest.mark.parametrize("override, message", [
    ("optim.lr=abc", "optim.lr: expected a number, got 'abc'"),
    ("optim.lr=-1", "optim.lr: expected a number > 0, got -1"),
    ("optim.lr=.inf", "optim.lr: expected a finite number"),
    ("optim.lrr=1", "optim.lrr: unknown key"),
    ("optim.epochs=2.5", "optim.epochs: expected an integer, got 2.5"),
    ("optim.amp=1", "optim.amp: expected true or false, got 1"),
    ("protocol.test_fraction=1.5", "protocol.test_fraction: expected a number < 1, got 1.5"),
    ("protocol.kind=random", "protocol.kind: expected one of 'auto', "),
    ("data.simulate.sites=[[x]]", r"data.simulate.sites[0]: expected a string"),
    ("data.num_workers=-2", "data.num_workers: expected a number >= 0, got -2"),
    ("data.classes=[only]", "data.classes: need at least two classes"),
    ("preprocess.views=sideways", "preprocess: PreprocessConfig.views must be one of"),
    ("augment.p_flip=2", "augment: AugmentConfig.p_flip must be a probability"),
    ("model=[a]", "model: expected a mapping, got ['a']"),
])
def test_errors_name_the_file_the_key_and_the_value(tmp_path, override, message):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\noptim: {epochs: 2}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, [override])
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_numbers_as_names_and_names_as_lists_are_accepted():
    cfg = resolve_config({"name": 2027, "data": {"simulate": {"sites": "site_a"}},
                          "optim": {"threshold": 0.4, "lr": "1e-3"}, "protocol": None})
    assert cfg.name == "2027" and cfg.data.simulate.sites == ("site_a",)
    assert cfg.optim.threshold == "0.4" and cfg.optim.lr == 0.001
    assert cfg.protocol == resolve_config().protocol


def test_loading_every_config_kind_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from osteoscan.config import load_config, load_study; "
            "from osteoscan.config.demo import QUICK; QUICK.train_config(); "
            f"load_study({str(CONFIGS / 'papers' / 'lung_multiclass_inrac.yaml')!r}); "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
