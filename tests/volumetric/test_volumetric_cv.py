"""The k-fold comparison writes compare's layout and a table with DeLong p-values."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from osteoscan.volumetric.training import Seg3DSettings
from osteoscan.workflows.seg3d import _fold_indices, cross_validate

from .conftest import make_case

torch.set_num_threads(1)


@pytest.fixture
def six():
    return [make_case(s, primary=("lung", "other", None)[s % 3]) for s in range(6)]


def test_folds_are_patient_level_and_cover_every_case_once(six):
    folds = _fold_indices(six, 2, seed=0)
    assert len(folds) == 2
    tested = sorted(i for _, test in folds for i in test)
    assert tested == list(range(6))
    for train, test in folds:
        assert not set(train) & set(test)


def test_cross_validation_through_compare(tmp_path, six):
    base = dict(patch=(16, 16, 16), widths=(4, 8), epochs=1, samples_per_case=1, batch_size=2,
                spacing_mm=4.0)
    arms = {"mtunet3d": Seg3DSettings(architecture="mtunet3d", **base),
            "unet3d": Seg3DSettings(architecture="unet3d", **base)}
    result = cross_validate(six, arms, tmp_path, k=2)
    for arm in arms:
        for i in range(2):
            frame = pd.read_csv(tmp_path / "arms" / arm / "predictions" / f"fold-{i}.csv")
            assert set(frame["label"]) <= {"metastasis", "benign"}
            assert frame["prob_metastasis"].between(0, 1).all()
    table = result["table"]
    assert list(table["arm"]) == ["mtunet3d", "unet3d"]
    assert "best" in set(table["delong_p_vs_best"])
    assert (tmp_path / "comparison" / "summary.json").is_file()
    # 1 epoch x ceil(3 training cases x 1 patch / batch 2) steps, timed per fold
    assert table["train_steps"].tolist() == ["2", "2"]
    seconds = pd.read_csv(tmp_path / "arms" / "unet3d" / "seg" / "fold-0.csv")["train_seconds"]
    assert (seconds > 0).all() and seconds.nunique() == 1
    assert (table["train_min_per_fold"].astype(float) >= 0).all()


def test_cross_validation_resumes_skipping_finished_folds(tmp_path, six, monkeypatch):
    import osteoscan.workflows.seg3d as workflow

    base = dict(patch=(16, 16, 16), widths=(4, 8), epochs=1, samples_per_case=1, batch_size=2,
                spacing_mm=4.0)
    arms = {"unet3d": Seg3DSettings(architecture="unet3d", **base)}
    cross_validate(six, arms, tmp_path, k=2)
    (tmp_path / "arms" / "unet3d" / "predictions" / "fold-1.csv").unlink()  # as if killed
    trained = []
    real = workflow.train_and_fit
    monkeypatch.setattr(workflow, "train_and_fit",
                        lambda cases, *a, **kw: trained.append(len(cases)) or real(cases, *a, **kw))
    again = cross_validate(six, arms, tmp_path, k=2, resume=True)
    assert len(trained) == 1  # only the unfinished fold ran again
    assert (tmp_path / "arms" / "unet3d" / "predictions" / "fold-1.csv").is_file()
    assert again["table"]["arm"].tolist() == ["unet3d"]
    cross_validate(six, arms, tmp_path, k=2, resume=False)  # without resume: both retrained
    assert len(trained) == 3


def test_cv_summary_benchmark_reads_a_rendered_study(tmp_path, six):
    """benchmarks/seg3d_cv_summary.py: every arm with its AUC, DeLong p, DSC and budget."""
    import json

    from benchmarks.seg3d_cv_summary import SEG_KEYS, main, summarise

    base = dict(patch=(16, 16, 16), widths=(4, 8), epochs=1, samples_per_case=1, batch_size=2,
                spacing_mm=4.0)
    arms = {"mtunet3d": Seg3DSettings(architecture="mtunet3d", **base),
            "unet3d": Seg3DSettings(architecture="unet3d", **base)}
    cross_validate(six, arms, tmp_path / "study", k=2)
    result = summarise(tmp_path / "study")
    assert set(result["arms"]) == set(arms)
    other = next(a for a in arms if a != result["best_lesion_auc"])
    assert 0 <= result["arms"][other]["delong_p_vs_best"] <= 1
    assert result["arms"][result["best_lesion_auc"]]["delong_p_vs_best"] is None
    loser = next(a for a in arms if a != result["best_dice_lesion"])
    diff = result["arms"][loser][f"dice_lesion_minus_{result['best_dice_lesion']}"]
    frames = {a: pd.concat(pd.read_csv(f) for f in sorted(
        (tmp_path / "study" / "arms" / a / "seg").glob("fold-*.csv"))) for a in arms}
    expected = (frames[loser]["dice_lesion"].mean()
                - frames[result["best_dice_lesion"]]["dice_lesion"].mean())
    assert diff["value"] == pytest.approx(expected)
    assert all(f["train_steps"] == [2] for f in result["arms"].values())
    # a reference that marks nothing on every scan: each arm's difference is its own mean DSC
    hot = tmp_path / "hot"
    hot.mkdir()
    empty = frames[loser][["case_id", "patient_id"]].assign(dice_lesion=0.0)
    empty.to_csv(hot / "scans.csv", index=False)
    zero = {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    (hot / "summary.json").write_text(json.dumps({k: zero for k in SEG_KEYS}))
    with_hot = summarise(tmp_path / "study", hot)
    for arm in arms:
        assert with_hot["arms"][arm]["dice_lesion_minus_hotspot"]["value"] == pytest.approx(
            frames[arm]["dice_lesion"].mean())
    main([str(tmp_path / "study"), str(tmp_path / "out" / "cv.json")])
    assert len(pd.read_csv(tmp_path / "out" / "cv.csv")) == 2
