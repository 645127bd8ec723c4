"""`osteoscan train` / `osteoscan predict` end to end on a tiny simulated DICOM cohort."""

import json
import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from osteoscan.errors import ConfigError
from osteoscan.service.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    from osteoscan.simulate import write_cohort

    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, 12, seed=3, sites=("site_a", "site_b"))
    return out


def _config(tmp_path, manifest):
    cfg = {
        "name": "cli",
        "data": {"manifest": str(manifest), "cache": True},
        "protocol": {"kind": "holdout", "test_fraction": 0.25, "val_fraction": 0.25},
        "model": {"name": "resnet18", "kwargs": {"tiny": True}},
        "preprocess": {"views": "stack", "size": [64, 32]},
        "optim": {"epochs": 2, "batch_size": 4, "patience": 0, "threads": 1},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_train_then_predict(tmp_path, cohort_dir):
    manifest = cohort_dir / "manifest.csv"
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", str(_config(tmp_path, manifest)), "--out", str(run),
                              "--set", "optim.epochs=1"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert pd.read_csv(run / "log.csv")["epoch"].tolist() == [1]  # the override won
    resolved = yaml.safe_load((run / "config.resolved.yaml").read_text())
    assert resolved["optim"]["epochs"] == 1
    card = json.loads((run / "best" / "model.json").read_text())
    assert card["data"]["sha256"] and card["data"]["n_studies"] == 12
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", str(run), str(manifest), "-o", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    pred = pd.read_csv(out, dtype={"study_id": str})
    assert list(pred.columns) == ["study_id", "patient_id", "label", "prob_metastasis", "predicted"]
    assert len(pred) == 12 and pred["prob_metastasis"].between(0, 1).all()
    thr = card["threshold"]
    expected = pred["prob_metastasis"].ge(thr).map({True: "metastasis", False: "normal"})
    clear = (pred["prob_metastasis"] - thr).abs() > 1e-5  # the CSV rounds to 6 decimals
    assert (pred["predicted"] == expected)[clear].all()
    truth = pd.read_csv(manifest, dtype=str).set_index("study_id")["label"]
    assert (pred.set_index("study_id")["label"] == truth.loc[pred["study_id"]]).all()

    # a broken study is listed, the rest predicted, exit code 1
    bad_dir = tmp_path / "bad"
    shutil.copytree(cohort_dir, bad_dir)
    frame = pd.read_csv(bad_dir / "manifest.csv", dtype=str, keep_default_na=False)
    (bad_dir / frame.loc[0, "image"]).write_bytes(b"not a dicom file")
    res = runner.invoke(app, ["predict", str(run / "best" / "model.json"), str(bad_dir / "manifest.csv"),
                              "-o", str(tmp_path / "pred_bad.csv")])
    assert res.exit_code == 1
    assert frame.loc[0, "study_id"] in res.output
    assert len(pd.read_csv(tmp_path / "pred_bad.csv")) == 11


def test_train_bad_override_names_the_key(tmp_path, cohort_dir):
    cfg = _config(tmp_path, cohort_dir / "manifest.csv")
    res = runner.invoke(app, ["train", str(cfg), "--set", "optim.learning_rate=0.1"])
    assert isinstance(res.exception, ConfigError)
    assert "optim.learning_rate" in str(res.exception)
