"""The model card schema, run-folder resolution and the class-decision rule (no torch)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from osteoscan.artefacts import (
    LESION_ASSETS_DIR,
    REFERENCE_DIR,
    ModelCard,
    decide,
    final_card,
    read_card,
    read_card_file,
    resolve_checkpoint,
    run_cards,
    write_card,
)
from osteoscan.errors import ModelError


def _checkpoint(folder, **values):
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    write_card(folder / "model.json", ModelCard("resnet18", **values))
    return folder


def test_card_round_trip_writes_nan_as_null(tmp_path):
    card = ModelCard("resnet18", threshold=0.3, metrics={"auc": float("nan")},
                     settings={"patch": 32})
    write_card(tmp_path / "model.json", card)
    raw = json.loads((tmp_path / "model.json").read_text())
    assert raw["metrics"] == {"auc": None} and raw["settings"] == {"patch": 32}
    back = read_card_file(tmp_path / "model.json")
    assert back.threshold == 0.3 and back.settings == {"patch": 32}
    assert back.task == "classification"


@pytest.mark.parametrize("key, value", [("threshold", "high"), ("classes", "normal"),
                                        ("classes", [1, 2]), ("model_kwargs", []),
                                        ("architecture", 3), ("threshold", True)])
def test_bad_key_is_named_with_the_file(tmp_path, key, value):
    path = tmp_path / "weird.json"
    path.write_text(json.dumps({"architecture": "resnet18", key: value}))
    with pytest.raises(ModelError, match=rf"weird\.json: model card key '{key}'"):
        read_card_file(path)


@pytest.mark.parametrize("text, message", [("[1]", "JSON object"), ("{", "not a readable JSON"),
                                           ('{"classes": ["a"]}', "no 'architecture'")])
def test_unreadable_cards_are_model_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ModelError, match=rf"bad\.json: .*{message}"):
        read_card_file(path)


def test_bundled_cards_load_unchanged():
    ref = read_card("reference")
    assert ref.architecture and ref.is_binary
    assert resolve_checkpoint("reference")[1] == REFERENCE_DIR / "model.json"
    hot = read_card_file(LESION_ASSETS_DIR / "hotspot_unet.json")  # written as model cards
    raw = json.loads((LESION_ASSETS_DIR / "hotspot_unet.json").read_text())
    assert hot.architecture == raw["architecture"] == "unet"
    assert hot.task == "hotspot-segmentation" and hot.settings["work_shape"] == [512, 128]
    clf = read_card_file(LESION_ASSETS_DIR / "lesion_classifier.json")
    assert clf.classes == ["benign", "malignant"] and clf.positive == "malignant"
    # the lesion stage's older flat cards (arch, arch_kwargs, labels, settings on top) still read
    flat = {"arch": "unet", "arch_kwargs": {"in_channels": 2}, "task": "hotspot-segmentation",
            "work_shape": [512, 128], "threshold": 0.4}
    old = ModelCard.from_dict(flat, "old.json")
    assert old.architecture == "unet" and old.model_kwargs == {"in_channels": 2}
    assert old.settings == {"work_shape": [512, 128]} and old.threshold == 0.4 and old.positive is None


def test_run_folder_resolution(tmp_path):
    run = tmp_path / "run"
    _checkpoint(run / "last", threshold=0.1)
    assert final_card(run) == run / "last" / "model.json"
    _checkpoint(run / "best", threshold=0.2)
    assert final_card(run) == run / "best" / "model.json" and run_cards(run) == [final_card(run)]
    assert read_card(run).threshold == 0.2
    kfold = tmp_path / "kfold"
    for k in (1, 0):
        _checkpoint(kfold / f"fold{k}" / "best")
    assert [p.parent.parent.name for p in run_cards(kfold)] == ["fold0", "fold1"]
    assert resolve_checkpoint(kfold)[1] == kfold / "fold0" / "best" / "model.json"
    with pytest.raises(ModelError, match="no model.json"):
        resolve_checkpoint(tmp_path)
    assert final_card(tmp_path) is None


def test_decision_rule_binary_threshold_and_multiclass():
    card = ModelCard("m", classes=["metastasis", "normal"], positive="metastasis", threshold=0.7)
    prob = np.array([[0.7, 0.3], [0.69, 0.31]])
    assert decide(card, prob).tolist() == ["metastasis", "normal"]  # >= threshold is positive
    card.threshold = None
    assert decide(card, prob).tolist() == ["metastasis", "metastasis"]  # 0.5 without one
    multi = ModelCard("m", classes=["a", "b", "c"], positive=None)
    assert decide(multi, np.array([[0.2, 0.5, 0.3]])).tolist() == ["b"]


def test_artefacts_do_not_import_torch():
    code = "import sys, osteoscan.artefacts; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bundled_names_the_shipped_3d_segmenter(tmp_path, monkeypatch):
    from osteoscan.artefacts import paths

    assert paths.seg3d_checkpoint(tmp_path / "run") == tmp_path / "run"  # a path stays a path
    assert paths.seg3d_checkpoint("bundled") == paths.SEG3D_DIR
    card = read_card_file(paths.SEG3D_DIR / "model.json")  # shipped: a full 3-D card
    assert card.task == "segmentation3d" and "research use only" in card.notes
    assert {"lesion_model", "origin", "postprocess"} <= set(card.settings)
    assert card.metrics["selection"]["criterion"] >= card.metrics["selection"]["baseline"]
    monkeypatch.setattr(paths, "SEG3D_DIR", tmp_path / "absent")
    with pytest.raises(ModelError, match=r"absent: the bundled 3-D segmenter is missing"):
        paths.seg3d_checkpoint("bundled")
