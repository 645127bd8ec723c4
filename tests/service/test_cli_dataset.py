"""``osteoscan dataset build`` and ``check`` through the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from osteoscan.service import cli_dataset
from osteoscan.service.cli import app

from .conftest import run_osteoscan

sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
from dicom_factory import phantom, write_nm_multiframe, write_nm_single  # noqa: E402

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    for console in (cli_dataset.console, cli_dataset.out_console):
        monkeypatch.setattr(console, "width", 400)


def _tree(root: Path) -> None:
    a, b, c = (phantom(128, 32, total_counts=5e4, seed=s) for s in (7, 8, 9))
    write_nm_multiframe(
        root / "site1" / "p1.dcm",
        [a.anterior, a.posterior],
        ["anterior", "posterior"],
        patient_id="P1",
        study_uid="1.2.1",
    )
    write_nm_multiframe(
        root / "site1" / "p1b.dcm",
        [b.anterior, b.posterior],
        ["anterior", "posterior"],
        patient_id="P1",
        study_uid="1.2.2",
    )
    for name, img, desc in (
        ("ant.dcm", c.anterior, "WB ANT"),
        ("post.dcm", c.posterior, "WB POST"),
    ):
        write_nm_single(
            root / "site2" / "p2" / name,
            img,
            series_description=desc,
            patient_id="P2",
            study_uid="1.2.3",
        )
    (root / "site2" / "junk.dcm").write_bytes(b"\x00" * 10)


def test_build_then_check(tmp_path):
    root = tmp_path / "data"
    _tree(root)
    result = runner.invoke(app, ["dataset", "build", str(root)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    assert table[["patient_id", "study_id", "image"]].values.tolist() == [
        ["P1", "1.2.1", "site1/p1.dcm"],
        ["P1", "1.2.2", "site1/p1b.dcm"],
        ["P2", "1.2.3", "site2/p2"],
    ]
    assert "3 studies of 2 patients" in " ".join(result.output.split())
    again = runner.invoke(app, ["dataset", "build", str(root)])
    assert again.exit_code != 0 and "--force" in str(again.exception)

    table["label"] = ["metastasis", "", "normal"]
    table["site"] = ["A", "A", "B"]
    table.to_csv(root / "manifest.csv", index=False)
    result = runner.invoke(app, ["dataset", "check", str(root / "manifest.csv")])
    out = " ".join(result.output.split())
    assert result.exit_code == 0, out  # warnings only
    assert "missing label" in out and "patient P1 has 2 studies" in out
    assert "3 rows, 3 loaded, 0 error(s), 1 warning(s)" in out


def test_check_keeps_going_and_finds_duplicates(tmp_path):
    root = tmp_path / "data"
    _tree(root)
    (root / "copy").mkdir()
    (root / "copy" / "same.dcm").write_bytes((root / "site1" / "p1.dcm").read_bytes())
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    rows = [
        "patient_id,study_id,image,label,site",
        "P1,1.2.1,site1/p1.dcm,metastasis,A",
        "P9,S9,missing.dcm,normal,A",
        "P3,S3,bad.png,normal,B",
        "P4,S4,copy/same.dcm,normal,B",
        "P2,1.2.3,site2/p2,oops,B",
    ]
    (root / "m.csv").write_text("\n".join(rows) + "\n")
    result = runner.invoke(
        app, ["dataset", "check", str(root / "m.csv"), "--classes", "normal,metastasis"]
    )
    out = " ".join(result.output.split())
    assert result.exit_code == 1, out
    assert "does not exist" in out and "bad.png: cannot decode image" in out
    assert "duplicate" in out and "as row 2" in out
    assert "unknown label 'oops'" in out
    assert "5 rows, 3 loaded, 4 error(s)" in out


def test_cli_bad_input_is_one_line_without_traceback(tmp_path):
    (tmp_path / "m.csv").write_text("patient_id,image\nP1,a.dcm\n")
    proc = run_osteoscan("dataset", "check", tmp_path / "m.csv", timeout=120)  # the console script
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "m.csv: manifest lacks required column(s) ['study_id']" in " ".join(proc.stderr.split())
