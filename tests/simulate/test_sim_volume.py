"""The SPECT/CT simulator (issue 15): anatomy, CT values, SPECT physics, lesions, primary,
profiles and the cohort writer."""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.io.volume import Volume
from osteoscan.io.volumes import read_volume
from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate import volume_lesions as vl
from osteoscan.simulate.volume_cohort import write_volume_cohort
from osteoscan.simulate.volume_profiles import get_volume_profile
from osteoscan.simulate.volume_render import attenuation, spect_image
from osteoscan.simulate.volume_study import simulate_study, skeletal_parts

SHAPE = (48, 64, 64)


@pytest.fixture(scope="module")
def lung():
    return simulate_study(11, "profile_4", SHAPE, primary="lung", n_metastases=5, n_benign=3)


@pytest.fixture(scope="module")
def other():
    return simulate_study(11, "profile_4", SHAPE, primary="other", n_metastases=5, n_benign=0)


def test_same_seed_same_study_and_patient_independent_of_profile(lung):
    again = simulate_study(11, "profile_4", SHAPE, primary="lung", n_metastases=5, n_benign=3)
    np.testing.assert_array_equal(again.ct.array, lung.ct.array)
    np.testing.assert_array_equal(again.spect.array, lung.spect.array)
    elsewhere = simulate_study(11, "profile_9", SHAPE, primary="lung", n_metastases=5, n_benign=3)
    assert [les["kind"] for les in elsewhere.lesions] == [les["kind"] for les in lung.lesions]
    assert not np.array_equal(elsewhere.ct.array, lung.ct.array)


def test_masks_agree_with_the_lesion_list(lung):
    assert lung.semantic.shape == lung.instances.shape == lung.ct.shape == lung.spect.shape
    assert lung.semantic.dtype == np.uint8 and lung.instances.dtype == np.int32
    ids = sorted(int(v) for v in np.unique(lung.instances) if v)
    assert ids == [les["id"] for les in lung.lesions]
    for les in lung.lesions:
        region = lung.instances == les["id"]
        assert int(region.sum()) == les["voxels"]
        assert np.all(lung.semantic[region] == (2 if les["malignant"] else 1))
        assert les["malignant"] == (les["kind"] in vl.MALIGNANT_KINDS)
    assert np.all((lung.semantic > 0) == (lung.instances > 0))
    assert any(les["malignant"] for les in lung.lesions)
    assert any(not les["malignant"] for les in lung.lesions)


def test_skeletal_parts_are_the_study_s_bones(lung):
    parts = skeletal_parts(11, "profile_4", SHAPE, primary="lung")
    assert parts.shape == lung.ct.shape and parts.dtype == np.uint8
    assert np.all(lung.ct.array[parts > 0].mean() > lung.ct.array[parts == 0].mean())
    for les in lung.lesions:  # the bone the simulator recorded for each lesion
        counts = np.bincount(parts[lung.instances == les["id"]], minlength=len(vc.PARTS))
        counts[0] = 0  # an osteophyte outside every bone is recorded beside its vertebral body
        assert (vc.PARTS[int(counts.argmax())] if counts.any() else "vertebral body") \
            == les["part"]
    assert sum(les["part"] != "vertebral body" for les in lung.lesions) >= 1
    assert not np.array_equal(skeletal_parts(12, "profile_4", SHAPE, primary="lung"), parts)


def test_lesion_centres_are_in_patient_millimetres(lung):
    for les in lung.lesions:
        k, j, i = np.clip(np.round(lung.ct.index_of(les["centre_mm"])).astype(int), 0,
                          np.subtract(lung.ct.shape, 1))
        near = lung.instances[max(k - 1, 0):k + 2, max(j - 2, 0):j + 3, max(i - 2, 0):i + 3]
        assert (near == les["id"]).any(), les


def test_ct_values_by_tissue(lung):
    ct = lung.ct.array
    centre = ct[:, 20:44, 20:44]
    assert np.percentile(ct, 99) > 400  # dense bone
    assert (ct < -700).mean() > 0.2  # air and lung
    assert -100 < np.median(centre[centre > -300]) < 300  # soft tissue and fat inside the body


def test_spect_bone_is_hotter_than_soft_tissue(lung):
    ct, sp = lung.ct.array, lung.spect.array
    bone = (ct > 500) & (lung.instances == 0)
    soft = (ct > -20) & (ct < 80) & (lung.instances == 0)
    assert sp[bone].mean() > 3 * sp[soft].mean()


def test_lesion_signatures(lung, other):
    """Blastic: denser and hotter than normal bone; lytic: lucent."""
    def mean(study, kind, arr):
        vals = [arr[study.instances == les["id"]].mean() for les in study.lesions
                if les["kind"] == kind]
        return np.mean(vals) if vals else None

    blastic = mean(other, "osteoblastic", other.ct.array)
    lytic = [v for v in (mean(s, "osteolytic", s.ct.array) for s in (lung, other)) if v]
    assert blastic is not None and blastic > 500
    assert lytic and max(lytic) < blastic - 300
    bone = (other.ct.array > 150) & (other.instances == 0)
    assert mean(other, "osteoblastic", other.spect.array) > 1.5 * other.spect.array[bone].mean()


def test_primary_shifts_the_kinds():
    rng = np.random.default_rng(0)
    kinds = {p: Counter(vl.draw_kinds(rng, p, 400, 0)) for p in vl.PRIMARIES}
    lytic = {p: (c["osteolytic"] + c["mixed"]) / 400 for p, c in kinds.items()}
    assert lytic["lung"] > 0.7 > 0.5 > lytic["other"]
    assert vl.draw_kinds(rng, None, None, 0) == []  # no primary, no metastasis


@pytest.mark.parametrize("kind", vl.KINDS)
def test_every_kind_can_be_placed(kind):
    s = simulate_study(5, "profile_1", SHAPE, primary="lung", kinds=[kind])
    assert [les["kind"] for les in s.lesions] == [kind]
    assert s.lesions[0]["volume_ml"] > 0
    expect = "rib" if kind == "fracture" else "vertebral body" if kind in (
        "osteophyte", "schmorl", "haemangioma") else None
    assert expect is None or s.lesions[0]["part"] == expect
    assert s.metastatic == (kind in vl.MALIGNANT_KINDS)


def test_profiles_are_generated_and_checked():
    a, b = get_volume_profile("profile_1"), get_volume_profile(2)
    assert a.name == "profile_1" and b.name == "profile_2" and a != b
    for k in range(40):
        p = get_volume_profile(k)
        assert 8.0 <= p.fwhm_mm <= 12.0 and p.spect_matrix in (64, 128)
    for bad in ("site_a", "profile_x", "profile_-1"):
        with pytest.raises(ConfigError, match="profile"):
            get_volume_profile(bad)
    with pytest.raises(ConfigError, match="shape"):
        simulate_study(0, shape=(4, 64, 64))
    with pytest.raises(ConfigError, match="primary"):
        simulate_study(0, primary="breast")
    with pytest.raises(ConfigError, match="lesion kinds"):
        simulate_study(0, kinds=["sarcoma"])


def _point_source(profile) -> tuple[Volume, Volume]:
    shape = (40, 64, 64)
    conc = np.zeros(shape, np.float32)
    conc[20, 32, 32] = 1e9
    vol = Volume(conc, (2.0, 2.0, 2.0), (-40.0, -64.0, -64.0), modality="NM")
    return vol, vol.with_array(np.full(shape, -1000.0, np.float32), "CT")


def _fwhm(profile_line: np.ndarray, step: float) -> float:
    half = profile_line.max() / 2
    above = np.flatnonzero(profile_line >= half)
    lo, hi = above[0], above[-1]  # linear interpolation at both half-maximum crossings
    left = lo - (profile_line[lo] - half) / (profile_line[lo] - profile_line[lo - 1])
    right = hi + (profile_line[hi] - half) / (profile_line[hi] - profile_line[hi + 1])
    return float((right - left) * step)


@pytest.mark.parametrize("fwhm", [8.0, 12.0])
def test_spect_resolution_matches_the_profile(fwhm):
    prof = replace(get_volume_profile(3), fwhm_mm=fwhm, scatter=0.0, spect_voxel_mm=2.0,
                   spect_matrix=64)
    conc, air = _point_source(prof)
    out = spect_image(conc, air, prof, np.random.default_rng(0)).array
    k, j, i = np.unravel_index(int(np.argmax(out)), out.shape)
    measured = _fwhm(out[k, j, :].astype(float), 2.0)
    assert measured == pytest.approx(fwhm, rel=0.1)


def test_attenuation_is_deeper_in_the_middle():
    mu = np.zeros((2, 41, 41), np.float32)
    mu[:, 5:36, 5:36] = 0.0153
    t = attenuation(mu, 4.0)
    assert t[0, 20, 20] == pytest.approx(np.exp(-0.0153 * 62.0), rel=0.02)  # 15.5 voxels deep
    assert t[0, 20, 20] < t[0, 6, 20] < 1.0
    assert t[0, 0, 0] == pytest.approx(1.0)


def test_cohort_writer_manifest_and_resume(tmp_path):
    manifest = write_volume_cohort(tmp_path, 2, seed=3, profiles=("profile_1", "profile_2"),
                                   shape=(24, 40, 40), formats=("nifti", "dicom"))
    rows = list(csv.DictReader(manifest.open()))
    assert [r["study_id"] for r in rows] == ["V3-00000", "V3-00001"]
    ct = read_volume(tmp_path / rows[0]["ct"])
    sem = read_volume(tmp_path / rows[0]["semantic"])
    assert ct.shape == sem.shape == (24, 40, 40)
    assert read_volume(tmp_path / "V3-00000" / "ct").shape == ct.shape  # the DICOM series
    assert read_volume(tmp_path / "V3-00000" / "spect.dcm").modality == "NM"
    stamp = (tmp_path / "V3-00000" / "ct.nii.gz").stat().st_mtime_ns
    write_volume_cohort(tmp_path, 2, seed=3, profiles=("profile_1", "profile_2"),
                        shape=(24, 40, 40))
    assert (tmp_path / "V3-00000" / "ct.nii.gz").stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError):
        write_volume_cohort(tmp_path, 1, formats=("png",))


def test_canvas_parts_label_only_bone():
    s_cv = vc.Canvas.empty((8, 16, 16), (4.0, 4.0, 4.0), (-30.0, -30.0, 0.0))
    got = vc.ellipsoid_depth(s_cv, (0.0, 0.0, 16.0), (12.0, 12.0, 12.0))
    s_cv.paint_bone(got[0], got[1], vc.VERTEBRA, 1.0)
    bone = np.isin(s_cv.labels, vc.BONE)
    assert bone.any() and np.array_equal(bone, s_cv.parts == vc.VERTEBRA)
    assert (s_cv.labels == vc.CORTICAL).any() and (s_cv.labels == vc.TRABECULAR).any()


@pytest.mark.skipif(not shutil.which("dciodvfy"), reason="dicom3tools' dciodvfy not installed")
def test_written_ct_and_nm_pass_dciodvfy(tmp_path):
    from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series, write_nm_spect

    s = simulate_study(1, "profile_2", (20, 32, 32), kinds=[])
    ids = SeriesIds("P1", "S1", 1)
    files = [write_ct_series(s.ct, tmp_path / "ct", ids)[0],
             write_nm_spect(s.spect_native, tmp_path / "spect.dcm", ids)]
    for f in files:
        out = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True)
        errors = [line for line in (out.stdout + out.stderr).splitlines()
                  if line.startswith("Error")]
        assert errors == [], (f.name, errors)
