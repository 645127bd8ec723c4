"""Checkpoints: card round trip, every accepted path form, float16, and no unpickling."""

import json
import pickle

import pytest
import torch

from osteoscan.errors import ModelError
from osteoscan.models import create_model
from osteoscan.training.checkpoint import ModelCard, load_checkpoint, read_card, save_checkpoint

KW = {"num_classes": 2, "in_chans": 2, "img_size": [64, 32], "tiny": True}


def _saved(tmp_path, half=False):
    torch.manual_seed(0)
    model = create_model("resnet18", **KW)
    card = ModelCard("resnet18", model_kwargs=dict(KW), threshold=0.37, threshold_rule="youden",
                     preprocess={"views": "stack", "size": [64, 32]}, metrics={"test_auc": {"auc": 0.9}})
    save_checkpoint(tmp_path / "ck", model, card, half=half)
    return model, card


def test_card_round_trip_and_every_path_form(tmp_path):
    model, card = _saved(tmp_path)
    x = torch.randn(2, 2, 64, 32)
    expected = model.eval()(x)
    for source in (tmp_path / "ck", tmp_path / "ck" / "model.safetensors", tmp_path / "ck" / "model.json"):
        loaded, c = load_checkpoint(source)
        assert c.to_dict() == read_card(source).to_dict()
        assert c.threshold == 0.37 and c.model_kwargs == KW and c.metrics["test_auc"]["auc"] == 0.9
        assert c.created and c.versions["torch"] == torch.__version__
        torch.testing.assert_close(loaded(x), expected)
    assert ModelCard.from_dict(card.to_dict()) == card


def test_half_precision_is_smaller_and_close(tmp_path):
    model, _ = _saved(tmp_path, half=True)
    loaded, card = load_checkpoint(tmp_path / "ck")
    assert card.weights_dtype == "float16"
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.randn(1, 2, 64, 32)
    torch.testing.assert_close(loaded(x), model.eval()(x), atol=2e-2, rtol=2e-2)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    _saved(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    load_checkpoint(tmp_path / "ck")  # works without torch.load / pickle
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "model.safetensors").write_bytes(pickle.dumps({"boom": 1}))
    (evil / "model.json").write_text(json.dumps({"architecture": "resnet18", "model_kwargs": KW}))
    with pytest.raises(ModelError, match="model.safetensors"):
        load_checkpoint(evil)
    with pytest.raises(ModelError, match="expected a run folder"):
        load_checkpoint(tmp_path / "weights.pth")


def test_bad_cards_and_mismatched_weights(tmp_path):
    _saved(tmp_path)
    card_path = tmp_path / "ck" / "model.json"
    values = json.loads(card_path.read_text())
    values["model_kwargs"]["num_classes"] = 3
    card_path.write_text(json.dumps(values))
    with pytest.raises(ModelError, match="do not fit"):
        load_checkpoint(tmp_path / "ck")
    card_path.write_text("{not json")
    with pytest.raises(ModelError, match="model.json"):
        load_checkpoint(tmp_path / "ck")
    with pytest.raises(ModelError, match="no model.json"):
        load_checkpoint(tmp_path)
