"""Malformed inputs found by a new user and by the fuzzer (issue 13, item 3): each one is an
OsteoscanError naming the file and what is wrong, never a third-party exception."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import RLELossless

from osteoscan.errors import InputError, OsteoscanError
from osteoscan.io import limits, load_study, read_labelme, read_manifest

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe  # noqa: E402


@pytest.fixture(scope="module")
def ph():
    return phantom(128, 32, total_counts=5e4, seed=3)


def _pair(path: Path, ph, **kw) -> Path:
    return write_nm_multiframe(path, [ph.anterior, ph.posterior], ["anterior", "posterior"], **kw)


def _edit(path: Path, **values) -> Path:
    ds = pydicom.dcmread(path)
    for key, value in values.items():
        setattr(ds, key, value)
    ds.save_as(path)
    return path


def test_unknown_vr_in_pixel_representation(tmp_path, ph):
    data = _pair(tmp_path / "src.dcm", ph).read_bytes()
    at = data.index(b"\x28\x00\x03\x01US")  # (0028,0103) PixelRepresentation, explicit VR
    bad = tmp_path / "vr.dcm"
    bad.write_bytes(data[: at + 4] + b"Us" + data[at + 6 :])
    with pytest.raises(InputError, match="vr.dcm: .*Unknown Value Representation 'Us'") as err:
        load_study(bad)
    assert isinstance(err.value.__cause__, NotImplementedError)  # kept for debugging


def test_ul_value_of_length_three(tmp_path, ph):
    data = _pair(tmp_path / "src.dcm", ph).read_bytes()
    at = data.index(b"\x02\x00\x00\x00UL\x04\x00")  # (0002,0000) group length
    bad = tmp_path / "ul.dcm"
    bad.write_bytes(data[: at + 6] + b"\x03\x00" + data[at + 8 :])
    with pytest.raises(InputError, match="ul.dcm: not a DICOM file nor a PNG/JPEG/TIFF picture"):
        load_study(bad)


def test_5000_character_manifest_path_is_an_input_error_with_a_short_name():
    with pytest.raises(InputError, match="File name too long") as err:
        read_manifest("x" * 5000)
    assert len(str(err.value)) < 300


def test_5000_character_path_inside_a_manifest_is_a_row_problem(tmp_path):
    (tmp_path / "m.csv").write_text(f"patient_id,study_id,image\np,s,{'y' * 5000}\n")
    with pytest.raises(InputError, match=r"m.csv: row 2 \(image\): .*cannot be used"):
        read_manifest(tmp_path / "m.csv")


@pytest.mark.parametrize("spacing", [["inf", "inf"], ["nan", "2"], ["0", "0"], ["-2", "2"],
                                     ["1e9", "2"]])
def test_pixel_spacing_must_be_finite_positive_and_plausible(tmp_path, ph, spacing):
    path = _edit(_pair(tmp_path / "sp.dcm", ph), PixelSpacing=spacing)
    with pytest.raises(InputError, match="sp.dcm: PixelSpacing"):
        load_study(path)


def test_pixel_spacing_that_is_not_numbers(tmp_path, ph):
    path = _pair(tmp_path / "sp.dcm", ph)
    data = path.read_bytes()
    assert data.count(b"2.4\\2.4") == 1
    path.write_bytes(data.replace(b"2.4\\2.4", b"2.4\\abc"))
    with pytest.raises(InputError, match="sp.dcm: .*abc"):
        load_study(path)


def test_rows_one_short_of_the_pixel_data_is_refused_not_shifted(tmp_path):
    tall = phantom(1024, 32, total_counts=5e4, seed=4)
    path = _edit(_pair(tmp_path / "rows.dcm", tall), Rows=1023)
    with pytest.raises(InputError, match=r"rows.dcm: pixel data holds 131072 bytes.*needs 130944"):
        load_study(path)


def test_unknown_transfer_syntax(tmp_path, ph):
    path = _pair(tmp_path / "ts.dcm", ph)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    ds.save_as(path)
    with pytest.raises(InputError, match="ts.dcm: unknown transfer syntax '1.2.3.4.5.6'"):
        load_study(path)


def test_garbage_photometric_interpretation(tmp_path, ph):
    path = _edit(_pair(tmp_path / "ph.dcm", ph), PhotometricInterpretation="GARBAGE")
    with pytest.raises(InputError, match="ph.dcm: PhotometricInterpretation 'GARBAGE'"):
        load_study(path)


def test_compressed_file_claiming_a_huge_size_is_refused_before_decoding(tmp_path, ph):
    path = _pair(tmp_path / "big.dcm", ph, transfer_syntax=RLELossless)
    _edit(path, Rows=4096, Columns=4096, NumberOfFrames=2)
    with pytest.raises(InputError, match="big.dcm: 2 frame.s. of 4096 x 4096 pixels exceeds"):
        load_study(path)


def test_eight_by_eight_picture_is_not_a_whole_body_scan(tmp_path):
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp_path / "icon.png")
    with pytest.raises(InputError, match="icon.png: image of 8 x 8 pixels is too small"):
        load_study(tmp_path / "icon.png")


def test_huge_blank_png_is_refused_from_its_header(tmp_path, monkeypatch):
    Image.new("L", (8192, 8192)).save(tmp_path / "blank.png")

    def no_decoding(self):
        raise AssertionError("decoded a picture the header should have refused")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    with pytest.raises(InputError, match=f"exceeds the limit of {limits.MAX_PIXELS} pixels"):
        load_study(tmp_path / "blank.png")


def test_blank_picture_within_limits_is_refused_before_the_clean_up(tmp_path, monkeypatch):
    Image.new("L", (1024, 2048)).save(tmp_path / "blank.png")
    from osteoscan.io import images

    monkeypatch.setattr(images, "analyse", lambda *a: pytest.fail("cleaned a blank picture"))
    with pytest.raises(InputError, match="blank.png: blank image: every pixel is 0"):
        load_study(tmp_path / "blank.png")


@pytest.mark.parametrize("text", ['{"shapes": [{"points": [[1, 2, 3]]}]}',
                                  '{"shapes": [], "imageHeight": "x", "imageWidth": 3}',
                                  '{"shapes": [], "imageHeight": 1e400, "imageWidth": 3}',
                                  "[" * 100000])
def test_malformed_labelme_is_an_input_error(tmp_path, text):
    (tmp_path / "a.json").write_text(text)
    with pytest.raises(OsteoscanError, match="a.json: "):
        read_labelme(tmp_path / "a.json", image_shape=(64, 32))


# --- found by the fuzzer (tests/io/test_fuzz_readers.py, benchmarks/bench_fuzz.py) ----------


def test_corrupt_rle_segment_offsets_panic_in_rust_and_are_still_an_input_error(tmp_path, ph):
    """pylibjpeg-rle raises pyo3's PanicException, a BaseException, not an Exception."""
    data = _pair(tmp_path / "rle.dcm", ph, transfer_syntax=RLELossless).read_bytes()
    bot = data.index(b"\xfe\xff\x00\xe0", data.index(b"\xe0\x7f\x10\x00"))
    header = bot + 8 + int.from_bytes(data[bot + 4 : bot + 8], "little") + 8  # 1st fragment
    offsets = list(struct.unpack_from("<15I", data, header + 4))
    causes = set()
    for shift in range(2, 160, 4):  # segment 2 starts inside segment 1
        bad = bytearray(data)
        struct.pack_into("<15I", bad, header + 4, offsets[0], offsets[0] + shift, *offsets[2:])
        (tmp_path / "bad.dcm").write_bytes(bytes(bad))
        try:
            load_study(tmp_path / "bad.dcm")
        except InputError as exc:
            assert str(exc).startswith("bad.dcm: ")
            causes.add(type(exc.__cause__).__name__)
    assert "PanicException" in causes


def test_manifest_lesion_count_inf_is_a_row_problem(tmp_path, ph):
    _pair(tmp_path / "a.dcm", ph)
    (tmp_path / "m.csv").write_text("patient_id,study_id,image,lesion_count\np,s,a.dcm,inf\n")
    problems = read_manifest(tmp_path / "m.csv", validate=False).validate()
    assert [(p.column, p.problem) for p in problems] == [("lesion_count", "'inf' is not a number")]


def test_config_that_is_not_utf8(tmp_path):
    from osteoscan.config.train import load_config

    (tmp_path / "c.yaml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError, match="c.yaml: not a readable YAML config"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000,
                                  "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                                  "c: &c [*b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c]\n"
                                  "e: &e [*d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e]\n"
                                  "g: [*f, *f, *f, *f, *f, *f, *f]\n"])
def test_config_too_deep_or_too_many_values_after_aliases(tmp_path, text):
    from osteoscan.config.train import load_config

    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(InputError, match=r"c.yaml: (nested deeper|more than \d+ values)"):
        load_config(tmp_path / "c.yaml")


def test_picture_above_the_clean_up_size_is_reduced_and_still_read(tmp_path):
    body = phantom(512, 128, total_counts=4e5, seed=5).anterior
    big = np.kron(np.clip(body * 20, 0, 255).astype(np.uint8), np.ones((10, 10), np.uint8))
    Image.fromarray(big).save(tmp_path / "big.png")  # 5120 x 1280 = 6.6 M pixels
    scan = load_study(tmp_path / "big.png")
    assert "reduced from 5120 x 1280 pixels by a 2 x 2 block mean" in scan.source.notes
    assert scan.anterior.shape[0] * scan.anterior.shape[1] <= limits.MAX_CLEANUP_PIXELS
    assert scan.views[0].view == "anterior"


def test_picture_of_noise_is_refused_before_labelling_every_speck(tmp_path):
    noise = np.zeros((2048, 2048), np.uint8)
    noise[::8, ::8] = 255  # 65,536 specks, further apart than the 5 x 5 smoothing
    Image.fromarray(noise).save(tmp_path / "noise.png")
    with pytest.raises(InputError, match="noise.png: .*separate bright regions"):
        load_study(tmp_path / "noise.png")


def test_model_card_nested_too_deep(tmp_path):
    """json.loads raises RecursionError (not a ValueError) on a 100,000-deep array."""
    from osteoscan.artefacts import read_card
    from osteoscan.errors import ModelError

    (tmp_path / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match="model.json: not a readable JSON model card"):
        read_card(tmp_path / "model.json")
