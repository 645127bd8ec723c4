"""The one atomic writer and the one JSON sanitiser."""

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from osteoscan.artefacts import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    dumps_json,
    to_jsonable,
)


def test_bytes_text_and_json_land_whole_with_ordinary_mode(tmp_path):
    a = atomic_write_bytes(tmp_path / "sub" / "a.bin", b"\x00\x01")
    b = atomic_write_text(tmp_path / "b.txt", "é\n")
    c = atomic_write_json(tmp_path / "c.json", {"x": np.float32(0.5), "n": np.int64(3)})
    assert a.read_bytes() == b"\x00\x01" and b.read_text(encoding="utf-8") == "é\n"
    assert json.loads(c.read_text()) == {"x": 0.5, "n": 3}
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(a.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt", "c.json", "sub"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_callback_form_for_libraries_that_write_paths(tmp_path):
    out = atomic_write(tmp_path / "t.csv", lambda tmp: tmp.write_text("a,b\n"))
    assert out.read_text() == "a,b\n"


def test_sanitiser_nan_inf_numpy_paths_and_keys():
    data = {1: [np.nan, float("inf"), np.float64(-np.inf), 2.5], "a": np.arange(3),
            "b": np.bool_(True), "p": Path("x/y"), "t": (np.int32(4),),
            "nested": {"z": np.float16(1.0)}}
    assert to_jsonable(data) == {"1": [None, None, None, 2.5], "a": [0, 1, 2], "b": True,
                                 "p": "x/y", "t": [4], "nested": {"z": 1.0}}
    assert json.loads(dumps_json({"v": float("nan")})) == {"v": None}
    with pytest.raises(TypeError):
        dumps_json({"o": object()})  # unknown objects are not silently stringified
    assert json.loads(dumps_json({"o": object()}, default=lambda o: "obj")) == {"o": "obj"}


def test_one_line_records_parse_to_the_same_value_one_per_line():
    rec = {"name": 'a "quoted" \x00hotspots\x000 name', "hotspots": [
        {"p": np.float32(0.25), "bad": float("nan"), "f": {"x": np.int64(3)}} for _ in range(3)],
        "empty": [], "after": [1, 2]}
    text = dumps_json(rec, one_line=("hotspots", "empty", "missing"))
    assert json.loads(text) == json.loads(dumps_json(rec))
    lines = text.splitlines()
    assert sum(line.strip().startswith('{"p": 0.25, "bad": null') for line in lines) == 3
    assert '"after": [\n' in text  # other keys keep the indented layout
