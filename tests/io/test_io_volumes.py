"""Volume readers and writers (issue 15): DICOM CT series, NM RECON TOMO, NIfTI round trips,
resampling from geometry, frame-of-reference checks and hostile files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from osteoscan.errors import InputError
from osteoscan.io.nifti import nifti_affine, read_nifti, write_nifti
from osteoscan.io.nmtomo import read_nm_spect
from osteoscan.io.resample import resample_to
from osteoscan.io.volume import Volume, VolumeSource
from osteoscan.io.volumes import read_ct_series, read_spect_ct, read_volume
from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series, write_nm_spect
from osteoscan.simulate.volume_study import simulate_study

IDS = SeriesIds("P7", "S7", seed=7)


@pytest.fixture(scope="module")
def study():
    return simulate_study(4, "profile_2", shape=(24, 40, 40), primary="other", n_metastases=2)


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    d = tmp_path_factory.mktemp("spectct")
    write_ct_series(study.ct, d / "ct", IDS)
    write_nm_spect(study.spect_native, d / "spect.dcm", IDS)
    return d


def _same_geometry(a: Volume, b: Volume) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a.spacing_mm, b.spacing_mm, rtol=1e-6)
    np.testing.assert_allclose(a.origin_mm, b.origin_mm, atol=1e-4)
    np.testing.assert_allclose(a.direction, b.direction, atol=1e-6)


def test_ct_series_round_trip(study, written):
    ct = read_ct_series(written / "ct")
    _same_geometry(ct, study.ct)
    np.testing.assert_array_equal(ct.array, np.rint(study.ct.array))
    assert ct.modality == "CT" and ct.frame_of_reference_uid == study.ct.frame_of_reference_uid
    assert ct.source.kind == "dicom-ct-series" and ct.source.skipped == ()


def test_nm_spect_round_trip_keeps_its_own_grid(study, written):
    spect = read_nm_spect(written / "spect.dcm")
    _same_geometry(spect, study.spect_native)
    np.testing.assert_array_equal(spect.array, study.spect_native.array)
    assert spect.shape != study.ct.shape and spect.modality == "NM"


def test_nm_non_integer_counts_use_rescale_slope(study, tmp_path):
    vol = study.spect_native.with_array(study.spect_native.array * np.float32(0.37))
    write_nm_spect(vol, tmp_path / "s.dcm", IDS)
    assert float(pydicom.dcmread(tmp_path / "s.dcm").RescaleSlope) != 1.0
    back = read_nm_spect(tmp_path / "s.dcm")
    np.testing.assert_allclose(back.array, vol.array, atol=float(vol.array.max()) / 65535)


def test_spect_read_onto_ct_grid_matches_the_simulator(study, written):
    ct, spect = read_spect_ct(written / "ct", written / "spect.dcm")
    assert spect.shape == ct.shape and spect.modality == "NM"
    np.testing.assert_allclose(spect.array, study.spect.array, atol=1e-3)


def _rotated(shape=(6, 7, 8)) -> Volume:
    rng = np.random.default_rng(0)
    a = np.deg2rad(30)
    d = np.array([[1, 0, 0], [0, np.cos(a), np.sin(a)], [0, -np.sin(a), np.cos(a)]])
    return Volume(rng.normal(size=shape).astype(np.float32), (2.5, 1.25, 0.8),
                  (-100.0, 20.0, 35.5), d, "CT", None, VolumeSource())


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_round_trip_with_oblique_geometry(tmp_path, suffix):
    vol = _rotated()
    back = read_nifti(write_nifti(vol, tmp_path / f"v{suffix}"))
    _same_geometry(back, vol)
    np.testing.assert_array_equal(back.array, vol.array)


def test_nifti_axes_follow_ras_against_nibabel(study, tmp_path):
    """One column step (+x in LPS: towards the patient's left) is -x in RAS."""
    nib = pytest.importorskip("nibabel")
    aff = nifti_affine(study.ct)
    assert aff[0, 0] == pytest.approx(-study.ct.spacing_mm[2])
    assert aff[2, 2] == pytest.approx(study.ct.spacing_mm[0])
    write_nifti(study.ct.with_array(study.semantic), tmp_path / "m.nii.gz")
    img = nib.load(str(tmp_path / "m.nii.gz"))
    assert nib.aff2axcodes(img.affine) == ("L", "P", "S")
    assert img.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(img.dataobj).transpose(2, 1, 0), study.semantic)


def test_resample_recovers_a_known_sub_voxel_shift():
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in (8, 9, 10)), indexing="ij")
    ramp = 3 * k + 2 * j - i  # linear: interpolation is exact
    ref = Volume(ramp, (2.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    moved = Volume(ramp, (2.0, 1.0, 1.0), (0.0, 2.0, 1.5))  # content 2 mm posterior, 1.5 left
    out = resample_to(moved, ref).array
    expect = 3 * k + 2 * (j - 2) - (i - 1.5)
    inside = (j >= 2) & (i >= 2)
    np.testing.assert_allclose(out[inside], expect[inside], atol=1e-4)
    assert np.all(out[:, :2, :] == 0)  # outside the moved field of view


def test_resample_undoes_a_swap_of_axes():
    ref = _rotated()
    d = ref.direction[[0, 2, 1]]
    swapped = Volume(np.ascontiguousarray(ref.array.transpose(0, 2, 1)),
                     (ref.spacing_mm[0], ref.spacing_mm[2], ref.spacing_mm[1]), ref.origin_mm, d)
    np.testing.assert_allclose(resample_to(swapped, ref).array, ref.array, atol=1e-5)
    np.testing.assert_array_equal(resample_to(swapped, ref, order=0).array, ref.array)


def test_resample_integer_shift_is_a_copy():
    ref = _rotated()
    moved = Volume(ref.array, ref.spacing_mm, tuple(ref.position((1, 0, 2))), ref.direction)
    out = resample_to(moved, ref, fill=-5.0).array
    np.testing.assert_array_equal(out[1:, :, 2:], ref.array[:-1, :, :-2])
    assert np.all(out[0] == -5.0)


def test_regrid_halves_the_spacing_and_back():
    from osteoscan.io.resample import regrid

    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in (5, 6, 7)), indexing="ij")
    vol = Volume(2 * k - j + 3 * i, (4.0, 2.0, 2.0), (10.0, -5.0, 3.0))
    fine = regrid(vol, (2.0, 1.0, 1.0))
    assert fine.shape == (9, 11, 13) and fine.origin_mm == vol.origin_mm
    kk, jj, ii = np.meshgrid(*(np.arange(n, dtype=np.float32) / 2 for n in (9, 11, 13)),
                             indexing="ij")
    np.testing.assert_allclose(fine.array, 2 * kk - jj + 3 * ii, atol=1e-4)
    labels = vol.with_array((k > 2).astype(np.uint8))
    back = resample_to(regrid(labels, (2.0, 1.0, 1.0), order=0), labels, order=0)
    assert back.array.dtype == np.uint8
    np.testing.assert_array_equal(back.array, labels.array)


def test_frame_of_reference_mismatch_is_an_input_error(study, written, tmp_path):
    other = study.spect_native.__class__(
        study.spect_native.array, study.spect_native.spacing_mm, study.spect_native.origin_mm,
        study.spect_native.direction, "NM", "1.2.3.4.5", VolumeSource())
    write_nm_spect(other, tmp_path / "other.dcm", IDS)
    with pytest.raises(InputError, match=r"other\.dcm: FrameOfReferenceUID 1\.2\.3\.4\.5 does "
                                         r"not match"):
        read_spect_ct(written / "ct", tmp_path / "other.dcm")


def test_nifti_without_frame_combines_with_dicom(study, written, tmp_path):
    write_nifti(study.spect_native, tmp_path / "spect.nii.gz")
    ct, spect = read_spect_ct(written / "ct", tmp_path / "spect.nii.gz")
    np.testing.assert_allclose(spect.array, study.spect.array, atol=1e-3)


def test_tilted_series_keeps_its_stacking_direction(study, tmp_path):
    tilt = np.array([1.0, 0.2, 0.0]) / np.hypot(1.0, 0.2)
    vol = Volume(study.ct.array, study.ct.spacing_mm, study.ct.origin_mm,
                 np.stack([tilt, [0, 1, 0], [0, 0, 1]]), "CT", "1.2.3", VolumeSource())
    write_ct_series(vol, tmp_path / "ct", IDS)
    _same_geometry(read_ct_series(tmp_path / "ct"), vol)


def test_localizer_and_stray_files_are_skipped_and_listed(study, tmp_path):
    write_ct_series(study.ct, tmp_path / "ct", IDS)
    scout = pydicom.dcmread(tmp_path / "ct" / "CT_0001.dcm")
    scout.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    scout.SOPInstanceUID = "1.2.3.9"
    scout.save_as(tmp_path / "ct" / "scout.dcm")
    (tmp_path / "ct" / "notes.txt").write_text("hello")
    ct = read_ct_series(tmp_path / "ct")
    assert ct.shape == study.ct.shape
    assert sorted(s.split(":")[0] for s in ct.source.skipped) == ["notes.txt", "scout.dcm"]


# ------------------------------------------------------------------ hostile input


@pytest.fixture
def series(study, tmp_path):
    write_ct_series(study.ct, tmp_path / "ct", IDS)
    return tmp_path / "ct"


def test_missing_slice_names_the_file_after_the_gap(series):
    (series / "CT_0010.dcm").unlink()
    with pytest.raises(InputError, match=r"CT_0011\.dcm: .* a slice is missing"):
        read_ct_series(series)


def test_two_slices_at_one_place(series):
    ds = pydicom.dcmread(series / "CT_0003.dcm")
    ds.SOPInstanceUID = "1.2.3.10"
    ds.save_as(series / "dup.dcm")
    with pytest.raises(InputError, match="same position"):
        read_ct_series(series)


def test_slice_of_another_size(series):
    ds = pydicom.dcmread(series / "CT_0005.dcm")
    ds.Rows = 20
    ds.PixelData = ds.PixelData[: 20 * ds.Columns * 2]
    ds.save_as(series / "CT_0005.dcm")
    with pytest.raises(InputError, match=r"CT_0005\.dcm: Rows x Columns"):
        read_ct_series(series)


def test_slice_without_position(series):
    ds = pydicom.dcmread(series / "CT_0002.dcm")
    del ds.ImagePositionPatient
    ds.save_as(series / "CT_0002.dcm")
    with pytest.raises(InputError, match=r"CT_0002\.dcm: no ImagePositionPatient"):
        read_ct_series(series)


def test_truncated_slice(series):
    raw = (series / "CT_0004.dcm").read_bytes()
    (series / "CT_0004.dcm").write_bytes(raw[: len(raw) - 500])
    with pytest.raises(InputError, match=r"CT_0004\.dcm"):
        read_ct_series(series)


def test_empty_folder_and_single_file(tmp_path, series):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no CT image files"):
        read_ct_series(tmp_path / "empty")
    with pytest.raises(InputError, match="single CT slice"):
        read_volume(series / "CT_0001.dcm")


def test_planar_nm_and_projections_are_refused(study, written, tmp_path):
    for kind, message in (("WHOLE BODY", "planar NM image"), ("TOMO", "projections")):
        ds = pydicom.dcmread(written / "spect.dcm")
        ds.ImageType = ["ORIGINAL", "PRIMARY", kind, "EMISSION"]
        ds.save_as(tmp_path / "x.dcm")
        with pytest.raises(InputError, match=rf"x\.dcm: .*{message}"):
            read_nm_spect(tmp_path / "x.dcm")


def test_nm_with_absurd_frame_count(written, tmp_path):
    ds = pydicom.dcmread(written / "spect.dcm")
    ds.NumberOfFrames = 100000
    ds.save_as(tmp_path / "x.dcm")
    with pytest.raises(InputError, match=r"x\.dcm: 100000 slices"):
        read_nm_spect(tmp_path / "x.dcm")


@pytest.mark.parametrize("payload", [b"", b"not a nifti at all" * 30, b"\x5c\x01" + bytes(400)])
def test_garbage_nifti(tmp_path, payload):
    (tmp_path / "v.nii").write_bytes(payload)
    with pytest.raises(InputError, match=r"v\.nii: "):
        read_nifti(tmp_path / "v.nii")


def test_nifti_2d_and_nan(tmp_path):
    nib = pytest.importorskip("nibabel")
    nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), str(tmp_path / "a.nii"))
    with pytest.raises(InputError, match=r"a\.nii: 2-D image"):
        read_nifti(tmp_path / "a.nii")
    data = np.ones((8, 8, 4), np.float32)
    data[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "b.nii"))
    with pytest.raises(InputError, match=r"b\.nii: voxel data holds 1 NaN"):
        read_nifti(tmp_path / "b.nii")
    bad = np.eye(4)
    bad[0, 0] = 0.0
    img = nib.Nifti1Image(np.ones((8, 8, 4), np.float32), None)
    img.set_sform(bad, code=1)
    nib.save(img, str(tmp_path / "c.nii"))
    with pytest.raises(InputError, match=r"c\.nii: NIfTI affine is singular"):
        read_nifti(tmp_path / "c.nii")


def test_spect_that_misses_the_ct(study, written, tmp_path):
    far = Volume(study.spect_native.array, study.spect_native.spacing_mm,
                 tuple(np.add(study.spect_native.origin_mm, (5000.0, 0, 0))),
                 study.spect_native.direction, "NM", study.ct.frame_of_reference_uid)
    write_nm_spect(far, tmp_path / "far.dcm", IDS)
    with pytest.raises(InputError, match=r"far\.dcm: the SPECT does not overlap the CT"):
        read_spect_ct(written / "ct", tmp_path / "far.dcm")


# ------------------------------------------------------------------ files from other software


def test_ct_series_from_a_ge_slice(tmp_path):
    """pydicom's CT_small.dcm (GE, RescaleIntercept -1024) copied into a 3-slice series."""
    from pydicom.data import get_testdata_file

    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for k in range(3):
        ds = src.copy()
        ds.ImagePositionPatient = [-158.135803, -179.035797, -75.699997 - 5.0 * k]
        ds.SOPInstanceUID = f"{src.SOPInstanceUID}.{k}"
        ds.InstanceNumber = k + 1
        ds.save_as(tmp_path / f"IM{k}", enforce_file_format=True)
    ct = read_volume(tmp_path)
    assert ct.shape == (3, 128, 128) and ct.spacing_mm == pytest.approx((5.0, 0.661468, 0.661468))
    assert ct.origin_mm == pytest.approx((-85.699997, -179.035797, -158.135803))  # lowest z first
    np.testing.assert_array_equal(ct.array[2], src.pixel_array.astype(np.float32) - 1024)
    assert ct.frame_of_reference_uid == src.FrameOfReferenceUID


def test_enhanced_ct_is_refused_with_a_reason(tmp_path):
    import shutil
    from pathlib import Path

    found = sorted(Path(pydicom.__file__).parents[1].glob("data_store/data/eCT_Supplemental.dcm"))
    if not found:
        pytest.skip("pydicom-data's eCT_Supplemental.dcm is not installed")
    shutil.copy(found[0], tmp_path / "ect.dcm")
    with pytest.raises(InputError, match="no CT image files found .*multi-frame .enhanced. CT"):
        read_ct_series(tmp_path)


def test_nm_slices_one_per_file_read_as_a_spect(study, tmp_path):
    """Some software exports a SPECT as single-frame NM files; a folder of them is a volume."""
    from osteoscan.simulate.volume_dicom import nm_tomo_dataset

    spect = study.spect_native
    for k in range(spect.shape[0]):
        one = Volume(spect.array[k:k + 1], spect.spacing_mm, tuple(spect.position((k, 0, 0))),
                     spect.direction, "NM", spect.frame_of_reference_uid)
        ds = nm_tomo_dataset(one, IDS)
        del ds.DetectorInformationSequence  # the top-level position and orientation remain
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.3.{k + 1}"
        ds.save_as(tmp_path / f"NM{k:03d}.dcm", enforce_file_format=True)
    back = read_volume(tmp_path)
    assert back.modality == "NM" and back.source.kind == "dicom-nm-series"
    _same_geometry(back, spect)
    np.testing.assert_array_equal(back.array, spect.array)
