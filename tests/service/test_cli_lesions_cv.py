"""``osteoscan lesions cv`` through the installed console script: outputs, exit codes, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from .conftest import run_osteoscan

FAST = ("--stage", "cnn", "--init", "scratch", "--tiny", "--folds", "2", "--seg-epochs", "1",
        "--region-epochs", "1", "--clf-epochs", "1")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Six simulated studies (``osteoscan simulate``) and a manifest with one unreadable study more."""
    root = tmp_path_factory.mktemp("lesionscv")
    res = run_osteoscan("simulate", root / "sim", "--n", 6, "--seed", 5)
    assert res.returncode == 0, res.stderr
    frame = pd.read_csv(root / "sim" / "manifest.csv", dtype=str, keep_default_na=False)
    (root / "sim" / "dicom" / "garbage.dcm").write_bytes(b"DICM" + bytes(range(256)) * 2)
    row = frame.iloc[[0]].assign(patient_id="PX", study_id="SX", image="dicom/garbage.dcm")
    pd.concat([frame, row]).to_csv(root / "sim" / "bad.csv", index=False)
    return root / "sim"


def _one_line_error(res, *words: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr and len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_cv_with_a_bad_row_writes_everything_and_exits_1(cohort, tmp_path):
    out = tmp_path / "cv"
    res = run_osteoscan("lesions", "cv", cohort / "bad.csv", "--out", out, *FAST)
    assert res.returncode == 1, res.stderr
    assert "SX" in res.stdout and "lesion_auc" in res.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_studies"] == 6 and summary["settings"]["folds"] == 2
    for key in ("lesion_auc", "patient_auc", "lesion_sensitivity", "lesion_specificity"):
        assert {"value", "ci_low", "ci_high"} <= set(summary[key])
    assert set(summary["by_burden"]) == {"<=3", "4-6", ">6"}
    lesions = pd.read_csv(out / "lesions_oof.csv")
    assert list(lesions.columns[:6]) == ["study", "patient", "view", "box", "label", "probability"]
    assert len(lesions) == summary["n_lesions"]
    # the study predictions are the documented format: osteoscan evaluate reads them
    res = run_osteoscan("evaluate", out / "studies_oof.csv", "--out", tmp_path / "ev", "--bootstrap", 50)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "ev" / "metrics.json").is_file()


def test_cv_user_errors_name_the_problem(cohort, tmp_path):
    _one_line_error(run_osteoscan("lesions", "cv", tmp_path / "none.csv", "--out", tmp_path / "o"),
                    "none.csv")
    _one_line_error(run_osteoscan("lesions", "cv", cohort / "manifest.csv", "--out", tmp_path / "o",
                                  "--init", "imagenet"), "--init")
    _one_line_error(run_osteoscan("lesions", "cv", cohort / "manifest.csv", "--out", tmp_path / "o",
                                  "--supervision", "dots"), "--supervision")
    _one_line_error(run_osteoscan("lesions", "cv", cohort / "manifest.csv", "--out", tmp_path / "o",
                                  "--folds", "9"), "--folds 9")
    assert not (tmp_path / "o" / "summary.json").exists()


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    """Eight simulated screen captures with LabelMe boxes on the pictures (every layout)."""
    pytest.importorskip("osteoscan.simulate.captures")
    root = tmp_path_factory.mktemp("capturescv")
    res = run_osteoscan("simulate", root / "cohort", "--n", 8, "--site", "profile_11", "--seed", 7,
                        "--captures", "all")
    assert res.returncode == 0, res.stderr
    return root / "cohort"


def test_detector_stage_on_captures_writes_the_same_files_and_a_detector_per_fold(captures, tmp_path):
    out = tmp_path / "cv"
    res = run_osteoscan("lesions", "cv", captures / "manifest.csv", "--label-map", captures / "label_map.yaml",
                        "--folds", "2", "--out", out, "--tiny")  # small forests for the default rule
    assert res.returncode == 0, (res.stdout, res.stderr)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["stage"] == "detector" and summary["settings"]["init"] == "bundled"
    for key in ("lesion_auc", "patient_auc", "lesion_sensitivity", "lesion_specificity"):
        assert {"value", "ci_low", "ci_high"} <= set(summary[key])
    assert summary["n_studies"] == 8 and set(summary["by_burden"]) == {"<=3", "4-6", ">6"}
    lesions = pd.read_csv(out / "lesions_oof.csv", keep_default_na=False)
    assert len(lesions) == summary["n_lesions"] > 0
    assert lesions["probability"].between(0, 1).all() and (lesions["picture_box"] != "").all()
    studies = pd.read_csv(out / "studies_oof.csv")
    assert len(studies) == 8 and set(studies["fold"]) == {0, 1}
    for folder in (out / "folds" / "fold-0" / "models", out / "folds" / "fold-1" / "models", out / "models"):
        assert (folder / "hotspot_detector.safetensors").is_file() and (folder / "hotspot_detector.json").is_file()
    card = json.loads((out / "models" / "hotspot_detector.json").read_text())
    assert card["init"] == "bundled" and card["cohort_studies"] == 8
    assert card["bundled_rule"] == "stage2"  # the default (docs/lesions.md)
    # analyze takes the final detector as the lesion stage, and it decides the study
    res = run_osteoscan("analyze", captures / "captures" / "S7-P00000a-V0_plain.jpg", "--lesion-models",
                        out / "models", "--out", tmp_path / "an", "--workers", "1", "--no-reports")
    assert res.returncode == 0, (res.stdout, res.stderr)
    study = json.loads(next((tmp_path / "an" / "studies").glob("*.json")).read_text())
    assert "hotspot-first detector" in json.dumps(study)
    # scratch trees on the same folds; a wrong stage is a one-line user error
    res = run_osteoscan("lesions", "cv", captures / "manifest.csv", "--label-map", captures / "label_map.yaml",
                        "--folds", "2", "--out", tmp_path / "s", "--init", "scratch", "--tiny")
    assert res.returncode == 0, res.stderr
    scratch = pd.read_csv(tmp_path / "s" / "lesions_oof.csv")
    assert len(scratch) == len(lesions) and not np.allclose(scratch["probability"], lesions["probability"])
    _one_line_error(run_osteoscan("lesions", "cv", captures / "manifest.csv", "--out", tmp_path / "o",
                                  "--label-map", captures / "label_map.yaml", "--stage", "forest"), "--stage")
