"""``osteoscan lesions adapt`` through the installed console script, on a tiny recipe: the
site's normal count studies join the count detector's simulated training studies, its normal
screen pictures the picture variant's, a bad row is listed (exit 1), and the folder is a
detector ``lesions calibrate --models`` and ``analyze`` take."""

import csv
import json

import pytest

from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.captures import write_capture_cohort
    from osteoscan.simulate.writer import write_cohort

    if bundled_detector_or_none() is None:
        pytest.skip("bundled detector not installed")
    folder = tmp_path_factory.mktemp("site")
    return (write_cohort(folder / "dicom", 6, seed=616, prevalence=0.3),
            write_capture_cohort(folder / "pictures", 4, seed=617, prevalence=0.3))


def _absolute(manifest, columns=("image", "lesion_masks", "truth", "annotations", "boxes",
                                 "region_maps")) -> list[dict]:
    rows = list(csv.DictReader(manifest.open()))
    for r in rows:  # absolute paths: the copy lives elsewhere
        for col in set(columns) & set(r):
            r[col] = ";".join(str(manifest.parent / p) for p in r[col].split(";") if p)
    return rows


def test_the_normals_join_their_domain_and_a_bad_row_is_listed(cohort, tmp_path,
                                                                osteoscan_cli):
    rows, pictures = _absolute(cohort[0]), _absolute(cohort[1])
    normal = [r for r in rows if r["label"] == "normal"]
    normal_pictures = sum(r["label"] == "normal" for r in pictures)
    normal[0]["image"] = str(tmp_path / "gone.dcm")
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) + ["layout"], restval="")
        w.writeheader()
        w.writerows(rows + [{k: r[k] for k in ("patient_id", "study_id", "image", "label",
                                               "site", "primary", "layout")}
                            for r in pictures])
    out, cache = tmp_path / "site", tmp_path / "cache"
    done = osteoscan_cli("lesions", "adapt", manifest, "--out", out, "--cache", cache,
                         "--n-train", 20, "--n-select", 10, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert f"skipped {normal[0]['study_id']}" in text and "gone.dcm" in text
    assert f"count: refitted on 20 simulated studies and {len(normal) - 1} normal" in text
    # the picture recipe's 20 exports and its 20 captures read back (session 17)
    assert f"picture: refitted on 40 simulated studies and {normal_pictures} normal" in text
    det = HotspotDetector.load(out)
    written = json.loads((out / "adaptation.json").read_text())
    block, picture = det.card["site_adaptation"], det.picture.card["site_adaptation"]
    assert written["domains"] == {"count": block, "picture": picture}
    assert block["normals"] == len(normal) - 1 and block["own_studies"] == 20
    assert picture["normals"] == normal_pictures and picture["select_studies"] == 10
    # count 30, their exports 30, 20 captures (no uptake balance, as the build drew them),
    # the selection studies as the matched rate reads them 10
    assert len(list(cache.glob("*-augexport-bal.npz"))) == 30
    assert len(list(cache.glob("*-augcapture.npz"))) == 20
    assert len(list(cache.glob("*.npz"))) == 90
    assert det.card["count_band"] == bundled_detector_or_none().card["count_band"]
    assert "count_band" not in det.picture.card and det.picture.card["domain"] == "picture"
    again = osteoscan_cli("lesions", "calibrate", manifest, "--models", out, "--out",
                          tmp_path / "cal", "--max-fpr", "0.5", "--on-average")
    assert again.returncode == 1 and (tmp_path / "cal" / "hotspot_detector.json").is_file()
