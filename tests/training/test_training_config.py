"""Config: YAML + overrides, validation errors naming the key, resolved config round trip."""

import pytest
import yaml

from osteoscan.errors import ConfigError, InputError
from osteoscan.training.config import config_to_dict, load_config, resolve_config, save_config


def test_overrides_parse_yaml_values_and_shorthands():
    cfg = resolve_config({"protocol": "kfold", "model": "inrac18"},
                         ["optim.lr=1e-3", "optim.epochs=7", "data.classes=[a, b, c]",
                          "protocol.test_sites=[B]", "model.kwargs={tiny: true}", "model.init=null"])
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
