"""End-to-end training on tiny in-memory studies: run folder, resume, k-fold, multi-class."""

import json

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file

from osteoscan.errors import ConfigError
from osteoscan.training.checkpoint import load_checkpoint
from osteoscan.config.train import resolve_config
from osteoscan.training.trainer import train


def test_run_folder_contents(tmp_path, cohort, tiny_config):
    run = train(resolve_config(tiny_config), tmp_path / "run", studies=cohort)
    for name in ("config.resolved.yaml", "log.csv", "predictions_val.csv", "predictions_test.csv",
                 "best/model.safetensors", "best/model.json", "last/model.safetensors",
                 "last/model.json", "last/state.safetensors", "last/state.json"):
        assert (run / name).is_file(), name
    log = pd.read_csv(run / "log.csv")
    assert list(log.columns) == ["epoch", "train_loss", "val_loss", "val_auc", "lr", "time_s"]
    assert log["epoch"].tolist() == [1, 2]
    assert np.isfinite(log["train_loss"]).all()
    card = json.loads((run / "best" / "model.json").read_text())
    assert card["classes"] == ["normal", "metastasis"] and card["positive"] == "metastasis"
    assert 0.0 <= card["threshold"] <= 1.0 and card["threshold_rule"] == "youden"
    assert card["preprocess"]["size"] == [64, 32] and card["model_kwargs"]["in_chans"] == 2
    assert card["data"]["train"]["n"] + card["data"]["val"]["n"] + card["data"]["test"]["n"] == 16
    assert "test_auc" in card["metrics"] and card["versions"]["torch"]
    test = pd.read_csv(run / "predictions_test.csv", dtype=str)
    assert list(test.columns) == ["study_id", "patient_id", "label", "prob_metastasis", "predicted"]
    val = pd.read_csv(run / "predictions_val.csv", dtype=str)
    # patient-level: no patient of the test set was validated or trained on
    assert not set(test["patient_id"]) & set(val["patient_id"])
    model, loaded = load_checkpoint(run)
    assert loaded.threshold == pytest.approx(card["threshold"])


def test_resume_after_kill_equals_uninterrupted(tmp_path, cohort, tiny_config):
    cfg = resolve_config(tiny_config)
    full = train(cfg, tmp_path / "full", studies=cohort)
    part = train(cfg, tmp_path / "part", studies=cohort, stop_after_epoch=1)
    assert pd.read_csv(part / "log.csv")["epoch"].tolist() == [1]
    assert not (part / "predictions_test.csv").exists()
    train(cfg, part, studies=cohort, resume=True)
    assert pd.read_csv(part / "log.csv")["epoch"].tolist() == [1, 2]
    a = load_file(str(full / "last" / "model.safetensors"))
    b = load_file(str(part / "last" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    pa = pd.read_csv(full / "predictions_test.csv")["prob_metastasis"]
    pb = pd.read_csv(part / "predictions_test.csv")["prob_metastasis"]
    np.testing.assert_allclose(pa, pb, atol=1e-5)


def test_kfold_writes_folds_and_pooled_oof(tmp_path, tiny_config, make_cohort):
    tiny_config["protocol"] = {"kind": "kfold", "folds": 3, "val_fraction": 0.2}
    tiny_config["optim"]["epochs"] = 1
    studies = make_cohort(24)
    run = train(resolve_config(tiny_config), tmp_path / "cv", studies=studies)
    for i in range(3):
        assert (run / f"fold{i}" / "best" / "model.json").is_file()
    oof = pd.read_csv(run / "predictions_oof.csv", dtype=str)
    assert sorted(oof["study_id"]) == sorted(s.study_id for s, _ in studies)  # each study once
    assert set(oof["fold"]) == {"fold0", "fold1", "fold2"}
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["folds"]) == {"fold0", "fold1", "fold2"} and summary["pooled"]["n"] == 24


def test_multiclass_with_label_column_and_balanced_sampler(tmp_path, tiny_config, make_cohort):
    studies = make_cohort(24)
    names = ["no_metastasis", "adenocarcinoma", "non_adenocarcinoma"]
    relabelled = []
    for i, (scan, label) in enumerate(studies):
        k = 0 if label.label == "normal" else 1 + (int(scan.patient_id[1:]) // 2) % 2
        relabelled.append((scan, label.__class__(names[k], site=label.site)))
    tiny_config["data"] = {"classes": names, "balance": "sampler"}
    tiny_config["optim"]["epochs"] = 1
    run = train(resolve_config(tiny_config), tmp_path / "mc", studies=relabelled)
    test = pd.read_csv(run / "predictions_test.csv")
    assert [c for c in test.columns if c.startswith("prob_")] == [f"prob_{n}" for n in names]
    np.testing.assert_allclose(test[[f"prob_{n}" for n in names]].sum(axis=1), 1.0, atol=1e-5)
    assert set(test["predicted"]) <= set(names)
    card = json.loads((run / "best" / "model.json").read_text())
    assert card["positive"] is None and card["threshold"] is None


def test_unknown_label_is_a_config_error(tmp_path, cohort, tiny_config):
    tiny_config["data"] = {"classes": ["normal", "bad"], "positive": "bad"}
    with pytest.raises(ConfigError, match="metastasis"):
        train(resolve_config(tiny_config), tmp_path / "x", studies=cohort)


def test_init_from_run_folder_loads_weights(tmp_path, cohort, tiny_config):
    import torch

    from osteoscan.training.build import create_for_training

    first = train(resolve_config(tiny_config), tmp_path / "a", studies=cohort)
    cfg = resolve_config(tiny_config, [f"model.init={first}"])
    model = create_for_training(cfg, {"num_classes": 2, "in_chans": 2, "img_size": [64, 32],
                                      "tiny": True}, None)
    ref, _ = load_checkpoint(first)
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(ConfigError, match="model.init"):
        create_for_training(resolve_config(tiny_config, ["model.init=/no/such/run"]),
                            {"num_classes": 2, "in_chans": 2, "img_size": [64, 32], "tiny": True}, None)
