"""``benchmarks/compare_cv_rules.py``: paired comparison of ``lesions cv`` runs on one cohort."""

import numpy as np
import pandas as pd
import pytest


def _run(folder, probs, labels, called):
    folder.mkdir()
    pd.DataFrame({"study_id": [f"S{i:03d}" for i in range(len(probs))],
                  "patient_id": [f"P{i:03d}" for i in range(len(probs))],
                  "label": ["metastasis" if y else "normal" for y in labels],
                  "prob_metastasis": probs,
                  "predicted": ["metastasis" if c else "normal" for c in called],
                  "fold": [i % 5 for i in range(len(probs))]}).to_csv(folder / "studies_oof.csv",
                                                                      index=False)
    return folder


def test_runs_are_compared_on_the_same_studies(tmp_path):
    from benchmarks.compare_cv_rules import compare

    rng = np.random.default_rng(0)
    y = np.arange(60) % 2 == 0
    good = np.where(y, 0.8, 0.2) + rng.normal(0, 0.1, 60)
    poor = rng.random(60)
    a = _run(tmp_path / "a", poor, y, poor > 0.5)
    b = _run(tmp_path / "b", good, y, good > 0.5)
    out = compare({"a": a, "b": b}, n_boot=50)
    fa, fb = out["figures"]["a"], out["figures"]["b"]
    assert fb["patient_auc"] > 0.95 and fb["normals_called"] == pytest.approx(
        float((good[~y] > 0.5).mean()))
    assert fa["sensitivity"] == pytest.approx(float((poor[y] > 0.5).mean()))
    d = out["versus"]["b_minus_a"]["delong"]
    assert d["auc_diff"] == pytest.approx(fb["patient_auc"] - fa["patient_auc"])
    assert d["delong_p"] < 0.01


def test_runs_on_different_studies_are_refused(tmp_path):
    from benchmarks.compare_cv_rules import compare

    y = np.arange(10) % 2 == 0
    a = _run(tmp_path / "a", np.linspace(0, 1, 10), y, y)
    b = _run(tmp_path / "b", np.linspace(0, 1, 12), np.arange(12) % 2 == 0, np.arange(12) % 2 == 0)
    with pytest.raises(SystemExit, match="not the same studies"):
        compare({"a": a, "b": b}, n_boot=10)
