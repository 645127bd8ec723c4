"""scripts/build_seg3d.py: the bundled 3-D segmenter ships only if it beats the hot-spot rule."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from osteoscan.artefacts import SEG3D_DIR, read_card_file

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_seg3d.py"
_spec = importlib.util.spec_from_file_location("build_seg3d", SCRIPT)
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def _selected(tmp_path, best: float) -> Path:
    folder = tmp_path / "selected"
    shutil.copytree(SEG3D_DIR, folder)
    (folder / "selection.csv").write_text(
        "threshold,min_voxels,min_p_lesion,cut,dice_lesion,sens@1.5,criterion,ct_path_lesions\n"
        f"0.5,2,0.0,all,0.3,0.3,0.6,0\n0.8,2,0.2,mask,0.4,0.6,{best},0\n")
    return folder


def _baseline(tmp_path, dice: float, sens: float) -> Path:
    folder = tmp_path / "baseline"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(
        {"dice_lesion": {"value": dice}, "froc": {"sens@1.5": sens}}))
    return folder


def test_the_rule_ships_a_model_that_beats_the_rule_and_refuses_one_that_does_not(
        tmp_path, monkeypatch):
    monkeypatch.setattr(build, "ASSET", tmp_path / "asset")
    selected = _selected(tmp_path, 1.0)
    assert build.criterion(selected) == 1.0  # the best row of the sweep
    assert build.criterion(_baseline(tmp_path, 0.25, 0.5)) == pytest.approx(0.75)
    shipped = build.ship(selected, tmp_path / "baseline")
    card = read_card_file(shipped / "model.json")
    assert card.metrics["selection"]["criterion"] == 1.0
    assert card.metrics["selection"]["baseline"] == 0.75 and "research use only" in card.notes
    assert (shipped / "model.safetensors").is_file()
    worse = _selected(tmp_path / "w", 0.7)
    with pytest.raises(SystemExit, match="not shipped: selection criterion 0.700 is below"):
        build.ship(worse, tmp_path / "baseline")
    assert read_card_file(shipped / "model.json").metrics["selection"]["criterion"] == 1.0
