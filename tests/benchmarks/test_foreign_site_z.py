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

import numpy as np
from scipy.ndimage import binary_dilation

import osteoscan as osc
from benchmarks.foreign.site_z import write_cohort
from osteoscan.io import read_mask

SEED = 3


def _cohort(tmp_path: Path, name: str, n: int = 4) -> Path:
    return write_cohort(tmp_path / name, n, SEED, 0.5, progress=False)


def _ring_ratio(img: np.ndarray, m: np.ndarray, others: np.ndarray) -> float:
    """Mean counts in the mask over the mean in a 3-pixel ring outside all lesions."""
    ring = binary_dilation(m, iterations=3) & ~m & ~others
    return float(img[m].mean() / max(img[ring].mean(), 1e-6))


def test_cohort_reads_through_osteoscan(tmp_path: Path) -> None:
    manifest = _cohort(tmp_path, "a")
    m = osc.read_manifest(manifest, validate=False)
    assert m.validate() == []
    rows = m.frame.to_dict("records")
    assert any(r["label"] == "metastasis" for r in rows), "precondition: a metastatic study"
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
        masks = {}
        for part in row["lesion_masks"].split(";"):
            view, rel = part.split(":", 1)
            masks[view] = read_mask(manifest.parent / rel, instances=True)
            assert masks[view].shape == scan.shape
        for view, img in (("anterior", scan.anterior), ("posterior", scan.posterior)):
            mk = masks[view]
            assert set(np.unique(mk)) - {0} <= {x["id"] for x in truth["lesions"]}
            for k in (x["id"] for x in truth["lesions"]):
                if not (mk == k).any():
                    continue
                total += 1
                hits += _ring_ratio(img, mk == k, mk > 0) > 1.0
                flip = np.fliplr(mk)
                if (flip == k).any():
                    mirrored += _ring_ratio(img, flip == k, flip > 0) > 1.2
    assert total > 0
    assert hits / total >= 0.9
    assert mirrored / total < hits / total


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = _cohort(tmp_path, "a", 2).parent, _cohort(tmp_path, "b", 2).parent
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(files) >= 1 + 2 * 4
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_generator_does_not_import_osteoscan() -> None:
    pkg = Path(__file__).resolve().parents[2] / "benchmarks" / "foreign" / "site_z"
    sources = list(pkg.glob("*.py"))
    assert len(sources) >= 3
    for src in sources:
        text = src.read_text()
        assert "import osteoscan" not in text and "from osteoscan" not in text, src.name
