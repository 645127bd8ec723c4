"""``osteoscan lesions adapt`` through the installed console script, on a tiny recipe: the
site's normal studies join the simulated training studies, a bad row is listed (exit 1), and
the folder is a detector ``lesions calibrate --models`` and ``analyze`` take."""

import csv
import json

import pytest

from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.writer import write_cohort

    if bundled_detector_or_none() is None:
        pytest.skip("bundled detector not installed")
    return write_cohort(tmp_path_factory.mktemp("site"), 6, seed=616, prevalence=0.3)


def test_the_normals_join_the_recipe_and_a_bad_row_is_listed(cohort, tmp_path, osteoscan_cli):
    rows = list(csv.DictReader(cohort.open()))
    for r in rows:  # absolute paths: the copy lives elsewhere
        for col in ("image", "lesion_masks", "truth", "annotations", "boxes", "region_maps"):
            r[col] = ";".join(str(cohort.parent / p) for p in r[col].split(";") if p)
    normal = [r for r in rows if r["label"] == "normal"]
    normal[0]["image"] = str(tmp_path / "gone.dcm")
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out, cache = tmp_path / "site", tmp_path / "cache"
    done = osteoscan_cli("lesions", "adapt", manifest, "--out", out, "--cache", cache,
                         "--n-train", 24, "--n-select", 10, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert f"skipped {normal[0]['study_id']}" in text and "gone.dcm" in text
    assert f"{len(normal) - 1} normal studies of m.csv" in text
    det = HotspotDetector.load(out)
    block = det.card["site_adaptation"]
    assert block == {k: v for k, v in json.loads((out / "adaptation.json").read_text()).items()
                     if k != "failed"}
    assert block["normals"] == len(normal) - 1 and block["own_studies"] == 24
    assert block["select_studies"] == 10 and len(list(cache.glob("*.npz"))) == 34
    assert det.card["count_band"] == bundled_detector_or_none().card["count_band"]
    if det.picture is not None:  # the picture variant is the bundle's, and says so
        assert det.picture.card["site_adaptation"]["normals"] == 0
    again = osteoscan_cli("lesions", "calibrate", manifest, "--models", out, "--out",
                          tmp_path / "cal", "--max-fpr", "0.5", "--on-average")
    assert again.returncode == 1 and (tmp_path / "cal" / "hotspot_detector.json").is_file()
