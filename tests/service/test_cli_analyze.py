"""``osteoscan analyze`` end to end on simulated DICOM: outputs, bad studies, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteoscan.service.cli import app

from .conftest import fx


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.writer import write_cohort

    root = tmp_path_factory.mktemp("cohort")
    manifest = write_cohort(root / "data", 3, seed=5, sites=("site_a", "site_c"))
    model = fx.save_tiny(root / "model")
    return manifest, model


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_analyze_manifest_and_a_bad_file_exits_1_and_lists_it(cohort, tmp_path):
    manifest, model = cohort
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"DICM" + b"\0" * 50)
    before = _snapshot(manifest.parent)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["analyze", str(manifest), str(bad), "--model", str(model),
                                   "--out", str(out), "--workers", "1"])
    assert res.exit_code == 1, res.output
    assert "broken" in res.output
    assert _snapshot(manifest.parent) == before  # inputs untouched
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert len(rows) == 3
    probs = [float(r["probability"]) for r in rows]
    assert probs == sorted(probs, reverse=True)
    for r in rows:
        rec = json.loads((out / r["json"]).read_text())
        assert rec["schema"] == "osteoscan.analyze/1" and rec["study_id"] == r["study_id"]
        assert rec["views"][0]["view"] == "anterior" and rec["views"][0]["rule"]
        assert set(rec["gradcam"]["peaks"]) == {"anterior", "posterior"}
        html = (out / r["report"]).read_text()
        assert "Research use only" in html and r["study_id"] in html
    summary = json.loads((out / "analysis.json").read_text())
    assert summary["n_ok"] == 3 and summary["n_failed"] == 1
    assert "broken.dcm" in summary["failures"][0]["input"]
    assert not list(out.rglob("*.tmp"))


def test_analyze_with_two_worker_processes_matches_in_process_predictor(cohort, tmp_path):
    from osteoscan.inference import Predictor
    from osteoscan.io import load_study

    manifest, model = cohort
    data_dir = manifest.parent / "dicom"
    res = CliRunner().invoke(app, ["analyze", str(data_dir), "--model", str(model),
                                   "--out", str(tmp_path / "w2"), "--workers", "2", "--no-reports"])
    assert res.exit_code == 0, res.output
    got = {r["study_id"]: float(r["probability"]) for r in csv.DictReader((tmp_path / "w2" / "worklist.csv").open())}
    assert json.loads((tmp_path / "w2" / "analysis.json").read_text())["workers"] == 2
    pred = Predictor.from_path(model, lesions=False)
    want = {s.study_id: pred.predict(s).probability for s in map(load_study, sorted(data_dir.rglob("*.dcm")))}
    assert got.keys() == want.keys() and len(got) == 3
    for k in got:
        assert got[k] == pytest.approx(want[k], abs=1e-5)


def test_missing_input_and_missing_model_are_one_line_errors(tmp_path, monkeypatch):
    from osteoscan.errors import InputError, ModelError
    import osteoscan.artefacts.paths as inf

    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "nope.dcm"), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and isinstance(res.exception, InputError)
    assert "nope.dcm" in str(res.exception)
    monkeypatch.setattr(inf, "REFERENCE_DIR", tmp_path / "none")
    (tmp_path / "x.png").write_bytes(b"")
    res = CliRunner().invoke(app, ["analyze", str(tmp_path / "x.png"), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, ModelError) and "reference model is missing" in str(res.exception)
