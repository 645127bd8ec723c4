"""The predictions reader accepts the documented file and rejects broken ones with InputError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from osteoscan.errors import InputError
from osteoscan.evaluation.io import read_card_threshold, read_manifest_columns, read_predictions


def _write(tmp_path: Path, df: pd.DataFrame, name: str = "p.csv") -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _binary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": ["s1", "s2", "s3"],
            "patient_id": ["p1", "p1", "p2"],
            "label": ["normal", "metastasis", "metastasis"],
            "prob_metastasis": [0.2, 0.8, 0.6],
            "predicted": ["normal", "metastasis", "metastasis"],
        }
    )


def test_reads_binary_and_multiclass(tmp_path: Path) -> None:
    p = read_predictions(_write(tmp_path, _binary()))
    assert p.class_names == ("normal", "metastasis") and p.y.tolist() == [0, 1, 1]
    assert np.allclose(p.prob[:, 1], [0.2, 0.8, 0.6]) and "predicted" in p.extra.columns
    df = pd.DataFrame(
        {
            "study_id": ["a", "b"],
            "patient_id": ["1", "2"],
            "label": ["adeno", "normal"],
            "prob_normal": [0.2, 0.7],
            "prob_adeno": [0.5, 0.2],
            "prob_other": [0.3, 0.1],
        }
    )
    m = read_predictions(_write(tmp_path, df, "m.csv"))
    assert m.class_names == ("normal", "adeno", "other") and m.y.tolist() == [1, 0]
    assert m.negative_index == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="patient_id"), "missing column(s) patient_id"),
        (
            lambda d: d.assign(prob_metastasis=[0.2, np.nan, 0.3]),
            "missing/non-numeric probabilities (study s2)",
        ),
        (lambda d: d.assign(prob_metastasis=[0.2, 1.3, 0.3]), "outside [0, 1]"),
        (
            lambda d: d.assign(label=["normal", "bone", "metastasis"]),
            "labels ['bone'] are not among",
        ),
        (lambda d: d.assign(label=["normal", None, "metastasis"]), "without a label (study s2)"),
        (lambda d: d.assign(study_id=["s1", "s1", "s3"]), "duplicate study_id s1"),
        (lambda d: d.drop(columns="prob_metastasis"), "no probability columns"),
        (lambda d: d.rename(columns={"prob_metastasis": "prob_tumour"}), "must be prob_metastasis"),
    ],
)
def test_bad_files_raise_input_error_naming_file(tmp_path: Path, change, message: str) -> None:
    path = _write(tmp_path, change(_binary()), "bad.csv")
    with pytest.raises(InputError) as err:
        read_predictions(path)
    assert str(err.value).startswith("bad.csv:") and message in str(err.value)


def test_multiclass_rows_must_sum_to_one(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"study_id": ["a"], "patient_id": ["1"], "label": ["x"], "prob_x": [0.5], "prob_y": [0.2]}
    )
    with pytest.raises(InputError, match="do not sum to 1"):
        read_predictions(_write(tmp_path, df))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_predictions(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_predictions(tmp_path / "empty.csv")


def test_manifest_alignment_and_card(tmp_path: Path) -> None:
    p = read_predictions(_write(tmp_path, _binary()))
    man = pd.DataFrame({"study_id": ["s3", "s1"], "site": ["B", "A"], "lesion_count": [5, 0]})
    aligned = read_manifest_columns(_write(tmp_path, man, "man.csv"), p)
    assert (
        aligned["site"].tolist()[0] == "A"
        and pd.isna(aligned["site"][1])
        and aligned["site"][2] == "B"
    )
    (tmp_path / "model.json").write_text(json.dumps({"threshold": 0.37}))
    assert read_card_threshold(tmp_path / "model.json") == 0.37
    (tmp_path / "bad.json").write_text(json.dumps({"class_names": []}))
    with pytest.raises(InputError, match="bad.json: no 'threshold' key"):
        read_card_threshold(tmp_path / "bad.json")
    (tmp_path / "multi.json").write_text(
        json.dumps({"threshold": None, "classes": ["a", "b", "c"]})
    )
    assert read_card_threshold(tmp_path / "multi.json") is None
    (tmp_path / "text.json").write_text(json.dumps({"threshold": "high"}))
    with pytest.raises(InputError, match="text.json: no numeric 'threshold'"):
        read_card_threshold(tmp_path / "text.json")


def test_negative_and_positive_label_synonyms_are_accepted(tmp_path: Path) -> None:
    """Issue 13 item 6: predictions labelled ``no_metastasis`` (any case) were refused."""
    df = _binary().assign(label=["No_Metastasis", "METASTATIC", "metastasis"],
                          predicted=["no metastasis", "Positive", "normal"])
    p = read_predictions(_write(tmp_path, df))
    assert p.y.tolist() == [0, 1, 1]
    from osteoscan.evaluation.io import model_decisions

    assert model_decisions(p).tolist() == [False, True, False]
    with pytest.raises(InputError, match="labels \\['tumour'\\]"):
        read_predictions(_write(tmp_path, df.assign(label=["tumour", "normal", "metastasis"]), "t.csv"))


def test_a_synonym_that_is_a_class_means_only_that_class(tmp_path: Path) -> None:
    df = pd.DataFrame({"study_id": ["a", "b", "c"], "patient_id": ["1", "2", "3"],
                       "label": ["Benign", "no_metastasis", "metastasis"],
                       "prob_normal": [0.2, 0.7, 0.1], "prob_benign": [0.5, 0.2, 0.1],
                       "prob_metastasis": [0.3, 0.1, 0.8]})
    m = read_predictions(_write(tmp_path, df, "m.csv"))
    assert m.y.tolist() == [1, 0, 2] and m.negative_index == 0
