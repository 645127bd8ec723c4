"""The dataset manifest: reading, validation, loading rows, atomic writing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from osteoscan.errors import InputError
from osteoscan.io import read_manifest, write_manifest

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe  # noqa: E402

COLUMNS = "patient_id,study_id,image,label,site,primary,lesion_count,annotations,split,scanner"


@pytest.fixture()
def dataset(tmp_path):
    ph = phantom(128, 32, total_counts=5e4, seed=2)
    root = tmp_path / "data"
    write_nm_multiframe(
        root / "p1" / "wb.dcm", [ph.posterior, ph.anterior], ["posterior", "anterior"]
    )
    write_nm_multiframe(root / "p2" / "wb.dcm", [ph.anterior, ph.posterior], [None, None])
    shapes = [{"label": "met", "points": [[4, 40], [8, 44]], "shape_type": "rectangle"}]
    (root / "p1" / "post.json").write_text(
        json.dumps({"shapes": shapes, "imageHeight": 128, "imageWidth": 32})
    )
    lines = [
        COLUMNS,
        "P1,S1,p1/wb.dcm,metastasis,A,prostate,3,posterior:p1/post.json,train,GE",
        "P2,S2,p2/wb.dcm,normal,B,,0,,test,Siemens",
    ]
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def test_read_and_load_rows(dataset):
    m = read_manifest(dataset / "manifest.csv")
    assert len(m) == 2 and "scanner" in m.frame.columns  # extra columns kept
    scan, label = m.load(0)
    assert (scan.patient_id, scan.study_id) == ("P1", "S1")
    assert label.label == "metastasis" and label.primary == "prostate" and label.lesion_count == 3
    assert label.site == "A"
    (ann,) = label.annotations
    assert ann.view == "posterior" and ann.label == "malignant"
    assert ann.points == ((28.0, 40.0), (24.0, 44.0))  # mirrored: x -> 32 - x
    scan2, label2 = m.load(1)
    assert scan2.views[0].rule == "pixels" and label2.primary is None and label2.annotations == ()
    assert [r["scanner"] for r in m.rows()] == ["GE", "Siemens"]
    assert m.load_scan(0).study_id == "S1"
    with pytest.raises(IndexError):
        m.load(2)


@pytest.mark.parametrize(
    "image, problem",
    [
        ("../outside.dcm", "points outside the manifest folder"),
        ("p9/none.dcm", "does not exist"),
        ("/no/such/abs.dcm", "does not exist"),
    ],
)
def test_bad_paths_name_the_row(dataset, image, problem):
    (dataset.parent / "outside.dcm").write_bytes(b"x")
    text = (dataset / "manifest.csv").read_text().replace("p2/wb.dcm", image)
    (dataset / "manifest.csv").write_text(text)
    with pytest.raises(InputError, match=f"manifest.csv: row 3 \\(image\\): .*{problem}"):
        read_manifest(dataset / "manifest.csv")
    problems = read_manifest(dataset / "manifest.csv", validate=False).validate()
    assert [(p.row, p.column) for p in problems] == [(1, "image")]


def test_missing_columns_and_duplicates(tmp_path):
    (tmp_path / "m.csv").write_text("patient_id,image\nP1,a.dcm\n")
    with pytest.raises(InputError, match=r"lacks required column\(s\) \['study_id'\]"):
        read_manifest(tmp_path / "m.csv")
    (tmp_path / "a.dcm").write_bytes(b"x")
    (tmp_path / "d.csv").write_text(
        "patient_id,study_id,image,label\nP1,S1,a.dcm,\nP2,S1,./a.dcm,x\nP1,S1,a.dcm,y\n"
    )
    problems = read_manifest(tmp_path / "d.csv", validate=False).validate(classes={"x"})
    text = [str(p) for p in problems]
    assert "row 2 (label): missing label" in text
    assert any("row 3 (study_id): study 'S1' also listed under patient 'P1'" in t for t in text)
    assert "row 3 (image): same image as row 2" in text
    assert "row 4 (study_id): duplicate of row 2" in text
    assert any(t.startswith("row 4 (label): unknown label 'y'") for t in text)


def test_write_manifest_is_atomic_and_ordered(tmp_path):
    df = pd.DataFrame({"extra": ["e"], "image": ["a.dcm"], "study_id": ["S"], "patient_id": ["P"]})
    out = write_manifest(df, tmp_path / "m.csv")
    assert out.read_text().splitlines()[0] == "patient_id,study_id,image,extra"
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]  # no temporary left behind
    with pytest.raises(InputError, match="lacks required"):
        write_manifest(df.drop(columns="image"), tmp_path / "n.csv")


def test_absolute_image_paths_are_accepted(dataset):
    """Issue 13 item 6: manifests with absolute image paths were refused."""
    text = (dataset / "manifest.csv").read_text()
    absolute = str((dataset / "p2/wb.dcm").resolve())
    (dataset / "manifest.csv").write_text(text.replace("p2/wb.dcm", absolute))
    m = read_manifest(dataset / "manifest.csv")
    assert m.image_path(1) == Path(absolute) and m.validate() == []
    assert m.load_scan(1).study_id == read_manifest(dataset / "manifest.csv").load_scan(1).study_id


def test_formula_like_ids_round_trip_through_write_manifest(dataset, tmp_path):
    """Issue 13 item 4: ids are neutralised on write and restored on read."""
    m = read_manifest(dataset / "manifest.csv")
    hostile = ["=cmd|' /C calc'!A0", "@SUM(1)"]
    frame = m.frame.copy()
    frame.loc[:1, "patient_id"] = hostile
    out = write_manifest(frame, dataset / "safe.csv")
    raw = out.read_text()
    assert "\n=cmd" not in raw and "'=cmd|" in raw and "'@SUM(1)" in raw
    assert read_manifest(out).frame["patient_id"].tolist()[:2] == hostile
