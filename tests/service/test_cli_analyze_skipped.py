"""Files of a study folder that were not used are listed by ``osteoscan analyze`` (issue 13):
printed with their reason, kept in the study's JSON and shown in its report. They are not
failed studies: the exit code stays 0 when every study was analysed (docs/cli.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .conftest import fx, run_osteoscan

sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
from dicom_factory import phantom, write_nm_multiframe  # noqa: E402


def test_truncated_copy_and_empty_file_are_listed_with_their_reason(tmp_path):
    ph = phantom(128, 32, total_counts=5e4, seed=3)
    study = tmp_path / "study"
    study.mkdir()
    good = write_nm_multiframe(study / "b_good.dcm", [ph.anterior, ph.posterior],
                               ["anterior", "posterior"], study_uid="1.2.826.0.1.3680043.8.498.5")
    data = good.read_bytes()
    (study / "a_cut.dcm").write_bytes(data[: len(data) - 3000])
    (study / "zero.dcm").write_bytes(b"")
    model = fx.save_tiny(tmp_path / "model")
    out = tmp_path / "out"
    res = run_osteoscan("analyze", study, "--model", model, "--out", out, "--workers", 1,
                        "--no-lesions")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("skipped ")]
    assert len(lines) == 2, res.stderr
    assert any("a_cut.dcm" in ln and "pixel data holds" in ln for ln in lines)
    assert any("zero.dcm" in ln and "empty file" in ln for ln in lines)
    record = json.loads(next((out / "studies").glob("*.json")).read_text())
    assert sorted(Path(f).name for f, _ in record["source"]["skipped"]) == ["a_cut.dcm", "zero.dcm"]
    report = next((out / "reports").glob("*.html")).read_text()
    assert "Files not used" in report and "a_cut.dcm" in report
