"""``benchmarks.foreign.captures``: a cohort osteoscan did not draw, written as screen captures
that osteoscan reads back as pictures, labels and patients kept."""

import csv

from benchmarks.foreign.captures import main


def test_a_cohort_becomes_pictures_with_its_labels(tmp_path):
    from osteoscan.io import read_manifest
    from osteoscan.lesions.candidates import is_picture
    from osteoscan.simulate.writer import write_cohort

    source = write_cohort(tmp_path / "dicom", 5, seed=31, prevalence=0.4)
    rows = list(csv.DictReader(source.open()))
    path = main(["--data", str(source), "--out", str(tmp_path / "caps"), "--seed", "3"])
    m = read_manifest(path)
    assert [m.value(i, "patient_id") for i in range(len(m))] == [r["patient_id"] for r in rows]
    assert [m.value(i, "label") for i in range(len(m))] == [r["label"] for r in rows]
    assert len({m.value(i, "layout") for i in range(len(m))}) == len(rows)  # layouts in turn
    assert all(is_picture(m.load_scan(i)) for i in range(len(m)))
    normals = main(["--data", str(source), "--out", str(tmp_path / "n"), "--normals-only",
                    "--limit", "1"])
    kept = list(csv.DictReader(normals.open()))
    assert len(kept) == 1 and kept[0]["label"] == "normal"
