"""DeLong AUC variance, CI and paired test agree with R's pROC to 1e-6.

Reference values were produced by ``tests/evaluation/proc_reference.R`` (pROC 1.18.0) and are
committed as ``proc_reference.json``; the ``needs_r`` test re-runs that script live.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from osteoscan.evaluation.statistics import delong_ci, delong_roc_test, delong_roc_variance

HERE = Path(__file__).parent
FIXTURE = HERE / "proc_reference.json"
TOL = 1e-6


def _check_against(reference: dict) -> int:
    checked = 0
    for name, d in reference["datasets"].items():
        y = np.asarray(d["y"])
        scores = {k: np.asarray(v, dtype=float) for k, v in d["scores"].items()}
        for key, ref in d["single"].items():
            auc, var = delong_roc_variance(y, scores[key])
            _, low, high = delong_ci(y, scores[key])
            got = {"auc": auc, "var": var, "ci_low": low, "ci_high": high}
            for field, value in got.items():
                assert value == pytest.approx(ref[field], abs=TOL), (name, key, field)
                checked += 1
        for pair, ref in d["paired"].items():
            r = delong_roc_test(y, scores[ref["a"]], scores[ref["b"]])
            assert r["delong_z"] == pytest.approx(ref["z"], abs=TOL), (name, pair)
            assert r["delong_p"] == pytest.approx(ref["p"], abs=TOL), (name, pair)
            checked += 2
    return checked


def test_delong_matches_committed_proc_values() -> None:
    reference = json.loads(FIXTURE.read_text())
    assert set(reference["datasets"]) == {"aSAH", "synthetic_ties"}
    # s100b on aSAH is pROC's documented example: AUC 0.7314, 95% CI 0.6301-0.8326
    assert reference["datasets"]["aSAH"]["single"]["s100b"]["auc"] == pytest.approx(
        0.7314, abs=1e-4
    )
    assert _check_against(reference) == 2 * (3 * 4 + 3 * 2)


def test_paired_test_is_antisymmetric_and_detects_identical_scores() -> None:
    d = json.loads(FIXTURE.read_text())["datasets"]["aSAH"]
    y, a, b = np.asarray(d["y"]), np.asarray(d["scores"]["s100b"]), np.asarray(d["scores"]["wfns"])
    ab, ba = delong_roc_test(y, a, b), delong_roc_test(y, b, a)
    assert ab["delong_z"] == pytest.approx(-ba["delong_z"])
    assert ab["delong_p"] == pytest.approx(ba["delong_p"])
    assert ab["diff_ci_low"] < ab["auc_diff"] < ab["diff_ci_high"]
    same = delong_roc_test(y, a, a)
    assert same["delong_p"] == 1.0 and same["delong_z"] == 0.0


def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "library(pROC); library(jsonlite)"], capture_output=True, timeout=120
    )
    return probe.returncode == 0


@pytest.mark.needs_r
def test_delong_matches_live_proc(tmp_path: Path) -> None:
    if not _r_available():
        pytest.skip(
            "Rscript with pROC and jsonlite not found (make r-deps: apt-get install r-base-core r-cran-proc r-cran-jsonlite)"
        )
    out = tmp_path / "ref.json"
    run = subprocess.run(
        ["Rscript", str(HERE / "proc_reference.R"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    live = json.loads(out.read_text())
    assert _check_against(live) == 36
    committed = json.loads(FIXTURE.read_text())
    assert live["datasets"]["synthetic_ties"]["y"] == committed["datasets"]["synthetic_ties"]["y"]
