"""The independent simulated site ``benchmarks/foreign/site_y`` (issue 16): its cohort reads
through osteoscan's documented manifest reader, its masks sit on the lesions in the views as
loaded, the same seed gives the same bytes, and the generator does not import osteoscan."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import osteoscan as osc
from osteoscan.io import read_mask

ROOT = Path(__file__).parents[2]
PKG = ROOT / "benchmarks" / "foreign" / "site_y"


def _generate(out: Path, seed: int = 3) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.foreign.site_y", "--out", str(out), "--n", "4",
                           "--seed", str(seed), "--metastatic-fraction", "0.75"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site_y") / "a"
    run = _generate(out)
    assert run.returncode == 0, run.stderr
    return out


def _excess(img: np.ndarray, mask: np.ndarray) -> float:
    """Mean counts in the mask minus the mean of a ring 2-4 pixels around it."""
    ring = ndimage.binary_dilation(mask, iterations=4) & ~ndimage.binary_dilation(mask, iterations=1)
    return float(img[mask].mean() - img[ring].mean())


def test_manifest_validates_and_views_match_masks(cohort):
    m = osc.read_manifest(cohort / "manifest.csv")
    assert m.validate() == []
    assert len(m) == 4
    for i in range(len(m)):
        scan, _ = m.load(i)
        row = m.frame.iloc[i]
        assert row["site"] == "site_y"
        assert {v.view: v.rule for v in scan.views} == {"anterior": "view_code", "posterior": "view_code"}
        truth = json.loads((cohort / row["truth"]).read_text())
        assert sum(les["malignant"] for les in truth["lesions"]) == int(row["lesion_count"])
        for cell in row["lesion_masks"].split(";"):
            view, rel = cell.split(":", 1)
            mask = read_mask(cohort / rel, instances=True)
            assert mask.shape == getattr(scan, view).shape
            assert set(np.unique(mask)) - {0} <= {les["id"] for les in truth["lesions"]}


def test_metastases_sit_on_counts_above_their_surroundings(cohort):
    m = osc.read_manifest(cohort / "manifest.csv")
    right, mirrored, pairs = 0, 0, 0
    for i in range(len(m)):
        scan, _ = m.load(i)
        row = m.frame.iloc[i]
        truth = json.loads((cohort / row["truth"]).read_text())
        for view in ("anterior", "posterior"):
            img = getattr(scan, view)
            mask = read_mask(cohort / f"masks/{row['patient_id']}_{view}.png", instances=True)
            for les in truth["lesions"]:
                mk = mask == les["id"]
                if not les["malignant"] or not mk.any():
                    continue
                pairs += 1
                right += _excess(img, mk) > 0
                mirrored += _excess(img, mk[:, ::-1]) > 0
    assert pairs >= 4
    assert right / pairs >= 0.8
    assert right > mirrored


def test_same_seed_same_bytes(cohort, tmp_path):
    run = _generate(tmp_path / "b")
    assert run.returncode == 0, run.stderr
    files_a = sorted(p.relative_to(cohort) for p in cohort.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (cohort / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_generator_does_not_import_osteoscan():
    for path in PKG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "osteoscan" for n in names), path
