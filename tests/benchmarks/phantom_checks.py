"""Checks shared by the independent phantoms' tests (site_x, site_z): a cohort's masks lie
on counts above their surroundings (and their mirror images do not), a seed gives the same
bytes, and a generator does not import osteoscan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import binary_dilation

from osteoscan.io import read_mask


def read_cohort(manifest: Path):
    """The cohort's manifest through osteoscan's reader (it validates) and its rows; at least
    one study is metastatic."""
    import osteoscan as osc

    m = osc.read_manifest(manifest, validate=False)
    assert m.validate() == []
    rows = m.frame.to_dict("records")
    assert any(r["label"] == "metastasis" for r in rows), "precondition: a metastatic study"
    return m, rows


def ring_ratio(img: np.ndarray, m: np.ndarray, others: np.ndarray) -> float:
    """Mean counts in the mask over the mean in a 3-pixel ring outside all lesions."""
    ring = binary_dilation(m, iterations=3) & ~m & ~others
    return float(img[m].mean() / max(img[ring].mean(), 1e-6))


def read_masks(manifest: Path, row: dict, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The row's instance masks per view, each of the views' ``shape``."""
    masks = {}
    for part in row["lesion_masks"].split(";"):
        view, rel = part.split(":", 1)
        masks[view] = read_mask(manifest.parent / rel, instances=True)
        assert masks[view].shape == shape
    return masks


def on_counts(scan, masks: dict[str, np.ndarray], ids, known) -> tuple[int, int, int]:
    """(lesions above their ring, mirrored masks above theirs by 1.2, lesions seen) over the
    lesions ``ids`` of both views; every mask id must be in ``known``."""
    hits = mirrored = total = 0
    for view, img in (("anterior", scan.anterior), ("posterior", scan.posterior)):
        mk = masks[view]
        assert set(np.unique(mk)) - {0} <= set(known)
        for k in ids:
            if not (mk == k).any():
                continue
            total += 1
            hits += ring_ratio(img, mk == k, mk > 0) > 1.0
            flip = np.fliplr(mk)
            if (flip == k).any():
                mirrored += ring_ratio(img, flip == k, flip > 0) > 1.2
    return hits, mirrored, total


def same_files(a: Path, b: Path) -> list[Path]:
    """The files of two cohort folders, which must be the same, byte for byte."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    return files


def assert_no_osteoscan_import(site: str) -> int:
    """No source file of ``benchmarks/foreign/<site>`` imports osteoscan; returns how many."""
    pkg = Path(__file__).resolve().parents[2] / "benchmarks" / "foreign" / site
    sources = list(pkg.glob("*.py"))
    for src in sources:
        text = src.read_text()
        assert "import osteoscan" not in text and "from osteoscan" not in text, src.name
    return len(sources)
