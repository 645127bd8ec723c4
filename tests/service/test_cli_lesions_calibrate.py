"""``osteoscan lesions calibrate`` through the installed console script: the site's normals
set the threshold, the folder it writes is what ``analyze --lesion-models`` decides with, and
bad rows or bad settings are told by name."""

import csv
import json

import pytest

from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.writer import write_cohort

    if bundled_detector_or_none() is None:
        pytest.skip("bundled detector not installed")
    return write_cohort(tmp_path_factory.mktemp("site"), 10, seed=515, prevalence=0.3)


def _rows(manifest):
    rows = list(csv.DictReader(manifest.open()))
    for r in rows:  # absolute paths: the copy lives elsewhere
        for col in ("image", "lesion_masks", "truth", "annotations", "boxes", "region_maps"):
            r[col] = ";".join(str(manifest.parent / p) for p in r[col].split(";") if p)
    return rows


def _write(rows, path):
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_the_normals_set_the_threshold_and_analyze_decides_with_it(cohort, tmp_path,
                                                                  osteoscan_cli):
    out = tmp_path / "site"
    done = osteoscan_cli("lesions", "calibrate", cohort, "--out", out, "--max-fpr", "0.25",
                         "--on-average")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "calibration.json").read_text())
    scores = list(csv.DictReader((out / "scores.csv").open()))
    normals = sorted(float(r["probability"]) for r in scores if r["label"] == "normal")
    n = len(normals)
    k = -(-(n + 1) * 3 // 4)  # ceil((n + 1) * 0.75)
    det = HotspotDetector.load(out)
    assert normals[k - 1] < det.decision_threshold <= normals[k] if k < n else True
    assert result["domains"]["count"]["normals"] == n and result["studies"] == 10
    assert result["domains"]["count"]["rank"] == k
    called = result["called"]["count"]["normals_called"]["site"]
    assert called["k"] == sum(p >= det.decision_threshold for p in normals) == n - k
    assert "site threshold at max FPR 0.25" in done.stdout and "confidence" not in done.stdout
    assert "--lesion-models" in done.stdout
    assert all(r["site_call"] == ("metastasis" if float(r["probability"]) >=
                                  det.decision_threshold else "normal") for r in scores)
    study = _rows(cohort)[0]["image"]
    res = osteoscan_cli("analyze", study, "--out", tmp_path / "an", "--lesion-models", out)
    assert res.returncode == 0, res.stdout + res.stderr
    pred = json.loads(next((tmp_path / "an" / "studies").glob("*.json")).read_text())
    assert pred["threshold"] == det.decision_threshold
    assert pred["decision"] == ("metastasis" if pred["probability"] >= pred["threshold"]
                                else "normal")
    assert f"site threshold from {n} site normals" in pred["model"]["decided_by"]
    assert pred["model"]["site_calibration"]["rank"] == k


def test_a_bad_or_unlabelled_row_is_listed_and_exits_1(cohort, tmp_path, osteoscan_cli):
    rows = _rows(cohort)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not a DICOM file" * 64)
    rows[0]["image"], rows[1]["label"] = str(junk), ""
    rows[2]["image"] = str(tmp_path / "gone.dcm")
    done = osteoscan_cli("lesions", "calibrate", _write(rows, tmp_path / "m.csv"),
                         "--out", tmp_path / "site", "--max-fpr", "0.5", "--on-average")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = " ".join(done.stdout.split())  # rich wraps long lines
    assert f"skipped {rows[0]['study_id']}" in out and "junk.dcm" in out
    assert f"skipped {rows[1]['study_id']}: no label" in out
    assert f"skipped {rows[2]['study_id']}" in out and "gone.dcm" in out
    result = json.loads((tmp_path / "site" / "calibration.json").read_text())
    assert result["studies"] == 7 and len(result["failed"]) == 3


@pytest.mark.parametrize("args, message", [
    (("--max-fpr", "0"), "--max-fpr must lie between 0 and 1"),
    (("--max-fpr", "0.25"), "with confidence 0.95: at least 11 are needed"),  # the default
    (("--confidence", "2"), "--confidence must lie between 0 and 1"),
])
def test_a_setting_that_cannot_give_a_threshold_is_a_user_error(cohort, tmp_path, osteoscan_cli,
                                                                args, message):
    out = tmp_path / "site"
    done = osteoscan_cli("lesions", "calibrate", cohort, "--out", out, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_without_a_normal_study_nothing_is_written_and_the_bad_rows_are_still_listed(
        cohort, tmp_path, osteoscan_cli):
    rows = _rows(cohort)
    for r in rows:
        r["label"] = "metastasis"
    rows[0]["image"] = str(tmp_path / "gone.dcm")
    out = tmp_path / "site"
    done = osteoscan_cli("lesions", "calibrate", _write(rows, tmp_path / "m.csv"), "--out", out)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no study labelled normal" in done.stderr and "Traceback" not in done.stderr
    assert f"skipped {rows[0]['study_id']}" in " ".join(done.stdout.split())
    assert not out.exists()
