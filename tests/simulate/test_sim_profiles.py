"""Generated site profiles: drawn from real camera ranges, deterministic, exact ground truth."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.io import load_study
from osteoscan.simulate import simulate_study, write_study
from osteoscan.simulate.groundtruth import bone_scan_index
from osteoscan.simulate.sites import SITES, generate_profile, get_site, profile_names


def test_profiles_cover_the_camera_ranges_and_are_deterministic():
    profiles = [generate_profile(k) for k in range(60)]
    assert generate_profile(7) == profiles[7] and get_site("profile_7") == profiles[7]
    shapes = {p.shape for p in profiles}
    assert shapes == {(512, 128), (1024, 256), (2048, 512)}
    for p in profiles:
        assert 1.2 <= p.spacing_mm <= 4.8
        assert 2000 <= p.shape[0] * p.spacing_mm <= 2500  # the field holds a tall patient
        assert 0.2e6 <= p.counts_range[0] < p.counts_range[1] <= 3.0e6
        assert 0 <= p.scatter <= 0.25 and p.name.startswith("profile_")
    assert len({p.fwhm_face_mm for p in profiles}) == 60
    assert len({(p.dicom_style, p.view_codes, p.posterior_first) for p in profiles}) == 4
    assert profile_names(3, 2) == ("profile_3", "profile_4")


def test_named_sites_unchanged_and_bad_names_raise():
    assert get_site("site_a") is SITES["site_a"]
    for bad in ("profile_", "profile_x", "site_q", "profile_-1"):
        with pytest.raises(ConfigError, match="site"):
            get_site(bad)


@pytest.mark.parametrize("rows", [512, 2048])
def test_ground_truth_exact_on_coarse_and_fine_matrices(rows, tmp_path):
    name = next(f"profile_{k}" for k in range(100) if get_site(f"profile_{k}").shape[0] == rows)
    prof = get_site(name)
    st = simulate_study(3, site=name, force_label="metastasis")
    assert st.scan.shape == prof.shape and st.scan.spacing_mm == (prof.spacing_mm,) * 2
    lo, hi = prof.counts_range
    assert 0.97 * lo < st.scan.anterior.sum() < 1.03 * hi
    mal = [les.id for les in st.lesions if les.malignant]
    for view in ("anterior", "posterior"):
        ids = set(np.unique(st.lesion_masks[view])) - {0}
        assert ids == {les.id for les in st.lesions if view in les.views
                       and (st.lesion_masks[view] == les.id).any()}
        assert st.lesion_masks[view].shape == prof.shape
    bsi = bone_scan_index(st.lesion_masks, mal, st.region_maps["anterior"])
    assert st.bsi == pytest.approx(bsi, abs=1e-3)
    row = write_study(st, tmp_path, seed=0)
    scan = load_study(tmp_path / row["image"])
    np.testing.assert_array_equal(scan.anterior, st.scan.anterior)
    np.testing.assert_array_equal(scan.posterior, st.scan.posterior)
    assert scan.spacing_mm == pytest.approx((prof.spacing_mm,) * 2)


def test_cli_profile_seed_through_the_console_script(tmp_path):
    exe = Path(sys.executable).with_name("osteoscan")
    out = tmp_path / "cohort"
    res = subprocess.run([str(exe), "simulate", str(out), "--n", "2", "--seed", "1",
                          "--profile-seed", "40", "--n-profiles", "2"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 2 and {r["site"] for r in rows} <= {"profile_40", "profile_41"}
    bad = subprocess.run([str(exe), "simulate", str(tmp_path / "x"), "--n", "1",
                          "--n-profiles", "0", "--profile-seed", "1"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "n-profiles" in bad.stderr
