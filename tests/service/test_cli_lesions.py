"""``osteoscan lesions``: train -> evaluate -> compare on tiny simulated data; bad input."""

import json

import pytest
from typer.testing import CliRunner

from osteoscan.errors import ConfigError, InputError
from osteoscan.service.cli import app


def test_train_then_evaluate_tiny(tmp_path):
    runner = CliRunner()
    models = tmp_path / "models"
    res = runner.invoke(app, ["lesions", "train", "--out", str(models), "--simulate", "2", "--tiny",
                              "--seg-epochs", "1", "--region-epochs", "1", "--clf-epochs", "1"])
    assert res.exit_code == 0, res.output
    for stem in ("hotspot_unet", "region_unet", "lesion_classifier"):
        assert (models / f"{stem}.safetensors").is_file()
        card = json.loads((models / f"{stem}.json").read_text())  # the one model-card format
        assert card["architecture"] and card["model_kwargs"] and card["training"]
    out = tmp_path / "metrics.json"
    res = runner.invoke(app, ["lesions", "evaluate", "--models", str(models), "--simulate", "2",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = json.loads(out.read_text())
    assert m["studies"] == 2 and set(m["froc_detection"]) >= {"sens@0.125", "sens@8", "cpm"}
    assert len(m["lesion_confusion"]["matrix"]) == 3 and "pearson_r" in m["bsi"]


def test_compare_tiny_writes_compare_layout(tmp_path):
    # `osteoscan compare` hands a `task: lesion` study to `osteoscan lesions compare`
    res = CliRunner().invoke(app, ["compare", "configs/papers/lesion_level.yaml", "--tiny",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "lesion_summary.json").read_text())
    assert list(summary) == ["patch_context", "vgg16", "densenet169"]
    assert set(summary["vgg16"]["by_burden"]) == {"<=3", "4-6", ">6"}
    assert "delong_vs_reference" in summary["vgg16"]
    folds = sorted((tmp_path / "arms" / "vgg16" / "predictions").glob("fold-*.csv"))
    assert len(folds) == 2 and (tmp_path / "manifest.csv").is_file()
    header = folds[0].read_text().splitlines()[0]
    assert header == "study_id,patient_id,label,prob_benign,prob_malignant"
    from osteoscan.lesions.compare import summarise_folder

    again = summarise_folder(tmp_path)  # re-aggregated from the prediction files alone
    assert again["vgg16"]["overall"]["value"] == pytest.approx(summary["vgg16"]["overall"]["value"])


def test_bad_site_and_missing_config_are_one_line_errors(tmp_path):
    res = CliRunner().invoke(app, ["lesions", "evaluate", "--models", str(tmp_path), "--sites", "site_z",
                                   "--out", str(tmp_path / "m.json")])
    assert res.exit_code != 0
    assert isinstance(res.exception, (ConfigError, InputError))
    res = CliRunner().invoke(app, ["lesions", "compare", str(tmp_path / "none.yaml"), "--out", str(tmp_path)])
    assert isinstance(res.exception, InputError) and "none.yaml" in str(res.exception)


def test_show_one_dicom_study_with_bundled_models(tmp_path):
    from osteoscan.lesions.analyzer import BUNDLED
    from osteoscan.lesions.bundle import ASSETS
    from osteoscan.simulate.writer import write_cohort

    if not (ASSETS / f"{BUNDLED['segmenter']}.safetensors").exists():
        pytest.skip("bundled lesion models not installed")
    manifest = write_cohort(tmp_path / "c", 1, seed=2, prevalence=1.0)
    image = manifest.parent / manifest.read_text().splitlines()[1].split(",")[2]
    out = tmp_path / "lesions.json"
    res = CliRunner().invoke(app, ["lesions", "show", str(image), "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["bsi"] >= 0 and isinstance(doc["hotspots"], list) and "regions" in doc
    assert "BSI" in res.output


def test_reduced_study_config_names_the_four_documented_arms():
    from osteoscan.lesions.compare import load_study_config

    full = load_study_config("configs/papers/lesion_level_reduced.yaml")
    assert [a["name"] for a in full["arms"]] == ["patch_context", "inception_v3", "vgg16_tiny",
                                                 "densenet169_tiny"]
    assert full["data"]["simulate"] == {"n": 80, "seed": 500, "sites": ["site_a", "site_b"],
                                        "difficulty": "default"}
    tiny = load_study_config("configs/papers/lesion_level_reduced.yaml", tiny=True)
    assert tiny["data"]["simulate"]["n"] == 10 and len(tiny["arms"]) == 2


def test_compare_refuses_arm_selection_for_a_lesion_study(tmp_path):
    res = CliRunner().invoke(app, ["compare", "configs/papers/lesion_level.yaml", "--arm", "vgg16",
                                   "--out", str(tmp_path)])
    assert res.exit_code != 0 and isinstance(res.exception, ConfigError)
    assert "task: lesion" in str(res.exception) and "lesion_level.yaml" in str(res.exception)
    assert not (tmp_path / "study.json").exists()
