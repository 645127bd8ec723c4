"""``osteoscan deid`` through the installed console script, in a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom

from tests.io.dicom_factory import phantom, write_nm_single

OSTEOSCAN = Path(sys.executable).parent / "osteoscan"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OSTEOSCAN), *args], capture_output=True, text=True, timeout=300)


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
