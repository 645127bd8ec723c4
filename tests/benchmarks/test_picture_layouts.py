"""benchmarks/picture_layouts.py: two detectors' AUC per capture layout from score caches."""

import csv
import json

import numpy as np
import pytest

from benchmarks.bench_site_threshold import cache_path
from benchmarks.picture_layouts import main


def _cohort(tmp_path, name: str, rng) -> tuple:
    folder = tmp_path / name
    folder.mkdir()
    manifest = folder / "manifest.csv"
    ids = [f"{name}-{i}" for i in range(80)]
    labels = [i % 2 for i in range(80)]
    layouts = ["plain" if i < 40 else "header" for i in range(80)]
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["study_id", "layout"])
        w.writerows(zip(ids, layouts, strict=True))
    # detector a ranks plain captures well and header ones at random; b ranks both well
    noise = rng.random(80)
    pa = [(0.5 * y + 0.5 * n) if lay == "plain" else n for y, n, lay in zip(labels, noise, layouts)]
    pb = [0.5 * y + 0.5 * n for y, n in zip(labels, noise)]
    for cache, p in (("a", pa), ("b", pb)):
        path = cache_path(manifest, tmp_path / cache)
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps({"scored": [
            {"study_id": i, "patient_id": i, "label": y, "domain": "picture", "probability": q}
            for i, y, q in zip(ids, labels, p)]}))
    return f"{name}={manifest}"


def test_per_layout_aucs_find_the_layout_one_detector_misses(tmp_path):
    rng = np.random.default_rng(0)
    specs = [_cohort(tmp_path, n, rng) for n in ("own", "x")]
    out = tmp_path / "layouts.json"
    res = main([str(out), *specs, "--a", str(tmp_path / "a"), "--b", str(tmp_path / "b")])
    assert json.loads(out.read_text())["pooled"]["all"]["a"]["n"] == 160
    plain, header = res["pooled"]["plain"], res["pooled"]["header"]
    assert plain["a"]["auc"] == pytest.approx(plain["b"]["auc"]) and plain["a"]["auc"] > 0.8
    assert header["b"]["auc"] > 0.8 > 0.7 > header["a"]["auc"]
    assert header["difference"]["auc_diff"] > 0.2 and header["difference"]["delong_p"] < 0.01
    assert set(res["cohorts"]) == {"own", "x"} and res["cohorts"]["x"]["header"]["a"]["n"] == 40
