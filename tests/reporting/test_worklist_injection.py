"""worklist.csv and the predictions file with hostile PatientID / study ids (issue 13, item 4)."""

from __future__ import annotations

import csv

import pandas as pd

from osteoscan.csvsafe import restore
from osteoscan.reporting.results import worklist_csv, worklist_rows

EVIL = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","x")', "@SUM(1)"]


def test_worklist_cells_never_start_a_formula_and_read_back_to_the_ids(tmp_path):
    records = [{"patient_id": e, "study_id": e, "probability": 0.1 * i, "decision": "normal",
                "positive": False, "input": e} for i, e in enumerate(EVIL)]
    path = tmp_path / "worklist.csv"
    path.write_text(worklist_csv(worklist_rows(records)))
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        for key in ("patient_id", "study_id", "input"):
            assert row[key][0] not in "=+-@\t\r", row[key]
    assert sorted(restore(r["patient_id"]) for r in rows) == sorted(EVIL)


def test_predictions_file_round_trips_hostile_ids(tmp_path):
    from osteoscan.evaluation.io import read_predictions
    from osteoscan.training.predict import write_predictions

    frame = pd.DataFrame({"study_id": EVIL, "patient_id": EVIL, "label": ["normal", "metastasis", "normal"],
                          "prob_metastasis": [0.2, 0.9, 0.4], "predicted": ["normal", "metastasis", "normal"]})
    path = write_predictions(frame, tmp_path / "predictions.csv")
    assert "\n=" not in path.read_text() and "\n@" not in path.read_text()
    pred = read_predictions(path)
    assert pred.study_id.tolist() == EVIL and pred.patient_id.tolist() == EVIL
