"""``osteoscan deid`` through the installed console script, in a real subprocess."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pydicom

import osteoscan
from tests.io.dicom_factory import phantom, write_nm_single

OSTEOSCAN = Path(sys.executable).parent / "osteoscan"
# the console script imports the tree under test
ENV = dict(os.environ, PYTHONPATH=str(Path(osteoscan.__file__).resolve().parents[1]))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OSTEOSCAN), *args], capture_output=True, text=True, timeout=300,
                          env=ENV)


def test_deid_lists_a_bad_file_exits_1_and_writes_the_good_ones(tmp_path):
    ph = phantom(128, 32)
    for view in ("anterior", "posterior"):
        write_nm_single(tmp_path / "in" / f"{view}.dcm", ph.anterior, view=view,
                        study_uid="1.2.3.4.5", patient_id="SECRET-ID-1")
    (tmp_path / "in" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x08\x00")
    proc = _run("deid", str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    assert "broken.dcm" in proc.stderr and "Traceback" not in proc.stderr
    written = sorted((tmp_path / "out").rglob("*.dcm"))
    assert len(written) == 2
    assert len({p.parent for p in written}) == 1  # one study folder for both views
    assert all(pydicom.dcmread(p).PatientID != "SECRET-ID-1" for p in written)


def test_deid_all_good_exits_0_and_usage_error_exits_2(tmp_path):
    ph = phantom(128, 32)
    src = write_nm_single(tmp_path / "one.dcm", ph.anterior, view="anterior")
    assert _run("deid", str(src), "-o", str(tmp_path / "out")).returncode == 0
    proc = _run("deid", str(tmp_path / "missing"), "-o", str(tmp_path / "out2"))
    assert proc.returncode == 2 and "missing" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out2").exists()


def test_deid_interrupted_exits_130_and_keeps_whole_files(tmp_path):
    import signal
    import time

    ph = phantom(64, 16)
    for i in range(200):
        write_nm_single(tmp_path / "in" / f"f{i:03d}.dcm", ph.anterior, view="anterior")
    out = tmp_path / "out"
    proc = subprocess.Popen(  # SIGINT at its default, as in a terminal (not ignored as in `cmd &`)
        [str(OSTEOSCAN), "deid", str(tmp_path / "in"), "--out", str(out)], stderr=subprocess.PIPE,
        text=True, env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(out.rglob("*.dcm")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    written = list(out.rglob("*.dcm"))
    assert 0 < len(written) < 200 and not list(out.rglob("*.tmp"))
    assert all(pydicom.dcmread(p).PatientIdentityRemoved == "YES" for p in written)


def test_deid_links_table_maps_old_to_new_ids_and_is_refused_inside_out(tmp_path):
    ph = phantom(64, 16)
    src = write_nm_single(tmp_path / "in" / "a.dcm", ph.anterior, view="anterior",
                          patient_id="SECRET-ID-2", study_uid="1.2.3.4.6")
    out, links = tmp_path / "out", tmp_path / "private" / "links.csv"
    proc = _run("deid", str(src), "-o", str(out), "--links", str(links))
    assert proc.returncode == 0, proc.stderr
    row = next(csv.DictReader(links.open()))
    written = pydicom.dcmread(row["output"])
    assert row["original_PatientID"] == "SECRET-ID-2" and row["new_PatientID"] == written.PatientID
    assert row["original_StudyInstanceUID"] == "1.2.3.4.6"
    assert row["new_StudyInstanceUID"] == written.StudyInstanceUID
    assert not any("SECRET-ID-2" in p.read_bytes().decode("latin-1") for p in out.rglob("*.dcm"))
    inside = _run("deid", str(src), "-o", str(tmp_path / "o2"), "--links", str(tmp_path / "o2" / "l.csv"))
    assert inside.returncode == 2 and not (tmp_path / "o2").exists()
