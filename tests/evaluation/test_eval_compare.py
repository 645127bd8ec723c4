"""Multi-arm studies: YAML parsing, the run step with a stand-in trainer, and aggregation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from osteoscan.errors import ConfigError, InputError, OsteoscanError
from osteoscan.evaluation.aggregate import aggregate_folder
from osteoscan.evaluation.compare import collect_run_predictions, load_study, parse_study, run_study

ROOT = Path(__file__).resolve().parents[2]
PAPERS = ROOT / "configs" / "papers"


def _frame(ids, y, s, patients=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": ids,
            "patient_id": patients if patients is not None else ids,
            "label": np.where(np.asarray(y) == 1, "metastasis", "normal"),
            "prob_metastasis": s,
        }
    )


def write_study_folder(root: Path, strengths: dict[str, float], k: int = 4, n: int = 160) -> dict:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    ids = np.array([f"s{i:03d}" for i in range(n)])
    fold = np.arange(n) % k
    ye = rng.integers(0, 2, 50)
    scores = {}
    for arm, strength in strengths.items():
        s = np.clip(rng.normal(0.4 + strength * y, 0.2), 0, 1)
        scores[arm] = s
        d = root / "arms" / arm / "predictions"
        d.mkdir(parents=True)
        for f in range(k):
            _frame(ids[fold == f], y[fold == f], s[fold == f]).to_csv(
                d / f"fold-{f}.csv", index=False
            )
        se = np.clip(rng.normal(0.4 + 0.5 * strength * ye, 0.2), 0, 1)
        _frame([f"e{i}" for i in range(50)], ye, se).to_csv(d / "external.csv", index=False)
    pd.DataFrame(
        {"study_id": ids, "lesion_count": np.where(y == 1, rng.integers(1, 9, n), 0)}
    ).to_csv(root / "manifest.csv", index=False)
    return {"y": y, "scores": scores, "ids": ids}


def test_aggregate_from_prediction_files(tmp_path: Path) -> None:
    data = write_study_folder(tmp_path, {"weak": 0.1, "strong": 0.4, "mid": 0.3})
    summary = aggregate_folder(tmp_path, n_boot=200)
    internal = summary["sets"]["internal"]
    assert internal["best"] == "strong"
    strong = internal["arms"]["strong"]
    assert strong["pooled"]["auc"]["value"] == pytest.approx(
        roc_auc_score(data["y"], data["scores"]["strong"])
    )
    assert len(strong["folds"]["auc"]["values"]) == 4 and strong["folds"]["auc"]["sd"] > 0
    assert strong["vs_best"] is None
    weak = internal["arms"]["weak"]["vs_best"]
    assert weak["delong_p"] < 0.05 and "delong_p_holm" in weak
    assert weak["delong_p_holm"] >= weak["delong_p"]
    assert "burden_oligo_poly" in strong["pooled"]["subgroups"]
    assert set(summary["sets"]) == {"internal", "external"}
    out = tmp_path / "comparison"
    for rel in (
        "summary.json",
        "report.html",
        "internal/table.csv",
        "internal/table.md",
        "internal/table.tex",
        "internal/roc.png",
        "external/table.csv",
        "internal/subgroups.csv",
    ):
        assert (out / rel).is_file(), rel
    assert "\\begin{tabular}" in (out / "internal/table.tex").read_text()
    assert json.loads((out / "summary.json").read_text())["sets"]["internal"]["best"] == "strong"


def test_aggregate_uses_the_models_own_calls(tmp_path: Path) -> None:
    data = write_study_folder(tmp_path, {"a": 0.4, "b": 0.2}, k=2)
    for f in sorted((tmp_path / "arms" / "a" / "predictions").glob("fold-*.csv")):
        df = pd.read_csv(f)
        df["predicted"] = np.where(df["prob_metastasis"] >= 0.3, "metastasis", "normal")
        df.to_csv(f, index=False)
    internal = aggregate_folder(tmp_path, n_boot=0)["sets"]["internal"]
    y, s = data["y"], data["scores"]["a"]
    pooled = internal["arms"]["a"]["pooled"]
    assert pooled["threshold_source"] == "model"
    assert pooled["sensitivity"]["value"] == pytest.approx((s[y == 1] >= 0.3).mean())
    assert internal["arms"]["b"]["pooled"]["threshold"] == 0.5  # no predicted column
    b_sens = internal["arms"]["b"]["pooled"]["sensitivity"]["value"]
    assert b_sens == pytest.approx((data["scores"]["b"][y == 1] >= 0.5).mean())


def test_aggregate_rejects_mismatched_labels_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no arms"):
        aggregate_folder(tmp_path)
    write_study_folder(tmp_path, {"a": 0.3, "b": 0.2})
    f = tmp_path / "arms" / "b" / "predictions" / "fold-0.csv"
    df = pd.read_csv(f)
    df.loc[0, "label"] = "metastasis" if df.loc[0, "label"] == "normal" else "normal"
    df.to_csv(f, index=False)
    with pytest.raises(InputError, match="has label"):
        aggregate_folder(tmp_path, n_boot=0)


def test_study_yaml_validation() -> None:
    with pytest.raises(ConfigError, match="arms"):
        parse_study({"data": {}}, "s.yaml")
    with pytest.raises(ConfigError, match="unique"):
        parse_study({"arms": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_study({"arms": [{"name": "a", "model": "x"}]})
    s = parse_study(
        {
            "optim": {"epochs": 3},
            "arms": [{"name": "a", "overrides": {"model": {"name": "vgg11"}}}],
            "tiny": ["optim.epochs=1"],
        },
        tiny=True,
    )
    assert s.arms[0].overrides == ("model.name=vgg11",) and s.tiny == ("optim.epochs=1",)
    assert s.base == {"optim": {"epochs": 3}}


@pytest.mark.parametrize("name", ["convnext_vs_transformers", "lung_multiclass_inrac"])
def test_paper_configs_resolve_for_every_arm(name: str) -> None:
    pytest.importorskip("osteoscan.config.train")
    from osteoscan.evaluation.compare import arm_config

    study = load_study(PAPERS / f"{name}.yaml", tiny=True)
    cfgs = {a.name: arm_config(study, a) for a in study.arms}
    assert all(c.optim.epochs == 1 and c.model.kwargs.get("tiny") for c in cfgs.values())
    if name == "convnext_vs_transformers":
        assert {c.model.name for c in cfgs.values()} == {
            "resnet18",
            "deit_base",
            "vit_large_patch16",
            "swin_base",
            "convnext_large",
        }
        assert all(c.protocol.kind == "external" for c in cfgs.values())
    else:
        assert len(cfgs["D1_raw"].data.classes) == 3
        assert (
            cfgs["D1_raw"].preprocess["views"] == "stack"
            and cfgs["D1_raw"].augment["p_affine"] == 0
        )
        assert cfgs["D3_aggregated_inrac18"].preprocess["views"] == "aggregate"
        assert cfgs["no_residual"].model.name == "inrac18_noskip"


def _fake_trainer(strength: dict[str, float]):
    """Stands in for osteoscan.training: writes the run layout training writes (k-fold)."""

    def train(cfg, run_dir: Path, studies) -> Path:
        if cfg.name == "broken":
            raise OsteoscanError("broken: model exploded")
        rng = np.random.default_rng(cfg.seed)
        ids = np.array([f"s{i}" for i in range(60)])
        y = (np.arange(60) % 2).astype(int)
        s = np.clip(rng.normal(0.4 + strength[cfg.name] * y, 0.2), 0, 1)
        for f in range(3):
            d = run_dir / f"fold{f}"
            d.mkdir(parents=True)
            m = np.arange(60) % 3 == f
            _frame(ids[m], y[m], s[m]).to_csv(d / "predictions_test.csv", index=False)
            _frame(ids[m][:2], y[m][:2], s[m][:2]).to_csv(d / "predictions_val.csv", index=False)
        _frame(ids, y, s).to_csv(run_dir / "predictions_oof.csv", index=False)
        return run_dir

    return train


def test_run_step_with_stand_in_trainer(tmp_path: Path) -> None:
    pytest.importorskip("osteoscan.config.train")
    study = parse_study(
        {
            "data": {"manifest": None},
            "protocol": {"kind": "kfold", "folds": 3},
            "arms": [{"name": "a"}, {"name": "b"}, {"name": "broken"}],
        }
    )
    failed = run_study(study, tmp_path, trainer=_fake_trainer({"a": 0.4, "b": 0.1}))
    assert list(failed) == ["broken"]
    assert sorted(p.name for p in (tmp_path / "arms" / "a" / "predictions").iterdir()) == [
        "fold-0.csv",
        "fold-1.csv",
        "fold-2.csv",
    ]
    summary = aggregate_folder(tmp_path, n_boot=50)
    assert summary["failed"] == ["broken"] and summary["sets"]["internal"]["best"] == "a"
    assert summary["protocol"] == "kfold"


def test_collect_external_protocol(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _frame(["a"], [1], [0.9]).to_csv(run / "predictions_test.csv", index=False)
    _frame(["b"], [0], [0.1]).to_csv(run / "predictions_val.csv", index=False)
    got = collect_run_predictions(run, tmp_path / "p", "external")
    assert sorted(p.name for p in got) == ["external.csv", "fold-0.csv"]
    with pytest.raises(OsteoscanError, match="no predictions_test"):
        collect_run_predictions(tmp_path / "p", tmp_path / "q", "kfold")
