"""Real files shipped with pydicom / pydicom-data: the decode layer and the NEMA NM1 scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import data as pdata

from osteoscan.errors import InputError
from osteoscan.io import load_study
from osteoscan.io.dicom import decode_pixels


def _file(name: str) -> Path:
    found = pdata.get_testdata_file(name)
    if found is None:
        pytest.skip(f"{name} not available from pydicom / pydicom-data")
    return Path(found)


@pytest.mark.parametrize(
    "compressed",
    ["emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm", "emri_small_jpeg_2k_lossless.dcm"],
)
def test_lossless_decoders_match_uncompressed(compressed):
    ref = pydicom.dcmread(_file("emri_small.dcm")).pixel_array
    path = _file(compressed)
    got = decode_pixels(pydicom.dcmread(path), path)
    np.testing.assert_array_equal(got, ref)


def test_jpeg_lossless_process14_decodes():
    path = _file("JPGLosslessP14SV1_1s_1f_8b.dcm")
    ds = pydicom.dcmread(path)
    arr = decode_pixels(ds, path)
    assert arr.shape == (ds.Rows, ds.Columns) and arr.dtype == np.uint8
    assert arr.std() > 10  # a real picture, not a blank buffer


def test_non_nm_sample_is_refused_with_its_modality():
    with pytest.raises(InputError, match="Modality is MR, expected NM whole body"):
        load_study(_file("emri_small.dcm"))


def test_nema_nm1_jpeg_lossless_loads_as_anterior():
    """JPEG-LL.dcm is the NEMA WG04 NM1 whole body (GE Millennium MG), JPEG lossless SV1."""
    path = _file("JPEG-LL.dcm")
    if "NM1" not in str(pydicom.dcmread(path, stop_before_pixels=True).PatientName):
        pytest.skip("JPEG-LL.dcm is not the NM1 sample in this pydicom-data version")
    scan = load_study(path)
    assert scan.shape == (1024, 256) and scan.posterior is None
    assert scan.views[0].view == "anterior" and scan.views[0].rule == "single_view"
    assert scan.spacing_mm == pytest.approx((2.26, 2.26))
    assert scan.source.model == "MILLENNIUM MG"
    assert scan.acquisition.scan_length_mm == 1899
    assert 0.5e6 < scan.acquisition.total_counts[0] < 5e6
    assert scan.anterior.max() == 278


def test_nema_nm1_uncompressed_if_available():
    found = pdata.get_testdata_file("NM1_UNCR.dcm") or next(
        iter(pdata.get_testdata_files("NM1*")), None
    )
    if found is None:
        pytest.skip(
            "NEMA WG04 NM1_UNCR.dcm is not in the installed pydicom-data (PyPI 1.0.0 ships "
            "only its JPEG-lossless copy, JPEG-LL.dcm, tested above)"
        )
    scan = load_study(found)
    assert scan.views[0].view == "anterior"
    assert scan.spacing_mm == pytest.approx((2.26, 2.26), abs=0.01)
