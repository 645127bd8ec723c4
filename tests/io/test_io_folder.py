"""Folders with stray, empty, damaged or foreign files: load what can be loaded, list the rest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from osteoscan.errors import InputError
from osteoscan.io import load_studies, load_study
from osteoscan.io.dataset import build_manifest
from osteoscan.io.study import study_files

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe, write_nm_single  # noqa: E402

UID = "1.2.826.0.1.3680043.8.498.77"


@pytest.fixture(scope="module")
def ph():
    return phantom(128, 32, total_counts=5e4, seed=11)


def _pair(folder: Path, ph, uid: str = UID) -> None:
    write_nm_single(folder / "ant.dcm", ph.anterior, view="anterior", study_uid=uid)
    write_nm_single(folder / "post.dcm", ph.posterior, view="posterior", study_uid=uid)


def _skipped(scan) -> dict[str, str]:
    return {Path(f).name: why for f, why in scan.source.skipped}


def test_garbage_and_empty_files_beside_a_pair_are_listed_not_fatal(tmp_path, ph):
    _pair(tmp_path, ph)
    (tmp_path / "junk.dcm").write_bytes(b"garbage" * 50)
    (tmp_path / "zero.dcm").write_bytes(b"")
    (tmp_path / "README.txt").write_text("exported by a PACS")
    scan = load_study(tmp_path)
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    skipped = _skipped(scan)
    assert set(skipped) == {"junk.dcm", "zero.dcm", "README.txt"}
    assert skipped["zero.dcm"] == "empty file"
    assert skipped["junk.dcm"].startswith("not ")
    assert skipped["README.txt"] == "neither DICOM nor a PNG/JPEG/TIFF picture"


def test_truncated_copy_sharing_the_uids_never_displaces_the_readable_file(tmp_path, ph):
    good = write_nm_multiframe(
        tmp_path / "b_good.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"],
        study_uid=UID,
    )
    data = good.read_bytes()
    (tmp_path / "a_cut.dcm").write_bytes(data[: len(data) - 3000])  # sorts first
    scan = load_study(tmp_path)
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    assert [Path(f).name for f in scan.source.files] == ["b_good.dcm"]
    assert "pixel data holds" in _skipped(scan)["a_cut.dcm"]


def test_exact_copy_is_listed_as_a_copy(tmp_path, ph):
    good = write_nm_multiframe(
        tmp_path / "a.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"], study_uid=UID
    )
    (tmp_path / "b.dcm").write_bytes(good.read_bytes())
    scan = load_study(tmp_path)
    assert _skipped(scan) == {"b.dcm": "same SOPInstanceUID as a.dcm: a copy"}


def test_zero_byte_dcm_is_a_study_file_so_batches_list_it(tmp_path, ph):
    _pair(tmp_path, ph)
    (tmp_path / "zero.dcm").write_bytes(b"")
    assert "zero.dcm" in [p.name for p in study_files(tmp_path)]
    with pytest.raises(InputError, match="zero.dcm: empty file"):
        load_study(tmp_path / "zero.dcm")


def test_several_studies_load_what_they_can_and_list_the_rest(tmp_path, ph):
    _pair(tmp_path / "one", ph, uid=UID + ".1")
    _pair(tmp_path / "two", ph, uid=UID + ".2")
    write_nm_single(tmp_path / "three" / "lonely.dcm", ph.anterior, study_uid=UID + ".3",
                    extra={"PixelSpacing": ["inf", "inf"]})
    (tmp_path / "zero.dcm").write_bytes(b"")
    got = load_studies(tmp_path)
    assert sorted(s.study_id for s in got.scans) == [UID + ".1", UID + ".2"]
    reasons = {Path(s.file).name: s.reason for s in got.skipped}
    assert reasons["zero.dcm"] == "empty file"
    assert "PixelSpacing inf x inf" in reasons["lonely.dcm"]
    with pytest.raises(InputError, match="2 studies .StudyInstanceUID"):
        load_study(tmp_path / "one" / "..", study_id=None)
    picked = load_study(tmp_path, study_id=UID + ".2")
    assert picked.study_id == UID + ".2"
    assert _skipped(picked)["ant.dcm"].startswith("another study")


def test_a_study_that_fails_lists_each_of_its_files(tmp_path, ph):
    write_nm_single(tmp_path / "a.dcm", ph.anterior, study_uid=UID)
    write_nm_single(tmp_path / "b.dcm", ph.anterior, study_uid=UID)
    write_nm_single(tmp_path / "c.dcm", ph.anterior, study_uid=UID)  # 3 unlabelled views
    got = load_studies(tmp_path)
    assert got.scans == []
    assert sorted(Path(s.file).name for s in got.skipped) == ["a.dcm", "b.dcm", "c.dcm"]
    assert all("without view information" in s.reason for s in got.skipped)


def test_dataset_build_lists_empty_and_unreadable_files(tmp_path, ph):
    data = tmp_path / "data"
    _pair(data / "s1", ph)
    (data / "zero.dcm").write_bytes(b"")
    (data / "junk.dcm").write_bytes(b"garbage" * 50)
    table, skipped = build_manifest(data, tmp_path / "manifest.csv")
    assert len(table) == 1 and table.loc[0, "n_files"] == 2
    assert {p.name for p, _ in skipped} == {"zero.dcm", "junk.dcm"}


def test_copy_with_an_unknown_vr_in_its_sop_instance_uid_is_listed(tmp_path, ph):
    """Found by benchmarks/bench_fuzz.py: the SOPInstanceUID of a damaged copy was read
    outside the reader boundary and pydicom's NotImplementedError escaped."""
    _pair(tmp_path, ph)
    data = (tmp_path / "ant.dcm").read_bytes()
    at = data.index(b"\x08\x00\x18\x00UI")  # (0008,0018) SOPInstanceUID
    (tmp_path / "zz_copy.dcm").write_bytes(data[: at + 4] + b"Us" + data[at + 6 :])
    scan = load_study(tmp_path)
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    assert "Unknown Value Representation 'Us'" in _skipped(scan)["zz_copy.dcm"]
