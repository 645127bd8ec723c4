"""osteoscan.io.deid: the PS3.15 basic profile removes PHI, keeps pixels, studies and inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from osteoscan import load_study
from osteoscan.io.deid import Deidentifier
from tests._phi_fixtures import DATES, NAMES, PATIENT_ID, PHI, write_phi_study
from tests.io.dicom_factory import phantom, write_nm_multiframe, write_nm_single

SECRETS = [*PHI.values(), PATIENT_ID, *NAMES, *DATES]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _phi_file(path: Path) -> Path:
    return write_phi_study(path)


def _all_text(ds: Dataset) -> str:
    parts: list[str] = []

    def visit(d: Dataset, elem) -> None:
        if elem.tag != 0x7FE00010:  # pixel data
            parts.append(str(elem.value))

    ds.walk(visit)
    ds.file_meta.walk(visit)
    return "\n".join(parts)


def test_basic_profile_removes_phi_and_keeps_pixels_and_input(tmp_path):
    src = _phi_file(tmp_path / "in" / "Doe_Jane" / "wb.dcm")
    before = _sha(src)
    report = Deidentifier().files([tmp_path / "in"], tmp_path / "out")
    assert not report.failed and len(report.written) == 1
    dst = report.written[0][1]
    assert _sha(src) == before  # the input is untouched
    assert "Doe" not in str(dst.relative_to(tmp_path))  # no input name in the output path
    out = pydicom.dcmread(dst)
    text = _all_text(out)
    for secret in SECRETS:
        assert secret not in text, secret
    assert not any(e.tag.is_private for e in out.iterall())
    orig = pydicom.dcmread(src)
    assert out.StudyInstanceUID != orig.StudyInstanceUID
    assert out.SOPInstanceUID != orig.SOPInstanceUID == orig.file_meta.MediaStorageSOPInstanceUID
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert out.DeidentificationMethodCodeSequence[0].CodingSchemeDesignator == "DCM"
    assert out.PixelData == orig.PixelData
    a, b = load_study(src), load_study(dst)
    np.testing.assert_array_equal(a.anterior, b.anterior)
    np.testing.assert_array_equal(a.posterior, b.posterior)
    assert [v.view for v in b.views] == ["anterior", "posterior"]


def test_uids_and_patients_stay_grouped_within_a_run(tmp_path):
    ph = phantom(256, 64, seed=1)
    s1, s2 = generate_uid(), generate_uid()
    write_nm_single(tmp_path / "in" / "a_ant.dcm", ph.anterior, view="anterior", study_uid=s1,
                    patient_id="PAT-A")
    write_nm_single(tmp_path / "in" / "a_post.dcm", ph.posterior, view="posterior", study_uid=s1,
                    patient_id="PAT-A")
    write_nm_single(tmp_path / "in" / "b_ant.dcm", ph.anterior, view="anterior", study_uid=s2,
                    patient_id="PAT-B")
    report = Deidentifier().files([tmp_path / "in"], tmp_path / "out")
    by_name = {src.name: pydicom.dcmread(dst) for src, dst in report.written}
    assert by_name["a_ant.dcm"].StudyInstanceUID == by_name["a_post.dcm"].StudyInstanceUID
    assert by_name["a_ant.dcm"].StudyInstanceUID != by_name["b_ant.dcm"].StudyInstanceUID
    assert by_name["a_ant.dcm"].PatientID == by_name["a_post.dcm"].PatientID != "PAT-A"
    assert by_name["a_ant.dcm"].PatientID != by_name["b_ant.dcm"].PatientID
    study = load_study(report.written[0][1].parent)  # the two views are still one study
    assert study.has_both_views
    np.testing.assert_array_equal(study.anterior, load_study(tmp_path / "in" / "a_ant.dcm").anterior)
    # a second run draws new UIDs: nothing links its outputs to the first run's
    again = Deidentifier().files([tmp_path / "in" / "a_ant.dcm"], tmp_path / "out2")
    assert pydicom.dcmread(again.written[0][1]).StudyInstanceUID != by_name["a_ant.dcm"].StudyInstanceUID


@pytest.mark.parametrize("keep", [False, True])
def test_burned_in_annotation_is_skipped_unless_asked(tmp_path, keep):
    ph = phantom(128, 32)
    src = write_nm_single(tmp_path / "in" / "burned.dcm", ph.anterior, view="anterior",
                          extra={"BurnedInAnnotation": "YES"})
    report = Deidentifier(keep_burned_in=keep).files([src], tmp_path / "out")
    assert report.burned_in == [src]
    if keep:
        assert pydicom.dcmread(report.written[0][1]).PatientIdentityRemoved == "NO"
    else:
        assert not report.written and report.skipped[0][0] == src


def test_bad_file_is_listed_and_the_others_are_written(tmp_path):
    ph = phantom(128, 32)
    good = write_nm_single(tmp_path / "in" / "good.dcm", ph.anterior, view="anterior")
    (tmp_path / "in" / "bad.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"garbage" * 10)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    report = Deidentifier().files([tmp_path / "in"], tmp_path / "out")
    assert [s for s, _ in report.written] == [good]
    assert [s.name for s, _ in report.failed] == ["bad.dcm"]
    assert [s.name for s, _ in report.skipped] == ["notes.txt"]


def test_output_inside_an_input_folder_is_refused(tmp_path):
    from osteoscan.errors import InputError

    (tmp_path / "in").mkdir()
    with pytest.raises(InputError, match="inside"):
        Deidentifier().files([tmp_path / "in"], tmp_path / "in" / "out")


def test_deid_and_redact_do_not_import_torch(tmp_path):
    import subprocess
    import sys

    src = write_nm_single(tmp_path / "a.dcm", phantom(64, 16).anterior, view="anterior")
    code = ("import sys; from osteoscan.io.deid import Deidentifier; import osteoscan.io.redact; "
            f"r = Deidentifier().files([{str(src)!r}], {str(tmp_path / 'out')!r}); "
            "assert len(r.written) == 1; assert 'torch' not in sys.modules, 'torch imported'")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_compressed_pixel_data_is_kept_byte_for_byte(tmp_path):
    from pydicom.uid import RLELossless

    ph = phantom(128, 32)
    src = write_nm_multiframe(tmp_path / "rle.dcm", [ph.anterior, ph.posterior],
                              ["anterior", "posterior"], transfer_syntax=RLELossless)
    dst = Deidentifier().file(src, tmp_path / "out")
    a, b = pydicom.dcmread(src), pydicom.dcmread(dst)
    assert b.file_meta.TransferSyntaxUID == RLELossless
    assert a.PixelData == b.PixelData


def test_real_vendor_file_nema_nm1_keeps_its_pixels(tmp_path):
    """The NEMA WG04 NM1 whole body (GE, JPEG lossless) from pydicom-data, as a site sends it."""
    from pydicom import data as pdata

    found = pdata.get_testdata_file("JPEG-LL.dcm")
    if found is None or "NM1" not in str(pydicom.dcmread(found, stop_before_pixels=True).PatientName):
        pytest.skip("the NEMA NM1 sample is not in this pydicom-data")
    src = Path(found)
    dst = Deidentifier().file(src, tmp_path / "out")
    out = pydicom.dcmread(dst)
    assert "NM1" not in str(out.PatientName) and out.PatientIdentityRemoved == "YES"
    assert out.PixelData == pydicom.dcmread(src).PixelData
    np.testing.assert_array_equal(load_study(dst).anterior, load_study(src).anterior)


def test_file_without_meta_header_is_written_as_a_proper_dicom_file(tmp_path):
    ph = phantom(128, 32)
    src = write_nm_single(tmp_path / "raw.dcm", ph.anterior, view="anterior", patient_id=PATIENT_ID)
    ds = pydicom.dcmread(src)
    del ds.file_meta
    ds.preamble = None
    ds.save_as(src, implicit_vr=True, little_endian=True)  # no preamble, no meta: old archives
    dst = Deidentifier().file(src, tmp_path / "out")
    out = pydicom.dcmread(dst)  # without force: a Part 10 file now
    assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert PATIENT_ID not in _all_text(out)
    assert out.PixelData == ds.PixelData
    np.testing.assert_array_equal(load_study(dst).anterior, ph.anterior)


def test_link_table_cells_are_neutralised_against_formula_injection(tmp_path):
    src = write_nm_single(tmp_path / "a.dcm", phantom(64, 16).anterior, view="anterior",
                          patient_id="=HYPERLINK(\"http://x\")")
    run = Deidentifier()
    run.files([src], tmp_path / "out")
    text = run.write_links(tmp_path / "links.csv").read_text()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
