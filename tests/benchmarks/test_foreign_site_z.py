"""The independent site_z cohort reads through osteoscan's documented manifest reader.

The generator itself does not import osteoscan; only this test does, to check that
``read_manifest(...).load(i)`` reads what it wrote (both camera models: the one multi-frame
file and the two-file folder), that the instance masks have the views' size and orientation
(metastases sit on counts above their surroundings, a mirrored mask does not), that the
manifest validates and that a seed gives identical bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.foreign.site_z import write_cohort

from .phantom_checks import (
    assert_no_osteoscan_import,
    on_counts,
    read_cohort,
    read_masks,
    same_files,
)

SEED = 3


def _cohort(tmp_path: Path, name: str, n: int = 4) -> Path:
    return write_cohort(tmp_path / name, n, SEED, 0.5, progress=False)


def test_cohort_reads_through_osteoscan(tmp_path: Path) -> None:
    manifest = _cohort(tmp_path, "a")
    m, rows = read_cohort(manifest)
    assert {r["camera"] for r in rows} == {"anyscan", "symbia"}, "precondition: both cameras"
    hits, mirrored, total = 0, 0, 0
    for i, row in enumerate(rows):
        scan, label = m.load(i)
        assert label.site == "site_z" and label.label == row["label"]
        truth = json.loads((manifest.parent / row["truth"]).read_text())
        assert label.lesion_count == len(truth["lesions"])
        assert (float(row["bsi"]) > 0) == (row["label"] == "metastasis")
        assert {v.view for v in scan.views} == {"anterior", "posterior"}
        assert all(v.rule == "view_code" for v in scan.views)
        masks = read_masks(manifest, row, scan.shape)
        ids = [x["id"] for x in truth["lesions"]]
        h, mi, t = on_counts(scan, masks, ids, ids)
        hits, mirrored, total = hits + h, mirrored + mi, total + t
    assert total > 0
    assert hits / total >= 0.9
    assert mirrored / total < hits / total


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = _cohort(tmp_path, "a", 2).parent, _cohort(tmp_path, "b", 2).parent
    files = same_files(a, b)
    assert len(files) >= 1 + 2 * 4


def test_generator_does_not_import_osteoscan() -> None:
    assert assert_no_osteoscan_import("site_z") >= 3
