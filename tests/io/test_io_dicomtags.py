"""The raw-byte header reader gives the values pydicom gives, on many real encodings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

from osteoscan.io import dicomtags as tags

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe  # noqa: E402

PYDICOM_FILES = (
    "rtplan.dcm",  # nested defined/undefined-length sequences
    "rtstruct.dcm",
    "reportsi.dcm",  # structured report: deep sequences
    "nested_priv_SQ.dcm",
    "MR_small_implicit.dcm",  # implicit VR little endian
    "MR_small_bigendian.dcm",  # big endian: pydicom's path
    "CT_small.dcm",
    "reportsi_with_empty_number_tags.dcm",
    "empty_charset_LEI.dcm",
)


def _plain(value):
    """pydicom's value types as plain Python values."""
    if isinstance(value, (MultiValue, list, tuple)) and not isinstance(value, Sequence):
        return [_plain(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return value


def _compare(ours_ds, ref_ds: Dataset, where: str, counter: list[int]) -> None:
    for elem in ref_ds:
        tag = int(elem.tag)
        ours = tags.value(ours_ds, tag)
        if elem.VR == "SQ":
            assert len(ours) == len(elem.value), where
            counter[0] += 1
            for i, (mine, ref) in enumerate(zip(ours, elem.value, strict=True)):
                _compare(mine, ref, f"{where} {elem.keyword}[{i}]", counter)
            continue
        if elem.VR in ("OB", "OW", "UN", "OF", "OD", "OL", "AT"):
            continue  # bytes and tags: not read through the fast path
        assert _plain(ours) == _plain(elem.value), f"{where} {elem.tag} {elem.keyword}"
        counter[0] += 1


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_values_match_pydicom(name):
    path = get_testdata_file(name)
    ours, ref = pydicom.dcmread(path, force=True), pydicom.dcmread(path, force=True)
    counter = [0]
    _compare(ours, ref, name, counter)
    assert counter[0] >= 2  # the comparison really ran


@pytest.mark.parametrize("name", ("chrH31.dcm", "chrSQEncoding.dcm", "chrFrenMulti.dcm"))
def test_other_character_sets_fall_back_to_pydicom(name):
    found = [f for f in get_charset_files(name) if f.endswith(name)]
    if not found:
        pytest.skip(f"{name} not shipped with this pydicom")
    ours, ref = pydicom.dcmread(found[0]), pydicom.dcmread(found[0])
    _compare(ours, ref, name, [0])


def test_factory_nm_file_values(tmp_path):
    ph = phantom(64, 32, total_counts=1e4, seed=1)
    path = write_nm_multiframe(tmp_path / "a.dcm", [ph.anterior, ph.posterior], ["anterior", None])
    ds = pydicom.dcmread(path)
    assert tags.value(ds, tags.ROWS) == 64 and tags.number(ds, tags.NUMBER_OF_FRAMES, 1) == 2
    assert tags.value(ds, tags.PIXEL_SPACING) == [2.4, 2.4]
    assert tags.text(ds, tags.MODALITY) == "NM"
    items = tags.value(ds, 0x00540022)
    assert isinstance(items[0], tags.RawItem) and len(items) == 2
    code = tags.value(items[0], 0x00540220)[0]
    assert tags.text(code, 0x00080100) == "R-10206"
    pixels = np.frombuffer(tags.value(ds, tags.PIXEL_DATA), "<u2").reshape(2, 64, 32)
    assert np.array_equal(pixels[1], ph.posterior)
    assert tags.value(ds, 0x00204000, "absent") == "absent"


@pytest.mark.parametrize(
    ("vr", "raw"),
    [
        ("LO", b"WB ANT \\POST  "),  # each value right-stripped
        ("SH", b" A\\B\x00"),
        ("CS", b"ORIGINAL\\PRIMARY "),
        ("AE", b" STORE \\ SCP "),
        ("UI", b"1.2.3\x00"),
        ("LT", b"a\\b  "),  # backslash is text
        ("DS", b" 2.5\\-1e3 "),
        ("IS", b"+12\\ 7"),
        ("IS", b"1_000"),  # not a DICOM integer: pydicom decides
        ("US", b"\x01\x00\x02\x00"),
        ("FD", b"\x00" * 8),
        ("DA", b"20260101"),  # not on the fast path
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR IS")
def test_raw_values_match_pydicom(vr, raw):
    tag = {
        "LO": 0x0008103E, "SH": 0x00540400, "CS": 0x00080008, "AE": 0x00080054,
        "UI": 0x00080016, "LT": 0x00204000, "DS": 0x00280030, "IS": 0x00200013,
        "US": 0x00540020, "FD": 0x00189087, "DA": 0x00080020,
    }[vr]  # fmt: skip
    ds = Dataset()
    elem = RawDataElement(BaseTag(tag), vr, len(raw), raw, 0, False, True, True, False)
    ds._dict[BaseTag(tag)] = elem
    ours = tags.value(ds, tag)
    ref = Dataset()
    ref._dict[BaseTag(tag)] = elem
    assert _plain(ours) == _plain(ref[tag].value)


def test_text_joins_values_whichever_path_converted_them():
    ds = Dataset()
    ds.ImageType = ["ORIGINAL", "PRIMARY"]  # a converted pydicom MultiValue
    assert tags.text(ds, 0x00080008) == "ORIGINAL\\PRIMARY"
    raw = b"ORIGINAL\\PRIMARY"
    ds2 = Dataset()
    ds2._dict[BaseTag(0x00080008)] = RawDataElement(
        BaseTag(0x00080008), "CS", len(raw), raw, 0, False, True, True, False
    )
    assert tags.text(ds2, 0x00080008) == "ORIGINAL\\PRIMARY"
    assert tags.text(ds2, 0x00081030) == ""
