"""The paper study configs run end to end (simulate -> train every arm -> aggregate) in tiny form.

Every arm of each study runs on 12 simulated studies with tiny models and one step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osteoscan.service.cli import app

PAPERS = Path(__file__).resolve().parents[2] / "configs" / "papers"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fewer_card_bootstraps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training's model-card AUC CI loops 500 scikit-learn bootstraps per split (seconds per
    arm); the smoke runs do not read those CIs, so they get 20 replicates."""
    fit = pytest.importorskip("osteoscan.training.fit")
    original = fit.patient_bootstrap_auc

    def quick(*args, **kwargs):
        return original(*args, **{**kwargs, "n_boot": 20})

    monkeypatch.setattr(fit, "patient_bootstrap_auc", quick)


def _run(study: str, out: Path, arms: list[str]) -> dict:
    pytest.importorskip("osteoscan.training.trainer")
    args = [
        "compare",
        str(PAPERS / f"{study}.yaml"),
        "--tiny",
        "--set",
        "data.simulate.n=12",
        "--out",
        str(out),
        "--bootstrap",
        "20",
    ]
    for arm in arms:
        args += ["--arm", arm]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    return json.loads((out / "comparison" / "summary.json").read_text())


def _arms(study: str) -> list[str]:
    import yaml

    return [a["name"] for a in yaml.safe_load((PAPERS / f"{study}.yaml").read_text())["arms"]]


def test_convnext_vs_transformers_smoke(tmp_path: Path) -> None:
    arms = _arms("convnext_vs_transformers")
    summary = _run("convnext_vs_transformers", tmp_path, arms)
    assert summary["failed"] == []
    assert set(summary["sets"]) == {"internal", "external"}  # internal validation + external site
    ext = summary["sets"]["external"]
    assert list(ext["arms"]) == arms == ["resnet18", "deit", "vit_l16", "swin_b", "convnext_l"]
    assert all(0.0 <= a["pooled"]["auc"]["value"] <= 1.0 for a in ext["arms"].values())
    assert "burden_oligo_poly" in ext["arms"]["resnet18"]["pooled"]["subgroups"]
    assert (tmp_path / "comparison" / "external" / "table.tex").is_file()
    assert (tmp_path / "manifest.csv").is_file()


def test_lung_multiclass_smoke(tmp_path: Path) -> None:
    arms = _arms("lung_multiclass_inrac")
    summary = _run("lung_multiclass_inrac", tmp_path, arms)
    assert summary["failed"] == []
    internal = summary["sets"]["internal"]
    assert list(internal["arms"]) == arms and len(arms) == 9
    arm = internal["arms"]["D3_aggregated_inrac18"]["pooled"]
    assert arm["class_names"] == ["no_metastasis", "adenocarcinoma", "non_adenocarcinoma"]
    assert "auc_micro" in arm and "binary_collapse" in arm
