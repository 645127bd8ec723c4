"""docs/walkthrough.md: every ``osteoscan`` command of its block runs, as written, through the
installed console script on a tiny simulated cohort (options appended only make it small)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from .conftest import run_osteoscan

DOC = Path(__file__).parents[2] / "docs" / "walkthrough.md"

SMALL = {  # appended to the documented command (a repeated option: the last one wins)
    ("simulate",): ["--n", "8"],
    ("lesions", "cv"): ["--folds", "2", "--seg-epochs", "0", "--region-epochs", "0",
                        "--clf-epochs", "1", "--tiny"],  # small forests for the default rule
    ("evaluate",): ["--bootstrap", "100"],
    ("analyze",): ["--workers", "1"],
}


def test_the_walkthrough_block_is_found_and_only_calls_existing_commands():
    commands = walkthrough_commands()
    assert len(commands) == 5
    for args in commands:  # each documented command parses (its --help works)
        res = run_osteoscan(*args[: 2 if args[0] in ("lesions", "dataset") else 1], "--help")
        assert res.returncode == 0, res.stderr


def walkthrough_commands() -> list[list[str]]:
    """The ``osteoscan ...`` lines of the documented block, split as a shell would."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- walkthrough-commands.*?```bash\n(.*?)```", text, re.S)
    assert block, "docs/walkthrough.md lost its command block"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines() if line.startswith("osteoscan ")]


def _small(args: list[str]) -> list[str]:
    key = tuple(args[:2]) if args[0] == "lesions" else (args[0],)
    return args + SMALL.get(key, [])


@pytest.mark.slow  # five commands: about 60 s of CPU (several minutes on the loaded 2-core machine)
def test_the_walkthrough_runs_as_written(tmp_path):
    pytest.importorskip("osteoscan.simulate.captures")  # simulate --captures: issue 14 items 1-2
    commands = walkthrough_commands()
    assert [c[0] for c in commands] == ["simulate", "dataset", "lesions", "evaluate", "analyze"]
    for args in commands:
        res = run_osteoscan(*_small(args), cwd=tmp_path, timeout=900)
        assert res.returncode == 0, f"{' '.join(args)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    summary = json.loads((tmp_path / "cv" / "summary.json").read_text())
    assert summary["n_studies"] == 8 and summary["lesion_auc"]["value"] is not None
    assert summary["settings"]["init"] == "bundled" and summary["settings"]["stage"] == "detector"
    oof = pd.read_csv(tmp_path / "cv" / "studies_oof.csv")
    assert len(oof) == 8 and oof["prob_metastasis"].between(0, 1).all()
    metrics = json.loads((tmp_path / "cv" / "evaluation" / "metrics.json").read_text())
    assert metrics  # the patient-level evaluation of the out-of-fold predictions
    assert (tmp_path / "cv" / "models" / "hotspot_detector.safetensors").is_file()
    assert len(list((tmp_path / "reports" / "reports").glob("*.html"))) == 8  # one per capture
    lesions = pd.read_csv(tmp_path / "cv" / "lesions_oof.csv")
    assert lesions["picture_box"].notna().all()  # captures: every box also on its picture
    study = json.loads(next((tmp_path / "reports" / "studies").glob("*.json")).read_text())
    assert "hotspots" in study
    assert "hotspot-first detector" in json.dumps(study)  # the cohort's detector decided the study
