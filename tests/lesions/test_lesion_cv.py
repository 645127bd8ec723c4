"""``osteoscan.lesions.cv``: folds, the summary's figures, a tiny end-to-end run and resume."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from osteoscan.errors import ConfigError
from osteoscan.evaluation.io import read_predictions
from osteoscan.lesions import cv as lcv
from osteoscan.lesions.cv import CVSettings, assign_folds, cross_validate, study_positive, summarise


def _stub(patient: str, positive: bool, label: str | None = None):
    labels = {1: "malignant" if positive else "benign"}
    return SimpleNamespace(patient_id=patient, meta={"label": label} if label else {}, lesion_labels=labels)


def test_folds_keep_patients_together_and_hold_both_classes():
    rng = np.random.default_rng(0)
    studies = [_stub(f"P{i // 2}", bool(rng.random() < 0.5)) for i in range(60)]
    fold = assign_folds(studies, 5, seed=1)
    assert set(fold) == set(range(5))
    by_patient = pd.Series(fold).groupby([s.patient_id for s in studies]).nunique()
    assert (by_patient == 1).all()
    pos = np.array([study_positive(s) for s in studies])
    for k in range(5):
        assert 0 < pos[fold == k].sum() < (fold == k).sum()


def test_study_label_wins_over_outlines_and_folds_need_patients():
    assert study_positive(_stub("P", False, label="Metastatic")) == 1
    assert study_positive(_stub("P", True, label="normal")) == 0
    assert study_positive(_stub("P", True)) == 1
    with pytest.raises(ConfigError, match="--folds 5"):
        assign_folds([_stub(f"P{i}", i % 2 == 0) for i in range(4)], 5, seed=0)
    with pytest.raises(ConfigError, match="--init"):
        CVSettings(init="imagenet")
    with pytest.raises(ConfigError, match="--stage"):
        CVSettings(stage="forest")


def _frames(n_patients=40, seed=0):
    rng = np.random.default_rng(seed)
    rows, studies = [], []
    for i in range(n_patients):
        burden = int(rng.integers(0, 9))
        for j in range(int(rng.integers(1, 5))):
            y = int(rng.random() < 0.4)
            rows.append({"study": f"S{i}", "patient": f"P{i}", "view": "anterior", "box": "0,0,1,1",
                         "label": "malignant" if y else "benign",
                         "probability": float(np.clip(0.3 * y + rng.random() * 0.7, 0, 1)), "fold": i % 3,
                         "region": ("ribs", "pelvis")[j % 2], "burden": burden})
        prob = float(rng.random() * 0.5 + 0.4 * (i % 2))
        studies.append({"study_id": f"S{i}", "patient_id": f"P{i}", "label": ("normal", "metastasis")[i % 2],
                        "prob_metastasis": prob, "fold": i % 3,
                        "predicted": "metastasis" if prob >= 0.45 else "normal"})
    return pd.DataFrame(rows), pd.DataFrame(studies)


def test_summary_figures_match_their_definitions():
    lesions, studies = _frames()
    s = summarise(lesions, studies, CVSettings(n_boot=200))
    y = (lesions["label"] == "malignant").to_numpy()
    p = lesions["probability"].to_numpy()
    assert s["lesion_auc"]["value"] == pytest.approx(roc_auc_score(y, p))
    assert s["lesion_auc"]["ci_low"] < s["lesion_auc"]["value"] < s["lesion_auc"]["ci_high"]
    assert s["lesion_auc"]["method"] == "bootstrap-percentile-patient"
    assert s["patient_auc"]["value"] == pytest.approx(roc_auc_score(studies["label"] == "metastasis",
                                                                     studies["prob_metastasis"]))
    assert s["lesion_sensitivity"]["value"] == pytest.approx((p[y] >= 0.5).mean())
    assert s["lesion_specificity"]["value"] == pytest.approx((p[~y] < 0.5).mean())
    called, ys = studies["predicted"] == "metastasis", studies["label"] == "metastasis"
    assert s["patient_sensitivity"]["value"] == pytest.approx(called[ys].mean())
    assert s["patient_specificity"]["value"] == pytest.approx((~called[~ys]).mean())
    assert 0 < s["patient_specificity"]["value"] < 1  # the frames call some normals, not all
    assert sum(b["n"] for b in s["by_burden"].values()) == len(lesions)
    assert s["by_burden"]["4-6"]["n"] == int(lesions["burden"].between(4, 6).sum())
    assert set(s["by_region"]) == {"ribs", "pelvis"}
    assert (s["n_lesions"], s["n_studies"], s["n_patients"]) == (len(lesions), 40, 40)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.simulate.writer import write_cohort

    return write_cohort(tmp_path_factory.mktemp("cvcohort"), 6, seed=11, prevalence=0.5)


def test_cross_validate_writes_out_of_fold_files_and_resumes(cohort, tmp_path, monkeypatch):
    from osteoscan.lesions.data import studies_from_manifest

    studies, failed = studies_from_manifest(cohort, "box")
    assert not failed
    settings = CVSettings(folds=2, init="scratch", stage="cnn", tiny=True, seg_epochs=1, region_epochs=1,
                          clf_epochs=1, n_boot=50)
    out = tmp_path / "cv"
    summary = cross_validate(studies, out, settings)
    lesions = pd.read_csv(out / "lesions_oof.csv", dtype={"study": str})
    pred = read_predictions(out / "studies_oof.csv")
    n_outlines = sum(len(st.lesion_labels) for st in studies)
    assert len(lesions) == summary["n_lesions"] == n_outlines
    assert sorted(pred.study_id) == sorted(st.scan.study_id for st in studies)
    assert set(lesions["fold"]) == {0, 1} and lesions["probability"].between(0, 1).all()
    folds = pd.read_csv(out / "studies_oof.csv").groupby("patient_id")["fold"].nunique()
    assert (folds == 1).all()
    assert (out / "folds" / "fold-1" / "models" / "lesion_classifier.safetensors").is_file()
    # resume: both folds are on disk, nothing is retrained, the same summary comes out
    monkeypatch.setattr(lcv, "run_fold", lambda *a, **k: pytest.fail("retrained a finished fold"))
    again = cross_validate(studies, out, settings, resume=True)
    assert again["lesion_auc"] == summary["lesion_auc"]
    with pytest.raises(ConfigError, match="cv.json"):
        cross_validate(studies, out, CVSettings(folds=2, init="scratch", stage="cnn", tiny=True, seed=5),
                       resume=True)


def test_summary_is_computed_from_the_files_as_written(tmp_path, monkeypatch):
    """Probabilities that differ only past the CSV's 6 decimals (a saturated noisy-OR) tie in
    studies_oof.csv; summary.json must say what the file says, fresh or resumed."""
    studies = [_stub(f"P{i}", i % 2 == 0) for i in range(8)]
    for i, st in enumerate(studies):
        st.scan = SimpleNamespace(study_id=f"S{i}")

    def fake_fold(studies, fold, k, settings, out, progress=None):
        test = [st for st, f in zip(studies, fold, strict=True) if f == k]
        # full precision ranks every positive first (AUC 1); at 6 decimals all are 1.000000
        p = [1 - 1e-9 if lcv.study_positive(st) else 1 - 2e-9 for st in test]
        rows = [{"study_id": st.scan.study_id, "patient_id": st.patient_id,
                 "label": "metastasis" if lcv.study_positive(st) else "normal", "prob_metastasis": q,
                 "predicted": "metastasis", "fold": k} for st, q in zip(test, p, strict=True)]
        les = [{"study": st.scan.study_id, "patient": st.patient_id, "view": "anterior", "box": "0,0,1,1",
                "label": st.lesion_labels[1], "probability": q, "fold": k, "region": "spine",
                "burden": 1, "picture_box": ""} for st, q in zip(test, p, strict=True)]
        lcv.write_predictions(pd.DataFrame(les, columns=lcv.LESION_COLUMNS), lcv._fold_dir(out, k) / "lesions.csv")
        lcv.write_predictions(pd.DataFrame(rows, columns=lcv.STUDY_COLUMNS), lcv._fold_dir(out, k) / "studies.csv")
        return pd.DataFrame(les, columns=lcv.LESION_COLUMNS), pd.DataFrame(rows, columns=lcv.STUDY_COLUMNS)

    monkeypatch.setattr(lcv, "run_fold", fake_fold)
    summary = cross_validate(studies, tmp_path / "cv", CVSettings(folds=2, init="scratch", stage="cnn", n_boot=50))
    pred = read_predictions(tmp_path / "cv" / "studies_oof.csv")
    written = roc_auc_score(pred.y, pred.prob[:, -1])
    assert written == 0.5
    assert summary["patient_auc"]["value"] == pytest.approx(written)
    assert summary["lesion_auc"]["value"] == pytest.approx(0.5)


def test_lesion_rows_of_a_capture_give_the_box_drawn_on_the_picture(tmp_path):
    """A capture's lesions come back with their box in view pixels and on the picture, where
    the LabelMe file has it (the reader's transform, both ways)."""
    import json

    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.data import studies_from_manifest

    # the capture reader and simulated captures: issue 14 items 1-2 (branch captures)
    write_capture_cohort = pytest.importorskip("osteoscan.simulate.captures").write_capture_cohort

    manifest = write_capture_cohort(tmp_path, 2, layouts=("framed", "wide"), seed=3, prevalence=1.0)
    studies, failed = studies_from_manifest(manifest, label_map=tmp_path / "label_map.yaml")
    assert not failed
    frame = pd.read_csv(manifest, dtype=str)
    for st, labelme in zip(studies, frame["annotations"], strict=True):
        rows = lcv.lesion_rows(LesionAnalyzer.default(), st, fold=0)
        shapes = json.loads((tmp_path / labelme).read_text())["shapes"]
        drawn = {tuple(np.round([min(p[0] for p in s["points"]), min(p[1] for p in s["points"]),
                                 max(p[0] for p in s["points"]), max(p[1] for p in s["points"])], 1))
                 for s in shapes if not s["label"].startswith("0")}
        got = {tuple(np.round([float(v) for v in r["picture_box"].split(",")], 1)) for r in rows}
        assert rows and got == drawn
        assert all(r["box"] and r["label"] in ("benign", "malignant") for r in rows)
