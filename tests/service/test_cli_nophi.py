"""``--no-phi``: no PatientID, date, UID or input path reaches any output file.

Runs the installed console script in a real subprocess and scans the text of every file
written. The normal-mode run is the control: there the same scanner finds the identifiers.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import osteoscan
from osteoscan.service.cli import app
from tests._phi_fixtures import PATIENT_ID, leaks, secrets_of, write_phi_study

OSTEOSCAN = Path(sys.executable).parent / "osteoscan"
# the console script imports the tree under test
ENV = dict(os.environ, PYTHONPATH=str(Path(osteoscan.__file__).resolve().parents[1]))
_spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parents[1] / "_analyze_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OSTEOSCAN), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=ENV)


@pytest.fixture(scope="module")
def phi_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("phi")
    study = write_phi_study(root / "in" / f"Doe_Jane_{PATIENT_ID}" / "wb_20250314.dcm")
    bad = root / "in" / f"{PATIENT_ID}_20250318_broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x08\x00")
    model = fx.save_tiny(root / "model")
    return root, study, bad, model


def test_analyze_no_phi_writes_no_identifier(phi_inputs, tmp_path):
    root, study, bad, model = phi_inputs
    secrets = secrets_of(study) + [str(bad.resolve()), bad.name, str(model.resolve())]
    out = tmp_path / "nophi"
    proc = _run("analyze", root / "in", "--model", model, "--out", out, "--workers", "1", "--no-phi")
    assert "Traceback" not in proc.stderr, proc.stderr
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert len(rows) == 1 and rows[0]["patient_id"].startswith("P-")
    summary = json.loads((out / "analysis.json").read_text())
    assert summary["n_failed"] == 1 and summary["failures"][0]["input"].startswith("I-")
    assert len(list(out.rglob("*"))) >= 5  # json, report, worklists, summary were all scanned
    assert leaks(out, secrets) == []
    # control (in process, cheaper): the normal mode writes them, and the scanner sees them
    normal = tmp_path / "normal"
    CliRunner().invoke(app, ["analyze", str(root / "in"), "--model", str(model), "--out", str(normal),
                             "--workers", "1", "--no-reports"])
    found = "\n".join(leaks(normal, secrets))
    assert PATIENT_ID in found and str(study.resolve()) in found


def test_predict_no_phi_hashes_manifest_ids(tmp_path):
    from osteoscan.simulate.writer import write_cohort

    manifest = write_cohort(tmp_path / "data", 2, seed=5, sites=("site_a",))
    model = fx.save_tiny(tmp_path / "model")
    rows = list(csv.DictReader(manifest.open()))
    secrets = [v for r in rows for v in (r["patient_id"], r["study_id"], r["image"])]
    secrets.append(str(manifest.parent.resolve()))
    out = tmp_path / "out"
    proc = _run("predict", model, manifest, "--output", out / "predictions.csv", "--no-phi")
    assert proc.returncode == 0, proc.stderr
    got = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(got) == len(rows) and all(r["study_id"].startswith("S-") for r in got)
    assert leaks(out, secrets) == []
    normal = tmp_path / "normal.csv"
    assert CliRunner().invoke(app, ["predict", str(model), str(manifest), "--output", str(normal)]).exit_code == 0
    assert rows[0]["study_id"] in normal.read_text()


def test_evaluate_writes_no_study_ids_and_no_phi_drops_the_path(tmp_path):
    rng = __import__("numpy").random.default_rng(0)
    folder = tmp_path / "Doe_Jane_MRN-9911223"
    folder.mkdir()
    lines = ["study_id,patient_id,label,prob_metastasis"]
    for i in range(30):
        label = "metastasis" if i % 2 else "normal"
        lines.append(f"STUDY-ZX{i:03d},MRN-QX{i:03d},{label},{rng.uniform(0.3 * (i % 2), 1):.4f}")
    preds = folder / "predictions.csv"
    preds.write_text("\n".join(lines) + "\n")
    ids = [f"STUDY-ZX{i:03d}" for i in range(30)] + [f"MRN-QX{i:03d}" for i in range(30)]
    for flag, out in (([], tmp_path / "normal"), (["--no-phi"], tmp_path / "nophi")):
        proc = _run("evaluate", preds, "--out", out, "--bootstrap", "20", *flag)
        assert proc.returncode == 0, proc.stderr
        assert leaks(out, ids) == []  # aggregate figures only, in both modes
    assert leaks(tmp_path / "normal", [str(folder)])  # control: the path as given
    assert leaks(tmp_path / "nophi", [str(folder), folder.name]) == []
