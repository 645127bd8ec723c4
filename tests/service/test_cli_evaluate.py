"""``osteoscan evaluate`` and ``osteoscan compare --render-only`` through the typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from osteoscan.service.cli import app

runner = CliRunner()


def _predictions(tmp_path: Path, name: str, strength: float, n: int = 120) -> Path:
    rng = np.random.default_rng(int(strength * 100))
    y = (np.arange(n) % 3 == 0).astype(int)
    s = np.clip(rng.normal(0.35 + strength * y, 0.15), 0, 1)
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(n)],
            "patient_id": [f"p{i // 2}" for i in range(n)],
            "label": np.where(y == 1, "metastasis", "normal"),
            "prob_metastasis": s,
        }
    ).to_csv(path, index=False)
    return path


def test_evaluate_writes_metrics_tables_and_report(tmp_path: Path) -> None:
    a = _predictions(tmp_path, "A", 0.4)
    b = _predictions(tmp_path, "B", 0.1)
    c = _predictions(tmp_path, "C", 0.2)
    pd.DataFrame(
        {
            "study_id": [f"s{i}" for i in range(120)],
            "site": ["x", "y"] * 60,
            "scanner": ["GE", "Siemens", "GE"] * 40,
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "model.json").write_text(
        json.dumps({"threshold": 0.55, "class_names": ["normal", "metastasis"]})
    )
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(a),
            "--manifest",
            str(tmp_path / "m.csv"),
            "--card",
            str(tmp_path / "model.json"),
            "--out",
            str(out),
            "--bootstrap",
            "200",
            "--by",
            "scanner",
            "--against",
            str(b),
            "--against",
            str(c),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["threshold"] == 0.55 and metrics["threshold_source"] == "card"
    assert {"site", "scanner"} <= set(metrics["subgroups"])
    comp = json.loads((out / "comparison.json").read_text())
    assert comp["holm"] and [r["model_b"] for r in comp["comparisons"]] == ["B", "C"]
    row = comp["comparisons"][0]
    assert {
        "auc_a",
        "auc_b",
        "delong_z",
        "delong_p",
        "mcnemar_p",
        "delong_p_holm",
        "mcnemar_p_holm",
    } <= set(row)
    assert row["threshold_a"] == 0.55 and row["auc_a"] > row["auc_b"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Paired comparisons" in html
    for name in (
        "metrics.csv",
        "metrics.md",
        "metrics.tex",
        "subgroups.md",
        "operating_points.csv",
    ):
        assert (out / name).is_file(), name
    tex = (out / "metrics.tex").read_text() + (out / "comparison.tex").read_text()
    assert "ci\\_low" in tex and "95\\% CI" in tex and "balanced\\_accuracy" in tex
    assert "e-" in (out / "comparison.tex").read_text()  # tiny p-values not rounded to 0.000


def test_single_comparison_has_top_level_keys(tmp_path: Path) -> None:
    a, b = _predictions(tmp_path, "A", 0.4), _predictions(tmp_path, "B", 0.3)
    res = runner.invoke(
        app,
        ["evaluate", str(a), "--against", str(b), "--out", str(tmp_path / "o"), "--bootstrap", "0"],
    )
    assert res.exit_code == 0, res.output
    comp = json.loads((tmp_path / "o" / "comparison.json").read_text())
    assert {"auc_a", "auc_b", "delong_z", "delong_p", "mcnemar_p"} <= set(comp) and not comp["holm"]


def test_use_predicted_scores_the_models_calls(tmp_path: Path) -> None:
    a = _predictions(tmp_path, "A", 0.4)
    df = pd.read_csv(a)
    df["predicted"] = np.where(df["prob_metastasis"] >= 0.3, "metastasis", "normal")
    df.to_csv(a, index=False)
    res = runner.invoke(
        app,
        ["evaluate", str(a), "--use-predicted", "--out", str(tmp_path / "o"), "--bootstrap", "0"],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    pos = df["label"] == "metastasis"
    assert metrics["threshold_source"] == "model"
    assert metrics["sensitivity"]["value"] == pytest.approx(
        (df["prob_metastasis"][pos] >= 0.3).mean()
    )
    bare = _predictions(tmp_path, "B", 0.4)
    res = runner.invoke(
        app, ["evaluate", str(bare), "--use-predicted", "--out", str(tmp_path / "p")]
    )
    assert "predicted" in str(res.exception)


def test_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"study_id": ["a"], "label": ["normal"], "prob_metastasis": [0.2]}).to_csv(
        bad, index=False
    )
    res = runner.invoke(app, ["evaluate", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "patient_id" in str(res.exception)
    from osteoscan.errors import InputError

    assert isinstance(res.exception, InputError)  # the hub turns it into one line + exit 2
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_compare_render_only(tmp_path: Path) -> None:
    for arm, strength in (("x", 0.4), ("y", 0.2)):
        d = tmp_path / "arms" / arm / "predictions"
        d.mkdir(parents=True)
        df = pd.read_csv(_predictions(tmp_path, arm, strength))
        df.iloc[:60].to_csv(d / "fold-0.csv", index=False)
        df.iloc[60:].to_csv(d / "fold-1.csv", index=False)
    res = runner.invoke(app, ["compare", "--render-only", str(tmp_path), "--bootstrap", "50"])
    assert res.exit_code == 0, res.output
    assert "best" in res.output and (tmp_path / "comparison" / "report.html").is_file()
