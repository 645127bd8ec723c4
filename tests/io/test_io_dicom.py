"""load_study on NM DICOM files built in tmp_path, in every style a site writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from osteoscan.errors import InputError
from osteoscan.io import load_study

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import (  # noqa: E402
    phantom,
    write_nm_multiframe,
    write_nm_single,
    write_sc,
)

ROWS, COLS = 256, 64


@pytest.fixture(scope="module")
def ph():
    return phantom(ROWS, COLS, total_counts=2e5, seed=3)


def _marker_side(img: np.ndarray, ph) -> int:
    """Column of the brightest pixel near the marker row (upper trunk)."""
    r = ph.marker_rc[0]
    band = img[r - 3 : r + 4]
    return int(np.unravel_index(np.argmax(band), band.shape)[1])


def _assert_views_right(scan, ph) -> None:
    np.testing.assert_array_equal(scan.anterior, ph.anterior.astype(np.float32))
    np.testing.assert_array_equal(scan.posterior, ph.posterior[:, ::-1].astype(np.float32))
    assert scan.views[0].view == "anterior" and scan.views[1].view == "posterior"
    # the right-side marker sits on the same (low-column) side in both stored views
    assert _marker_side(scan.anterior, ph) < COLS // 2
    assert _marker_side(scan.posterior, ph) < COLS // 2


@pytest.mark.parametrize("order", [("anterior", "posterior"), ("posterior", "anterior")])
@pytest.mark.parametrize("sct", [False, True])
def test_multiframe_view_codes_any_order(tmp_path, ph, order, sct):
    frames = [ph.anterior if v == "anterior" else ph.posterior for v in order]
    path = write_nm_multiframe(tmp_path / "wb.dcm", frames, list(order), sct_codes=sct)
    scan = load_study(path)
    _assert_views_right(scan, ph)
    assert [v.rule for v in scan.views] == ["view_code", "view_code"]
    assert scan.views[0].confidence == 1.0
    assert scan.views[1].frame == order.index("posterior")
    assert scan.spacing_mm == (2.4, 2.4)
    assert scan.acquisition.total_counts == (float(ph.anterior.sum()), float(ph.posterior.sum()))
    assert scan.acquisition.scan_length_mm == 1780
    assert scan.acquisition.injected_mbq == 740
    assert scan.acquisition.radiopharmaceutical == "Tc99m MDP"
    assert scan.source.format == "dicom-nm" and scan.source.vendor == "OsteoscanTest"
    assert scan.posterior_mirrored


@pytest.mark.parametrize("posterior_first", [True, False])
def test_multiframe_without_view_tags_uses_pixels(tmp_path, ph, posterior_first):
    frames = [ph.posterior, ph.anterior] if posterior_first else [ph.anterior, ph.posterior]
    scan = load_study(write_nm_multiframe(tmp_path / "wb.dcm", frames, [None, None]))
    _assert_views_right(scan, ph)
    assert {v.rule for v in scan.views} == {"pixels"}
    assert 0.6 < scan.views[0].confidence <= 0.75
    assert "spine/kidney" in scan.views[0].detail


def test_one_view_code_completes_the_pair(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "wb.dcm", [ph.posterior, ph.anterior], ["posterior", None]
    )
    scan = load_study(path)
    _assert_views_right(scan, ph)
    assert scan.views[0].rule == "view_code" and scan.views[0].confidence < 1.0
    assert "other view" in scan.views[0].detail


def test_split_single_frame_files_by_series_description(tmp_path, ph):
    uid = "1.2.826.0.1.3680043.8.498.1"
    write_nm_single(
        tmp_path / "s" / "a1.dcm", ph.posterior, series_description="WB POST", study_uid=uid
    )
    write_nm_single(
        tmp_path / "s" / "b2.dcm", ph.anterior, series_description="wb ant", study_uid=uid
    )
    scan = load_study(tmp_path / "s")
    _assert_views_right(scan, ph)
    assert [v.rule for v in scan.views] == ["keyword", "keyword"]
    assert "SeriesDescription" in scan.views[1].detail
    assert scan.study_id == uid and len(scan.source.files) == 2


def test_split_files_without_tags_use_pixels(tmp_path, ph):
    uid = "1.2.826.0.1.3680043.8.498.2"
    write_nm_single(tmp_path / "s" / "1.dcm", ph.posterior, study_uid=uid)
    write_nm_single(tmp_path / "s" / "2.dcm", ph.anterior, study_uid=uid)
    scan = load_study(tmp_path / "s")
    _assert_views_right(scan, ph)
    assert scan.views[0].rule == "pixels"


def test_keywords_are_whole_tokens(tmp_path, ph):
    # "POSTPROCESSED" and "ANTIMONY" are not view words; single unlabelled view -> single_view
    path = write_nm_single(
        tmp_path / "x.dcm", ph.anterior, series_description="POSTPROCESSED ANTIMONY"
    )
    scan = load_study(path)
    assert scan.views[0].rule == "single_view" and scan.views[0].confidence < 0.5
    assert scan.posterior is None


def test_single_posterior_view_is_mirrored(tmp_path, ph):
    scan = load_study(
        write_nm_single(tmp_path / "p.dcm", ph.posterior, series_description="WB POST")
    )
    assert scan.views[0].view == "posterior" and scan.posterior is None
    np.testing.assert_array_equal(scan.anterior, ph.posterior[:, ::-1])


def test_folder_with_two_studies_needs_study_id(tmp_path, ph):
    write_nm_multiframe(
        tmp_path / "a.dcm",
        [ph.anterior, ph.posterior],
        ["anterior", "posterior"],
        study_uid="1.2.3",
    )
    write_nm_multiframe(
        tmp_path / "b.dcm",
        [ph.anterior, ph.posterior],
        ["anterior", "posterior"],
        study_uid="1.2.4",
    )
    with pytest.raises(InputError, match="2 studies"):
        load_study(tmp_path)
    assert load_study(tmp_path, study_id="1.2.4").source.files[0].endswith("b.dcm")


def test_caller_ids_override_tags(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "a.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    scan = load_study(path, patient_id="X9", study_id="S9")
    assert (scan.patient_id, scan.study_id) == ("X9", "S9")


def test_content_not_extension(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "scan.png", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    assert load_study(path).source.format == "dicom-nm"


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    "syntax, module",
    [(RLELossless, "pydicom"), (JPEGLSLossless, "jpeg_ls"), (JPEG2000Lossless, "openjpeg")],
)
def test_compressed_multiframe_round_trips(tmp_path, ph, syntax, module):
    if not _has(module):
        pytest.skip(f"{module} not installed")
    frames = [ph.posterior, ph.anterior]
    path = write_nm_multiframe(
        tmp_path / "c.dcm", frames, ["posterior", "anterior"], transfer_syntax=syntax
    )
    scan = load_study(path)
    _assert_views_right(scan, ph)
    assert scan.meta["transfer_syntax"] == str(syntax)


def test_secondary_capture_grey_16bit(tmp_path, ph):
    scan = load_study(write_sc(tmp_path / "sc.dcm", ph.anterior))
    assert scan.source.format == "dicom-sc"
    np.testing.assert_array_equal(scan.anterior, ph.anterior)


def test_pixel_rule_works_without_a_bladder(tmp_path):
    """Spine/kidney contrast alone decides when the bladder is empty."""
    import dicom_factory

    weights = dict(dicom_factory._WEIGHTS)
    try:
        dicom_factory._WEIGHTS["bladder"] = (0.0, 0.0)
        ph = phantom(ROWS, COLS, total_counts=2e5, seed=4)
    finally:
        dicom_factory._WEIGHTS.clear()
        dicom_factory._WEIGHTS.update(weights)
    scan = load_study(
        write_nm_multiframe(tmp_path / "wb.dcm", [ph.posterior, ph.anterior], [None, None])
    )
    assert scan.views[1].frame == 0 and scan.views[1].rule == "pixels"


def test_code_meaning_without_code_value(tmp_path, ph):
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    path = write_nm_multiframe(tmp_path / "m.dcm", [ph.posterior, ph.anterior], [None, None])
    ds = pydicom.dcmread(path)
    for item, meaning in zip(
        ds.DetectorInformationSequence, ("Postero-Anterior", "antero-posterior"), strict=True
    ):
        code = Dataset()
        code.CodeMeaning = meaning
        item.ViewCodeSequence = Sequence([code])
    ds.save_as(path)
    scan = load_study(path)
    _assert_views_right(scan, ph)
    assert scan.views[0].rule == "view_code" and "antero-posterior" in scan.views[0].detail


def test_detector_items_without_detector_vector(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "v.dcm", [ph.posterior, ph.anterior], ["posterior", "anterior"]
    )
    ds = pydicom.dcmread(path)
    del ds.DetectorVector
    ds.save_as(path)
    _assert_views_right(load_study(path), ph)


def test_detector_vector_maps_frames_to_items(tmp_path, ph):
    # items listed (anterior, posterior) but frame 0 comes from detector 2
    path = write_nm_multiframe(
        tmp_path / "d.dcm", [ph.posterior, ph.anterior], ["anterior", "posterior"]
    )
    ds = pydicom.dcmread(path)
    ds.DetectorVector = [2, 1]
    ds.save_as(path)
    _assert_views_right(load_study(path), ph)


def test_file_without_preamble(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "raw", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    ds = pydicom.dcmread(path)
    ds.preamble = None
    raw = tmp_path / "raw_no_preamble"
    pydicom.dcmwrite(raw, ds, enforce_file_format=False)
    assert raw.read_bytes()[128:132] != b"DICM"
    _assert_views_right(load_study(raw), ph)


def test_secondary_capture_next_to_nm_is_ignored(tmp_path, ph):
    uid = "1.2.826.0.1.3680043.8.498.9"
    write_nm_multiframe(
        tmp_path / "s" / "wb.dcm",
        [ph.anterior, ph.posterior],
        ["anterior", "posterior"],
        study_uid=uid,
    )
    write_sc(
        tmp_path / "s" / "shot.dcm", np.clip(ph.anterior, 0, 255).astype(np.uint8), study_uid=uid
    )
    scan = load_study(tmp_path / "s")
    _assert_views_right(scan, ph)
    assert [(Path(f).name, why) for f, why in scan.source.skipped] == [
        ("shot.dcm", "Secondary Capture beside NM images: not used")
    ]


def test_dose_in_bq_is_converted(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "bq.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    ds = pydicom.dcmread(path)
    ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = 7.4e8
    ds.save_as(path)
    scan = load_study(path)
    assert scan.acquisition.injected_mbq == pytest.approx(740.0)
    assert any("read as Bq" in n for n in scan.source.notes)
