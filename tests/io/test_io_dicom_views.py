"""View words (AP/PA, detector-level text) and MONOCHROME1 pixels in DICOM files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from osteoscan.io import load_study
from osteoscan.io.dicomviews import view_from_words

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe, write_nm_single, write_sc  # noqa: E402

ROWS, COLS = 256, 64
UID = "1.2.826.0.1.3680043.8.498.77"


@pytest.fixture(scope="module")
def ph():
    return phantom(ROWS, COLS, total_counts=2e5, seed=5)


def _edit(path: Path, **attrs) -> Path:
    ds = pydicom.dcmread(path)
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.save_as(path)
    return path


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("WB AP", "anterior"),
        ("wb pa", "posterior"),
        ("Whole body PA 15cm/min", "posterior"),
        ("AP_WB", "anterior"),
        ("Post", "posterior"),
        ("AP/PA", None),  # both views named
        ("ANT POST", None),
        ("MAP APEX PAN SPAIN", None),  # AP/PA only as whole tokens
        ("", None),
    ],
)
def test_view_words(text, view):
    assert view_from_words(text) == view


def test_ap_pa_series_descriptions_split_files(tmp_path, ph):
    folder = tmp_path / "s"
    write_nm_single(folder / "1.dcm", ph.posterior, series_description="WB PA", study_uid=UID)
    write_nm_single(folder / "2.dcm", ph.anterior, series_description="wb ap", study_uid=UID)
    scan = load_study(folder)
    assert [v.view for v in scan.views] == ["anterior", "posterior"]
    assert [v.rule for v in scan.views] == ["keyword", "keyword"]
    assert '"wb ap"' in scan.views[0].detail
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    np.testing.assert_array_equal(scan.posterior, ph.posterior[:, ::-1])


@pytest.mark.parametrize("posterior_first", [False, True])
def test_detector_item_text_names_the_views(tmp_path, ph, posterior_first):
    frames = [ph.posterior, ph.anterior] if posterior_first else [ph.anterior, ph.posterior]
    names = ["DET1 POST", "DET2 ANT"] if posterior_first else ["Det 1 ANT", "Det 2 PA"]
    path = write_nm_multiframe(tmp_path / "wb.dcm", frames, [None, None])
    ds = pydicom.dcmread(path)
    for item, name in zip(ds.DetectorInformationSequence, names, strict=True):
        item.DetectorDescription = name
    ds.save_as(path)
    scan = load_study(path)
    assert [v.rule for v in scan.views] == ["keyword", "keyword"]
    assert "DetectorInformationSequence item DetectorDescription" in scan.views[0].detail
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    np.testing.assert_array_equal(scan.posterior, ph.posterior[:, ::-1])


def test_top_level_words_do_not_label_a_two_frame_file(tmp_path, ph):
    """SeriesDescription "WB ANT" on a two-frame object cannot say which frame: pixel rule."""
    path = write_nm_multiframe(
        tmp_path / "wb.dcm",
        [ph.posterior, ph.anterior],
        [None, None],
        extra={"SeriesDescription": "WB ANT"},
    )
    scan = load_study(path)
    assert scan.views[0].rule == "pixels"
    np.testing.assert_array_equal(scan.anterior, ph.anterior)


def test_nm_monochrome1_counts_are_kept(tmp_path, ph):
    """MONOCHROME1 only changes the display: counts on a zero background stay counts."""
    path = write_nm_single(tmp_path / "m.dcm", ph.anterior, view="anterior")
    path = _edit(path, PhotometricInterpretation="MONOCHROME1")
    scan = load_study(path)
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    assert any("MONOCHROME1 ignored" in n for n in scan.source.notes)
    assert scan.acquisition.total_counts[0] == pytest.approx(float(ph.anterior.sum()))


def test_nm_monochrome1_inverted_values_become_counts(tmp_path, ph):
    stored = (65535 - ph.anterior.astype(np.int64)).astype(np.uint16)  # bright background
    path = write_nm_single(tmp_path / "m.dcm", stored, view="anterior")
    path = _edit(path, PhotometricInterpretation="MONOCHROME1")
    scan = load_study(path)
    np.testing.assert_array_equal(scan.anterior, ph.anterior)
    assert any("values inverted" in n for n in scan.source.notes)


def test_sc_monochrome1_is_read_as_displayed(tmp_path, ph):
    """An 8-bit screenshot stored MONOCHROME1 reads as the same picture stored MONOCHROME2."""
    shown = (255.0 * ph.anterior / ph.anterior.max()).astype(np.uint8)  # bright uptake
    plain = load_study(write_sc(tmp_path / "m2.dcm", shown))
    path = write_sc(tmp_path / "m1.dcm", 255 - shown)
    path = _edit(path, PhotometricInterpretation="MONOCHROME1")
    scan = load_study(path)
    np.testing.assert_array_equal(scan.anterior, plain.anterior)
    assert any(n.startswith("MONOCHROME1: values inverted") for n in scan.source.notes)
    assert not any("inverted display" in n for n in scan.source.notes)
    as_m2 = load_study(_edit(path, PhotometricInterpretation="MONOCHROME2"))
    assert any("inverted display" in n for n in as_m2.source.notes)  # the guess had to undo it


@pytest.mark.parametrize("code, view", [("399321004", "anterior"), ("399001007", "posterior"),
                                        ("399348003", "anterior"), ("R-10214", "posterior")])
def test_cid26_projection_codes_name_the_view_without_a_meaning(code, view):
    """CID 26's "Anterior projection" / "Posterior projection" (SCT 399321004 / 399001007), as
    some vendors write them, are read from the code value alone (a meaning in another language
    or none at all must not hide the view)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from osteoscan.io.dicomviews import view_from_code

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "SCT", "Projection"
    ds = Dataset()
    ds.ViewCodeSequence = Sequence([item])
    found = view_from_code(ds)
    assert found is not None and found[0] == view
