"""The SPECT/CT simulator's CT sampling (``spacing=``; docs/volumes.md, "CT sampling"): the
grid written matches the drawn spacing, a bone island keeps more of its contrast on finer
slices, and a seed gives the same study."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pydicom
import pytest
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.io.volumes import read_volume
from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate import volume_lesions as vl
from osteoscan.simulate import volume_render as vr
from osteoscan.simulate import volume_study as vs
from osteoscan.simulate.volume_cohort import write_volume_cohort
from osteoscan.simulate.volume_profiles import CT_SLICES_MM, get_volume_profile
from osteoscan.simulate.volume_study import ct_spacing, simulate_study

COARSE = (8.0, 7.0)  # (slice, pixel) mm: small grids for fast tests


@pytest.fixture
def coarse_profile(monkeypatch):
    """profile_4 with an 8 mm slice and a 64 matrix (about 6.9 mm pixels), so that
    ``spacing="profile"`` draws a small grid."""
    prof = replace(get_volume_profile("profile_4"), ct_slice_mm=8.0, ct_matrix=64)
    monkeypatch.setattr(vs, "get_volume_profile", lambda name: prof)
    return prof


def test_profiles_draw_realistic_ct_sampling_without_changing_earlier_fields():
    profiles = [get_volume_profile(k) for k in range(40)]
    assert {p.ct_slice_mm for p in profiles} <= set(CT_SLICES_MM)
    assert len({p.ct_slice_mm for p in profiles}) >= 4
    assert {p.ct_matrix for p in profiles} == {256, 512}
    assert all(0.7 < p.ct_pixel_mm < 2.0 for p in profiles)
    # drawn after the earlier fields: profile_7 is the selection site of the earlier runs
    p7 = get_volume_profile("profile_7")
    assert (p7.spect_voxel_mm, round(p7.fov_mm, 3), round(p7.ct_noise_hu, 3)) == \
        (4.523, 423.957, 25.528)


def test_spacing_is_checked():
    prof = get_volume_profile("profile_7")
    assert ct_spacing(None, prof) is None
    assert ct_spacing("profile", prof) == (prof.ct_slice_mm, prof.ct_pixel_mm, prof.ct_pixel_mm)
    assert ct_spacing((2.5, 0.9), prof) == (2.5, 0.9, 0.9)
    for bad in ("fine", (0.1, 1.0), (2.5,), (2.5, 1.0, 1.0, 1.0), (20.0, 1.0)):
        with pytest.raises(ConfigError):
            ct_spacing(bad, prof)
    with pytest.raises(ConfigError, match="voxels"):
        simulate_study(1, "profile_7", spacing=(0.5, 0.5))


def test_written_dicom_and_nifti_carry_the_drawn_spacing(tmp_path, coarse_profile):
    write_volume_cohort(tmp_path, 1, seed=3, profiles=("profile_4",), spacing="profile",
                        formats=("dicom", "nifti"))
    study = next(p for p in tmp_path.iterdir() if p.is_dir())
    want = (8.0, coarse_profile.ct_pixel_mm, coarse_profile.ct_pixel_mm)
    nifti = read_volume(study / "ct.nii.gz", "CT")
    series = read_volume(study / "ct", "CT")
    for vol in (nifti, series, read_volume(study / "instances.nii.gz", "CT")):
        np.testing.assert_allclose(vol.spacing_mm, want, rtol=1e-5)
    assert series.shape == nifti.shape
    assert nifti.shape[1] == nifti.shape[2] == 64
    first = pydicom.dcmread(sorted((study / "ct").glob("*.dcm"))[0])
    assert float(first.SliceThickness) == pytest.approx(8.0)
    np.testing.assert_allclose([float(v) for v in first.PixelSpacing], want[1:], rtol=1e-6)
    spect = read_volume(study / "spect.dcm", "NM")  # its own, coarser grid as before
    assert spect.spacing_mm[1] == pytest.approx(coarse_profile.spect_voxel_mm, rel=1e-4)


def test_noise_scales_with_the_voxel_volume(monkeypatch, coarse_profile):
    seen = []
    real = vr.ct_image
    monkeypatch.setattr(vr, "ct_image", lambda *a, **k: seen.append(a[-1]) or real(*a, **k))
    simulate_study(2, "profile_4", spacing=COARSE)
    simulate_study(2, "profile_4", shape=(16, 32, 32))
    volume = COARSE[0] * COARSE[1] ** 2
    assert seen[0] == pytest.approx(coarse_profile.ct_noise_hu * np.sqrt(5.0 / volume))
    assert seen[1] == coarse_profile.ct_noise_hu  # per voxel on a shape grid, as before


def test_a_seed_gives_the_same_study_and_the_same_patient_on_any_grid():
    a = simulate_study(5, "profile_7", spacing=COARSE, n_metastases=3, n_benign=2)
    b = simulate_study(5, "profile_7", spacing=COARSE, n_metastases=3, n_benign=2)
    np.testing.assert_array_equal(a.ct.array, b.ct.array)
    np.testing.assert_array_equal(a.spect.array, b.spect.array)
    np.testing.assert_array_equal(a.instances, b.instances)
    assert a.lesions == b.lesions
    np.testing.assert_allclose(a.ct.spacing_mm, (8.0, 7.0, 7.0))
    legacy = simulate_study(5, "profile_7", shape=(32, 48, 48), n_metastases=3, n_benign=2)
    assert a.primary == legacy.primary
    assert [les["kind"] for les in a.lesions] == [les["kind"] for les in legacy.lesions]


def _island_contrast(spacing, centre, seed: int) -> float:
    """Mean HU of a 3.5 mm bone island in trabecular bone minus that of its 1-voxel shell,
    drawn and scanned as ``simulate_study`` does on a grid of that spacing (profile_7's
    kernel, its noise scaled to the voxel)."""
    prof = get_volume_profile("profile_7")
    shape = tuple(int(round(48 / s)) for s in spacing)  # a 48 mm cube of bone
    cv = vc.Canvas.empty(shape, spacing, (0.0, 0.0, 0.0))
    cv.labels[:] = vc.TRABECULAR
    rng = np.random.default_rng(seed)
    hu = np.full(shape, 250.0, np.float32)
    sl, depth = vc.ellipsoid_depth(cv, centre, (3.5, 3.5, 3.5))
    mask = np.zeros(shape, bool)
    mask[sl] = depth >= 0
    full = np.full(shape, -1.0, np.float32)
    full[sl] = depth
    vl.apply("bone_island", hu, np.ones(shape, np.float32), mask, full, rng, 1.0, None, spacing)
    noise = prof.ct_noise_hu * np.sqrt(vs.REFERENCE_VOXEL_MM3 / np.prod(spacing))
    ct = vr.ct_image(hu, cv.labels, prof, rng, noise, spacing=spacing)
    shell = ndimage.binary_dilation(mask) & ~mask
    return float(ct[mask].mean() - ct[shell].mean())


def test_a_bone_island_keeps_more_contrast_on_finer_slices():
    """On the earlier runs' 9.5 x 4.4 mm grid a 3.5 mm dense focus is a few voxels that the
    kernel mixes with their neighbours; on 2.5 x 1 mm its inside keeps its HU (docs/seg3d.md,
    "Finer simulated CT (session 7)"). Same island, same places, both grids."""
    centres = [(24.0 + dx, 23.0, 21.0 + dz) for dx, dz in ((0, 0), (1.7, -1.0), (3.1, -2.5))]
    coarse = [_island_contrast((9.5, 4.4, 4.4), c, k) for k, c in enumerate(centres)]
    fine = [_island_contrast((2.5, 1.0, 1.0), c, k) for k, c in enumerate(centres)]
    assert min(fine) > max(coarse)
    assert np.mean(fine) > 1.5 * np.mean(coarse)
    # between two 9.5 mm slices the same island is not on the grid at all
    coarse_grid = vc.Canvas.empty((5, 11, 11), (9.5, 4.4, 4.4), (0.0, 0.0, 0.0))
    assert vc.ellipsoid_depth(coarse_grid, (24.0, 23.0, 23.9), (3.5, 3.5, 3.5)) is None
