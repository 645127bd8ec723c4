"""``osteoscan seg3d`` through the installed console script: simulate -> train -> predict ->
evaluate, a k-fold comparison, exit codes and one-line user errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from osteoscan.io.volumes import read_volume

from .conftest import run_osteoscan
from .test_cli_exit_codes import assert_one_line_error

TRAIN = ("--epochs", "1", "--patch", "16,16,16", "--spacing", "8", "--samples", "1",
         "--widths", "4,8", "--tiny")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg3d")
    res = run_osteoscan("seg3d", "simulate", root / "data", "--n", "3", "--shape", "16,32,32",
                        "--profile", "profile_1", "--profile", "profile_2", "--dicom")
    assert res.returncode == 0, res.stderr
    res = run_osteoscan("seg3d", "train", root / "data", "--out", root / "model", *TRAIN)
    assert res.returncode == 0, res.stderr
    return root


def test_predict_writes_masks_and_a_segmentation_and_lists_failures(cohort):
    studies = sorted(p for p in (cohort / "data").iterdir() if p.is_dir())
    res = run_osteoscan("seg3d", "predict", cohort / "model", studies[0], cohort / "missing",
                        "--out", cohort / "pred")
    assert res.returncode == 1, res.stderr
    assert "missing" in res.stdout and "Traceback" not in res.stdout + res.stderr
    out = cohort / "pred" / studies[0].name
    summary = json.loads((out / "lesions.json").read_text())
    assert summary["files"] == ["semantic.nii.gz", "instances.nii.gz", "seg.dcm"]
    assert all("p_lesion" in les for les in summary["lesions"])
    assert all((out / f).is_file() for f in summary["files"])
    nifti_only = run_osteoscan("seg3d", "predict", cohort / "model", studies[1] / "ct.nii.gz",
                               "--spect", studies[1] / "spect.nii.gz", "--out", cohort / "pred2")
    assert nifti_only.returncode == 0, nifti_only.stderr
    assert not (cohort / "pred2" / "ct" / "seg.dcm").exists()
    assert (cohort / "pred2" / "ct" / "semantic.nii.gz").is_file()


def test_evaluate_writes_the_summary(cohort):
    res = run_osteoscan("seg3d", "evaluate", cohort / "model", cohort / "data", "--out",
                        cohort / "eval", "--n-boot", "50")
    assert res.returncode == 0, res.stderr
    summary = json.loads((cohort / "eval" / "summary.json").read_text())
    assert summary["n_scans"] == 3 and "dice_lesion" in summary and "origin_auc" in summary
    assert (cohort / "eval" / "lesions.csv").is_file()


def test_baseline_and_threshold_are_scored_like_a_network(cohort):
    res = run_osteoscan("seg3d", "baseline", cohort / "data", "--out", cohort / "hot",
                        "--ratio", "3", "--n-boot", "50")
    assert res.returncode == 0, res.stderr
    hot = json.loads((cohort / "hot" / "summary.json").read_text())
    assert hot["n_scans"] == 3 and hot["origin_auc"]["n"] >= 0
    strict = run_osteoscan("seg3d", "evaluate", cohort / "model", cohort / "data", "--out",
                           cohort / "eval-strict", "--n-boot", "0", "--threshold", "1")
    assert strict.returncode == 0, strict.stderr
    scans = json.loads((cohort / "eval-strict" / "summary.json").read_text())
    assert scans["sensitivity_voxel"]["value"] == 0.0  # nothing exceeds 1 - P(bg) > 1


def test_select_writes_a_checkpoint_that_evaluate_uses(cohort):
    res = run_osteoscan("seg3d", "select", cohort / "model", cohort / "data", "--out",
                        cohort / "selected", "--thresholds", "0.4,0.6", "--min-sizes", "2,3",
                        "--min-p-lesion", "0,0.5")
    assert res.returncode == 0, res.stderr
    card = json.loads((cohort / "selected" / "model.json").read_text())
    post = card["settings"]["postprocess"]
    assert post["threshold"] in (0.4, 0.6) and post["min_voxels"] in (2, 3)
    assert "postprocess" not in json.loads((cohort / "model" / "model.json").read_text())["settings"]
    # with a lesion model: P(lesion) cut 0, and 0.5 applied everywhere or to the mask only
    per_size = 3 if "lesion_model" in card["settings"] else 1
    assert len((cohort / "selected" / "selection.csv").read_text().splitlines()) == 1 + 4 * per_size
    assert post["min_p_lesion"] in ((0.0, 0.5) if per_size == 3 else (0.0,))
    assert post["cut"] in (("all", "mask") if per_size == 3 else ("all",))
    assert post["origin"] == "mask"  # the patient's origin follows the mask
    res = run_osteoscan("seg3d", "evaluate", cohort / "selected", cohort / "data", "--out",
                        cohort / "eval-selected", "--n-boot", "0")
    assert res.returncode == 0, res.stderr
    assert_one_line_error(run_osteoscan("seg3d", "select", cohort / "model", cohort / "data",
                                        "--out", cohort / "bad", "--thresholds", "0.5,x"),
                          2, "--thresholds")
    assert_one_line_error(run_osteoscan("seg3d", "select", cohort / "model", cohort / "data",
                                        "--out", cohort / "bad", "--cuts", "some"), 2, "--cuts")
    assert_one_line_error(run_osteoscan("seg3d", "evaluate", cohort / "selected", cohort / "data",
                                        "--out", cohort / "bad", "--origin", "some"), 2, "--origin")


def test_select_a_ct_path_and_predict_with_the_fused_card(cohort, tmp_path):
    # late fusion (docs/seg3d.md "Eighth run"): the tiny model is its own CT path, SPECT
    # zeroed, its instance models refitted on its CT-only instances
    fused = tmp_path / "fused"
    res = run_osteoscan("seg3d", "select", cohort / "model", cohort / "data", "--out", fused,
                        "--ct-path", cohort / "model", "--ct-fit", cohort / "data",
                        "--ct-thresholds", "0.3,0.5", "--ct-min-sizes", "1,2",
                        "--ct-min-p-lesion", "0", "--ct-max-contrast-hu", "none,0")
    assert res.returncode == 0, res.stderr
    ct = json.loads((fused / "model.json").read_text())["settings"]["postprocess"]["ct_path"]
    assert ct["model"] == "ct_path" and ct["zeroed"] == ["spect"]
    assert ct["threshold"] in (0.3, 0.5) and ct["max_contrast_hu"] in (None, 0.0)
    companion = json.loads((fused / "ct_path" / "model.json").read_text())
    assert companion["data"]["origin_training"]["zeroed"] == ["spect"]
    assert len((fused / "selection.csv").read_text().splitlines()) == 1 + 8
    study = sorted(p for p in (cohort / "data").iterdir() if p.is_dir())[0]
    res = run_osteoscan("seg3d", "predict", fused, study, "--out", tmp_path / "p")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "p" / study.name
    summary = json.loads((out / "lesions.json").read_text())
    assert summary["files"] == ["semantic.nii.gz", "instances.nii.gz", "seg.dcm"]
    assert all(les["source"] in ("primary", "ct_path") for les in summary["lesions"])
    ids = np.unique(read_volume(out / "instances.nii.gz", "CT").array)
    assert sorted(int(i) for i in ids if i > 0) == [les["id"] for les in summary["lesions"]]
    assert_one_line_error(run_osteoscan("seg3d", "select", cohort / "model", cohort / "data",
                                        "--out", tmp_path / "bad", "--ct-path", cohort / "model",
                                        "--ct-max-contrast-hu", "dark"), 2, "--ct-max-contrast-hu")


def test_user_errors_exit_2_with_one_line(cohort, tmp_path):
    assert_one_line_error(run_osteoscan("seg3d", "train", tmp_path, "--out", tmp_path / "m"),
                          2, "manifest.csv")
    assert_one_line_error(run_osteoscan("seg3d", "train", cohort / "data", "--out", tmp_path / "m",
                                        "--arch", "unet"), 2, "unet")
    assert_one_line_error(run_osteoscan("seg3d", "predict", tmp_path, cohort / "data",
                                        "--out", tmp_path / "p"), 2)


def test_kind_crops_and_a_second_ct_window_fine_tune_and_predict(cohort, tmp_path):
    # the fifth to seventh runs' options: lesion-type crops from truth.json, a third input channel (CT
    # trabecular window) initialised from the two-channel model, and predict reads its card
    res = run_osteoscan("seg3d", "train", cohort / "data", "--out", tmp_path / "m", *TRAIN,
                        "--crops", "kind", "--channels", "spectct2w", "--negatives", "bone",
                        "--loss", "lesion", "--modality-dropout", "0.5", "--init", cohort / "model",
                        "--kind-weight", "osteolytic=4")
    assert res.returncode == 0, res.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["settings"]["modality_dropout"] == 0.5  # the seventh run's SPECT dropout
    assert card["settings"]["crops"] == "kind" and card["settings"]["channels"] == "spectct2w"
    assert card["settings"]["loss"] == "lesion"  # the sixth run's lesion-weighted CE
    assert card["settings"]["kind_weights"] == {"osteolytic": 4.0}  # the ninth run's
    assert card["model_kwargs"]["in_chans"] == 3
    study = sorted(p for p in (cohort / "data").iterdir() if p.is_dir())[0]
    res = run_osteoscan("seg3d", "predict", tmp_path / "m", study, "--out", tmp_path / "p")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "p" / study.name / "semantic.nii.gz").is_file()
    assert_one_line_error(run_osteoscan("seg3d", "train", cohort / "data", "--out",
                                        tmp_path / "x", "--crops", "big"), 2, "crops")
    assert_one_line_error(run_osteoscan("seg3d", "train", cohort / "data", "--out",
                                        tmp_path / "x", "--loss", "blob"), 2, "loss")
    assert_one_line_error(run_osteoscan("seg3d", "train", cohort / "data", "--out", tmp_path / "x",
                                        "--channels", "ct", "--modality-dropout", "0.5"),
                          2, "modality dropout")
    for weight in ("lytic=4", "osteolytic=x"):
        assert_one_line_error(run_osteoscan("seg3d", "train", cohort / "data", "--out",
                                            tmp_path / "x", "--loss", "lesion",
                                            "--kind-weight", weight), 2, "kind")


def test_simulate_at_a_given_ct_spacing(tmp_path):
    res = run_osteoscan("seg3d", "simulate", tmp_path / "d", "--n", "1", "--ct-spacing", "8,7",
                        "--profile", "profile_3")
    assert res.returncode == 0, res.stderr
    truth = json.loads(next((tmp_path / "d").glob("*/truth.json")).read_text())
    assert truth["ct_spacing_mm"] == pytest.approx([8.0, 7.0, 7.0])
    from osteoscan.io.volumes import read_volume

    ct = read_volume(next((tmp_path / "d").glob("*/ct.nii.gz")), "CT")
    assert ct.spacing_mm == pytest.approx((8.0, 7.0, 7.0)) and list(ct.shape) == truth["ct_shape"]
    assert_one_line_error(run_osteoscan("seg3d", "simulate", tmp_path / "e", "--shape",
                                        "16,32,32", "--ct-spacing", "profile"), 2, "--shape")
    assert_one_line_error(run_osteoscan("seg3d", "simulate", tmp_path / "e", "--ct-spacing",
                                        "8"), 2, "--ct-spacing")


@pytest.mark.slow
def test_kfold_comparison_goes_through_compare(tmp_path):
    # its own cohort: every fold's test scans must hold lesions to be scored per lesion
    # (the module's 3 tiny scans left a fold without any: "fold-1.csv: no rows")
    data = tmp_path / "data"
    res = run_osteoscan("seg3d", "simulate", data, "--n", "6", "--shape", "24,48,48",
                        "--profile", "profile_1", "--profile", "profile_2")
    assert res.returncode == 0, res.stderr
    res = run_osteoscan("seg3d", "train", data, "--cv", "2", "--arch", "mtunet3d",
                        "--arch", "unet3d", "--out", tmp_path / "cv", *TRAIN, timeout=900)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "cv" / "comparison" / "summary.json").is_file()
    assert len((tmp_path / "cv" / "seg3d_table.csv").read_text().splitlines()) == 3
    again = run_osteoscan("compare", "--render-only", tmp_path / "cv")
    assert again.returncode == 0, again.stderr


def test_the_bundled_segmenter_predicts_and_fine_tunes_by_name(cohort, tmp_path):
    # `bundled` names the shipped model (scripts/build_seg3d.py; docs/seg3d.md "Eleventh run"):
    # a user with a CT and a SPECT and no training gets masks, lesions and a Segmentation
    study = sorted(p for p in (cohort / "data").iterdir() if p.is_dir())[0]
    res = run_osteoscan("seg3d", "predict", "bundled", study, "--out", tmp_path / "p")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "p" / study.name / "lesions.json").read_text())
    assert summary["files"] == ["semantic.nii.gz", "instances.nii.gz", "seg.dcm"]
    assert all(les["p_lesion"] is not None for les in summary["lesions"])  # its lesion model
    # and it is where a site's own fine-tuning starts (every tensor transfers)
    res = run_osteoscan("--debug", "seg3d", "train", cohort / "data", "--out", tmp_path / "tuned",
                        "--epochs", "1", "--samples", "1", "--patch", "16,32,32", "--spacing",
                        "5", "--widths", "16,32,64", "--channels", "spectct2w", "--init",
                        "bundled")
    assert res.returncode == 0, res.stderr
    assert "100 % of tensors (0 mismatched)" in res.stderr + res.stdout
    card = json.loads((tmp_path / "tuned" / "model.json").read_text())
    assert card["data"]["init"] == "bundled"
