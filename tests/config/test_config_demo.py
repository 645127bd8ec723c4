"""The demo plan trains the reference recipe: the packaged reference config is
configs/reference.yaml, and the demo's training config is that file plus named overrides."""

import dataclasses
from pathlib import Path

import pytest

from osteoscan.config import load_config, validate
from osteoscan.config.demo import FULL, QUICK, REFERENCE_CONFIG, DemoPlan
from osteoscan.errors import ConfigError

REPO_REFERENCE = Path(__file__).resolve().parents[2] / "configs" / "reference.yaml"


def test_the_packaged_reference_config_is_configs_reference_yaml():
    assert REFERENCE_CONFIG.read_bytes() == REPO_REFERENCE.read_bytes()


def test_full_plan_is_the_reference_recipe_on_the_demo_cohort(tmp_path):
    ref = load_config(REPO_REFERENCE)
    cfg = FULL.train_config(tmp_path / "manifest.csv")
    assert cfg.data.manifest == str(tmp_path / "manifest.csv") and cfg.name == "demo"
    assert cfg.model == ref.model and cfg.preprocess == ref.preprocess
    assert cfg.augment == ref.augment
    assert cfg.optim == dataclasses.replace(ref.optim, amp=False)
    assert cfg.protocol == dataclasses.replace(  # the demo's own sites, no validation sites
        ref.protocol, val_fraction=0.2, train_sites=("site_a", "site_b"), val_sites=(),
        test_sites=("site_c",))


def test_quick_plan_changes_only_sizes():
    ref, cfg = load_config(REPO_REFERENCE), QUICK.train_config()
    assert cfg.model == ref.model and cfg.preprocess == {**ref.preprocess, "size": [256, 64]}
    assert (cfg.optim.epochs, cfg.optim.batch_size, cfg.optim.warmup_epochs) == (2, 8, 0.0)
    assert QUICK.n_studies < FULL.n_studies


def test_plan_values_and_overrides_are_validated():
    with pytest.raises(ConfigError, match="n_studies: expected a number >= 1, got 0"):
        validate(DemoPlan, {"n_studies": 0, "n_analyze": 1, "n_boot": 10})
    expected = r"reference/config\.yaml: optim\.epochs: expected an integer"
    with pytest.raises(ConfigError, match=expected):
        QUICK.with_train("optim.epochs=none").train_config()
