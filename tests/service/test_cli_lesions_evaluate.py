"""``osteoscan lesions evaluate``: the bundled detector by default, on your manifest (--data),
through the installed console script; a bad row is listed and the exit code is 1."""

import csv
import json

import pytest

from osteoscan.lesions.patient import bundled_detector_or_none


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.writer import write_cohort

    return write_cohort(tmp_path_factory.mktemp("cohort"), 4, seed=77, prevalence=0.5)


def test_evaluate_scores_the_bundled_detector_on_a_manifest(cohort, tmp_path, osteoscan_cli):
    if bundled_detector_or_none() is None:
        pytest.skip("bundled detector not installed")
    out = tmp_path / "m.json"
    done = osteoscan_cli("lesions", "evaluate", "--data", cohort, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    m = json.loads(out.read_text())
    assert m["stage"] == "detector" and m["studies"] == 4
    assert m["lesion_auc_delineated"] is None  # the networks' figure, not the detector's
    assert set(m["called"]) == {"sensitivity", "specificity"}
    assert m["called"]["sensitivity"]["n"] + m["called"]["specificity"]["n"] == 4
    assert "pearson_r_ci" in m["bsi"] and "patient AUC" in done.stdout
    if m["patient"] is not None:  # both classes drawn
        lo, hi = m["patient"]["auc_ci"]
        assert lo <= m["patient"]["auc"] <= hi


def test_a_row_that_cannot_be_read_is_listed_and_exits_1(cohort, tmp_path, osteoscan_cli):
    rows = list(csv.DictReader(cohort.open()))
    broken = tmp_path / "manifest.csv"
    for r in rows:  # absolute paths: the copy lives elsewhere
        for col in ("image", "lesion_masks", "truth", "annotations", "boxes", "region_maps"):
            r[col] = ";".join(str(cohort.parent / p) for p in r[col].split(";") if p)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not a DICOM file" * 64)
    rows[1]["image"] = str(junk)
    with broken.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    done = osteoscan_cli("lesions", "evaluate", "--data", broken, "--out", tmp_path / "m.json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert rows[1]["study_id"] in done.stdout and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "m.json").read_text())["studies"] == 3
