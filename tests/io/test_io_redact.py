"""osteoscan.io.redact: pseudonyms, scrubbing, keyed stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from osteoscan.errors import InputError
from osteoscan.io.redact import NoRedaction, Redactor, make_redactor
from osteoscan.types import BoneScan, StudySource, ViewSource


def _scan() -> BoneScan:
    img = np.ones((8, 4), np.float32)
    views = (ViewSource("anterior", "keyword", 0.8, 'SeriesDescription "WB ANT Jane Doe"',
                        "/home/site/Doe_Jane/MRN-1_ant.dcm"),
             ViewSource("posterior", "view_code", 1.0, "ViewCodeSequence R-10214 (postero-anterior)",
                        "/home/site/Doe_Jane/MRN-1_post.dcm"))
    source = StudySource(("/home/site/Doe_Jane/MRN-1_ant.dcm", "/home/site/Doe_Jane/MRN-1_post.dcm"),
                         "dicom-nm", notes=("cropped text rows in MRN-1_ant.dcm",),
                         skipped=(("/home/site/Doe_Jane/MRN-1_old.dcm", "other study 1.2.840.77.5"),))
    return BoneScan(img, img, (2.0, 2.0), "MRN-1", "1.2.840.99.1", views, source,
                    meta={"sop_instance_uids": "1.2.3;1.2.4", "study_date": "20250314", "modality": "NM"})


def test_scan_keeps_pixels_and_replaces_every_identifier():
    red = Redactor.per_run()
    got = red.scan(_scan())
    text = repr((got.patient_id, got.study_id, got.views, got.source, got.meta))
    for secret in ("MRN-1", "Doe", "Jane", "/home", "1.2.840.99.1", "1.2.3", "20250314", "1.2.840.77.5"):
        assert secret not in text, secret
    assert got.patient_id.startswith("P-") and got.study_id.startswith("S-")
    assert got.views[1].detail == "ViewCodeSequence R-10214 (postero-anterior)"  # evidence kept
    assert got.views[0].file == got.source.files[0]  # same file, same pseudonym
    assert np.array_equal(got.anterior, _scan().anterior)


def test_keyed_pseudonyms_are_stable_and_per_run_ones_are_not(tmp_path):
    key = tmp_path / "key"
    key.write_text("a site secret of enough length\n")
    a, b = Redactor.from_key_file(key), Redactor.from_key_file(key)
    assert a.pseudonym("MRN-1", "patient") == b.pseudonym("MRN-1", "patient")
    assert a.pseudonym("MRN-1", "patient") != a.pseudonym("MRN-1", "study")
    assert Redactor.per_run().pseudonym("MRN-1", "patient") != Redactor.per_run().pseudonym("MRN-1", "patient")
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(InputError, match="at least 16"):
        Redactor.from_key_file(short)
    assert isinstance(make_redactor(False), NoRedaction) and make_redactor(False, key).keyed


def test_table_and_failure_lose_ids_paths_and_dates():
    red = Redactor.per_run()
    frame = pd.DataFrame({"patient_id": ["MRN-1"], "study_id": ["ST-9"], "study_date": ["20250314"],
                          "prob_metastasis": [0.3]})
    got = red.table(frame)
    assert list(got.columns) == ["patient_id", "study_id", "prob_metastasis"]
    assert got.loc[0, "patient_id"] == red.pseudonym("MRN-1", "patient")
    fail = red.failure({"input": "/data/Doe_Jane/x.dcm", "error": "x.dcm: no image in /data/Doe_Jane/y.png"})
    assert "Doe" not in repr(fail) and "/data" not in repr(fail) and fail["input"].startswith("I-")
    assert NoRedaction().table(frame) is frame


@pytest.mark.parametrize("text, kept", [
    ("row 3: img/Doe_Jane.png: no such file", "row 3: …: no such file"),
    ("C:\\pacs\\Doe\\x.dcm: bad", "…: bad"),
    ("see ~/scans/doe and /mnt/doe", "see … and …"),
    ("pixel rule: spine/kidney band contrast 1.12 vs 1.66", None),  # not a path: kept
])
def test_text_removes_unknown_paths_but_not_prose(text, kept):
    assert Redactor.per_run().text(text, {}) == (text if kept is None else kept)


def test_manifest_row_labels_and_pickling_for_worker_processes():
    import pickle

    red = Redactor.per_run()
    fail = red.failure({"input": "/data/m.csv#3 (MRN-77)", "error": "row 3 MRN-77: unreadable"})
    assert "MRN-77" not in repr(fail) and "/data" not in repr(fail)
    again = pickle.loads(pickle.dumps(red))  # spawn workers receive it pickled
    assert again.pseudonym("MRN-77", "patient") == red.pseudonym("MRN-77", "patient")
    assert pickle.loads(pickle.dumps(NoRedaction())).label("x") == "x"
