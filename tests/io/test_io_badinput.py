"""Bad input: every failure is an InputError naming the file and the problem."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from osteoscan.errors import InputError
from osteoscan.io import load_study, limits

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe, write_nm_single  # noqa: E402


@pytest.fixture(scope="module")
def ph():
    return phantom(128, 32, total_counts=5e4, seed=1)


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="nothing.dcm: no such file"):
        load_study(tmp_path / "nothing.dcm")


def test_empty_file(tmp_path):
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(InputError, match="empty.dcm: empty file"):
        load_study(tmp_path / "empty.dcm")


def test_not_dicom(tmp_path):
    (tmp_path / "notes.dcm").write_text("patient notes, not an image\n" * 20)
    with pytest.raises(InputError, match="notes.dcm: not a DICOM file nor a PNG/JPEG/TIFF"):
        load_study(tmp_path / "notes.dcm")


def test_truncated_pixel_data(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "cut.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3000])
    with pytest.raises(InputError, match="cut.dcm: "):
        load_study(path)


def test_missing_pixel_data(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "nopix.dcm", [ph.anterior, ph.posterior], ["anterior", "posterior"]
    )
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(InputError, match="nopix.dcm: no pixel data"):
        load_study(path)


def test_wrong_modality(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "case7.dcm", [ph.anterior, ph.posterior], [None, None], modality="CT"
    )
    with pytest.raises(InputError) as err:
        load_study(path)
    assert str(err.value) == "case7.dcm: Modality is CT, expected NM whole body"


def test_three_frames_without_views(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "three.dcm", [ph.anterior, ph.posterior, ph.anterior], [None] * 3
    )
    with pytest.raises(InputError, match="three.dcm: 3 frames and 3 without view information"):
        load_study(path)


def test_two_frames_claiming_the_same_view(tmp_path, ph):
    path = write_nm_multiframe(
        tmp_path / "twice.dcm", [ph.anterior, ph.posterior], ["anterior", "anterior"]
    )
    with pytest.raises(InputError, match="expected one anterior and one posterior"):
        load_study(path)


def test_eight_bit_is_accepted_and_noted(tmp_path, ph):
    frames = [
        np.clip(ph.anterior, 0, 255).astype(np.uint8),
        np.clip(ph.posterior, 0, 255).astype(np.uint8),
    ]
    scan = load_study(write_nm_multiframe(tmp_path / "b8.dcm", frames, ["anterior", "posterior"]))
    assert any("8-bit" in n for n in scan.source.notes)
    assert scan.meta["bits_allocated"] == 8


@pytest.mark.parametrize(
    "rows, cols, problem", [(0, 32, "zero-size"), (60_000, 32, "exceeds the limit")]
)
def test_bad_dimensions(tmp_path, ph, rows, cols, problem):
    path = write_nm_single(tmp_path / "dims.dcm", ph.anterior)
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = rows, cols
    ds.save_as(path)
    with pytest.raises(InputError, match=f"dims.dcm: .*{problem}"):
        load_study(path)


def test_absurd_png_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("L", (16, limits.MAX_ROWS + 1)).save(path)
    with pytest.raises(InputError, match="huge.png: .*exceeds the limit"):
        load_study(path)


def test_corrupt_jpeg(tmp_path, ph):
    path = tmp_path / "broken.jpg"
    Image.fromarray(np.clip(ph.anterior, 0, 255).astype(np.uint8)).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(InputError, match="broken.jpg: cannot decode image"):
        load_study(path)


def test_negative_float_counts(tmp_path, ph):
    import tifffile

    arr = ph.anterior.astype(np.float32) - 5
    tifffile.imwrite(tmp_path / "neg.tif", arr)
    with pytest.raises(InputError, match="neg.tif: pixel data holds negative values"):
        load_study(tmp_path / "neg.tif")


def test_empty_folder(tmp_path):
    (tmp_path / "study").mkdir()
    with pytest.raises(InputError, match="study: no DICOM files"):
        load_study(tmp_path / "study")
