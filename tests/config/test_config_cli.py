"""A bad config through the installed ``osteoscan`` command: one message naming the file and
every bad key, no traceback, a non-zero exit, nothing trained."""

import os
import subprocess
import sys
from pathlib import Path

import yaml


def test_train_with_bad_values_names_file_and_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"name": "x", "optim": {"epochs": 0, "lrr": 1}}))
    exe = Path(sys.executable).with_name("osteoscan")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    res = subprocess.run([str(exe), "train", str(cfg), "--out", str(tmp_path / "run"),
                          "--set", "optim.lr=abc"], capture_output=True, text=True, env=env,
                         timeout=120)
    err = " ".join(res.stderr.split())  # rich wraps long lines
    assert res.returncode != 0 and "Traceback" not in res.stderr
    for key in ("optim.epochs: expected", "optim.lrr: unknown key", "optim.lr: expected a number"):
        assert key in err, err
    assert "bad.yaml" in err and not (tmp_path / "run").exists()
