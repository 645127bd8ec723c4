"""Every ``osteoscan`` command through the installed console script, in a real subprocess:
the exit-code convention (0 ok, 1 finished with problems, 2 usage/user error, 130 interrupted;
docs/cli.md) and one-line errors without a traceback."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import fx, osteoscan_cmd, run_osteoscan, script_env

COMMANDS = (
    ("analyze",), ("demo",), ("evaluate",), ("compare",), ("train",), ("predict",), ("simulate",),
    ("dataset", "build"), ("dataset", "check"), ("lesions", "train"), ("lesions", "evaluate"),
    ("lesions", "compare"), ("lesions", "show"), ("models", "list"), ("models", "info"),
    ("deid",), ("seg3d", "simulate"), ("seg3d", "train"), ("seg3d", "predict"),
    ("seg3d", "evaluate"),
)


def assert_one_line_error(res, code: int = 2, *words: str) -> None:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Three simulated studies written by ``osteoscan simulate`` (exit 0), a garbage DICOM and
    a tiny model."""
    root = tmp_path_factory.mktemp("exitcodes")
    res = run_osteoscan("simulate", root / "sim", "--n", 3, "--site", "site_a", "--site", "site_c")
    assert res.returncode == 0, res.stderr
    garbage = root / "sim" / "dicom" / "garbage.dcm"
    garbage.write_bytes(b"DICM" + bytes(range(256)) * 2)
    bad = root / "sim" / "bad.csv"
    frame = pd.read_csv(root / "sim" / "manifest.csv", dtype=str, keep_default_na=False)
    row = frame.iloc[[0]].assign(patient_id="PX", study_id="SX", image="dicom/garbage.dcm",
                                 annotations="", boxes="", lesion_masks="", region_maps="", truth="")
    pd.concat([frame, row]).to_csv(bad, index=False)
    return {"root": root, "manifest": root / "sim" / "manifest.csv", "bad": bad, "garbage": garbage,
            "model": fx.save_tiny(root / "model")}


def test_version_and_top_level_usage_errors():
    res = run_osteoscan("--version")
    assert res.returncode == 0 and res.stdout.startswith("osteoscan ")
    assert run_osteoscan().returncode == 2  # help shown, nothing done
    assert_one_line_error(run_osteoscan("--bogus"), 2, "--bogus")
    assert_one_line_error(run_osteoscan("nope"), 2, "nope")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c))
def test_every_command_has_help_and_rejects_an_unknown_option(command):
    res = run_osteoscan(*command, "--help")
    assert res.returncode == 0 and "Usage" in res.stdout, res.stderr
    assert_one_line_error(run_osteoscan(*command, "--no-such-option"), 2, "--no-such-option")


def test_groups_without_a_command_show_help_and_exit_2():
    for group in ("dataset", "lesions", "models", "seg3d"):
        res = run_osteoscan(group)
        assert res.returncode == 2 and "Usage" in res.stdout + res.stderr


def test_simulate_and_models_user_errors():
    assert_one_line_error(run_osteoscan("simulate", "/tmp/unused", "--site", "site_zz"), 2, "site_zz")
    assert run_osteoscan("models", "list").returncode == 0
    assert_one_line_error(run_osteoscan("models", "info", "no_such_net"), 2, "no_such_net")


def test_dataset_build_and_check(cohort, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run_osteoscan("dataset", "build", empty), 2, "empty")
    assert not (empty / "manifest.csv").exists()  # nothing done
    dicom = tmp_path / "dicom"
    shutil.copytree(cohort["root"] / "sim" / "dicom", dicom, ignore=shutil.ignore_patterns("garbage*"))
    assert run_osteoscan("dataset", "build", dicom).returncode == 0
    assert run_osteoscan("dataset", "check", cohort["manifest"]).returncode == 0
    res = run_osteoscan("dataset", "check", cohort["bad"])
    assert res.returncode == 1 and "error" in res.stdout, res.stdout
    assert_one_line_error(run_osteoscan("dataset", "check", tmp_path / "none.csv"), 2, "none.csv")


def test_predict_and_evaluate(cohort, tmp_path):
    model = cohort["model"]
    out = tmp_path / "pred.csv"
    assert run_osteoscan("predict", model, cohort["manifest"], "-o", out).returncode == 0
    res = run_osteoscan("predict", model, cohort["bad"], "-o", tmp_path / "p2.csv")
    assert res.returncode == 1 and "SX" in res.stderr
    assert_one_line_error(run_osteoscan("predict", model, tmp_path / "none.csv"), 2, "none.csv")
    pred = tmp_path / "e.csv"
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    pd.DataFrame({"study_id": [f"s{i}" for i in range(40)], "patient_id": [f"p{i}" for i in range(40)],
                  "label": np.where(y == 1, "metastasis", "no_metastasis"),
                  "prob_metastasis": np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 40), 0, 1)}).to_csv(pred, index=False)
    res = run_osteoscan("evaluate", pred, "--bootstrap", 20, "--out", tmp_path / "ev")
    assert res.returncode == 0, res.stderr
    assert_one_line_error(run_osteoscan("evaluate", tmp_path / "none.csv"), 2, "none.csv")


def _comparison_folder(root: Path, failed: bool) -> Path:
    rng = np.random.default_rng(1)
    y = np.arange(60) % 2
    for arm in ("a", "b"):
        d = root / "arms" / arm / "predictions"
        d.mkdir(parents=True)
        for k in range(2):
            ids = np.arange(k, 60, 2)
            pd.DataFrame({"study_id": [f"s{i}" for i in ids], "patient_id": [f"s{i}" for i in ids],
                          "label": np.where(y[ids] == 1, "metastasis", "normal"),
                          "prob_metastasis": np.clip(0.4 + 0.3 * y[ids] + rng.normal(0, 0.2, len(ids)), 0, 1),
                          }).to_csv(d / f"fold-{k}.csv", index=False)
    (root / "failed.yaml").write_text("c: out of memory\n" if failed else "{}\n")
    return root


def test_compare_exit_codes(tmp_path):
    assert_one_line_error(run_osteoscan("compare"), 2, "study YAML")
    ok = _comparison_folder(tmp_path / "ok", failed=False)
    assert run_osteoscan("compare", "--render-only", ok, "--bootstrap", 20).returncode == 0
    bad = _comparison_folder(tmp_path / "bad", failed=True)
    res = run_osteoscan("compare", "--render-only", bad, "--bootstrap", 20)
    assert res.returncode == 1 and "1 arm(s) failed" in res.stderr


def test_train_user_errors(tmp_path):
    assert_one_line_error(run_osteoscan("train", tmp_path / "none.yaml"), 2, "none.yaml")
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: [unclosed\n")
    assert_one_line_error(run_osteoscan("train", cfg), 2, "bad.yaml")


def test_analyze_exit_codes(cohort, tmp_path):
    model, manifest = cohort["model"], cohort["manifest"]
    common = ("--model", model, "--workers", 1, "--no-reports")
    assert run_osteoscan("analyze", manifest, "--out", tmp_path / "a", *common).returncode == 0
    res = run_osteoscan("analyze", manifest, cohort["garbage"], "--out", tmp_path / "b", *common)
    assert res.returncode == 1 and "garbage" in res.stderr
    res = run_osteoscan("analyze", cohort["garbage"], "--out", tmp_path / "c", *common)
    assert res.returncode == 1  # every study failed: still "finished with failures"
    assert (tmp_path / "c" / "worklist.csv").is_file()
    assert_one_line_error(run_osteoscan("analyze", tmp_path / "none.dcm", *common), 2, "none.dcm")
    assert_one_line_error(run_osteoscan("analyze", manifest, "--model", tmp_path, "--out",
                                        tmp_path / "d"), 2)


def test_lesions_user_errors(cohort, tmp_path):
    assert_one_line_error(run_osteoscan("lesions", "train", "--out", tmp_path / "m", "--simulate", 0), 2,
                          "--simulate")
    assert_one_line_error(run_osteoscan("lesions", "evaluate", "--out", tmp_path / "e.json", "--sites",
                                        "site_zz"), 2, "site_zz")
    assert_one_line_error(run_osteoscan("lesions", "compare", tmp_path / "none.yaml", "--out",
                                        tmp_path / "c"), 2, "none.yaml")
    assert_one_line_error(run_osteoscan("lesions", "show", tmp_path / "none.dcm"), 2, "none.dcm")


def test_lesions_show_and_train_with_a_bad_row(cohort, tmp_path):
    study = next((cohort["root"] / "sim" / "dicom").glob("S*/*.dcm"))
    assert run_osteoscan("lesions", "show", study).returncode == 0
    res = run_osteoscan("lesions", "train", "--data", cohort["bad"], "--tiny", "--seg-epochs", 1,
                        "--region-epochs", 1, "--clf-epochs", 1, "--out", tmp_path / "models")
    assert res.returncode == 1 and "SX" in res.stdout + res.stderr
    assert (tmp_path / "models").is_dir()


def test_demo_user_error():
    assert_one_line_error(run_osteoscan("demo", "--workers", 0), 2, "--workers")


def test_ctrl_c_during_a_command_exits_130(tmp_path):
    """SIGINT (Ctrl-C) to a command without a worker pool: exit 130, no traceback."""
    out = tmp_path / "sim"
    # a shell without job control starts background jobs with SIGINT ignored, and a child
    # inherits that: give the command the default Ctrl-C, as a terminal would
    # PYTHONFAULTHANDLER: should the command ever hang after the signal, SIGABRT makes it
    # print every thread's stack, which the failure then shows
    proc = subprocess.Popen(osteoscan_cmd("simulate", out, "--n", 500),
                            env=script_env(PYTHONFAULTHANDLER="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("dicom/*/*.dcm")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"no exit within 60 s of SIGINT; the stacks:\n{err}")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_simulate_uptake_balance_writes_other_pixels_for_the_same_patients(tmp_path):
    """``osteoscan simulate --uptake-balance`` (installed command, real subprocess): the same
    cohort seed gives the same patients and labels, with other counts in the bones."""
    import pydicom

    plain, varied = tmp_path / "plain", tmp_path / "varied"
    for out, extra in ((plain, []), (varied, ["--uptake-balance"])):
        res = run_osteoscan("simulate", out, "--n", "2", "--seed", "3", *extra)
        assert res.returncode == 0, res.stderr
    a, b = ((out / "manifest.csv").read_text() for out in (plain, varied))
    assert a == b  # same studies, labels and files
    files = sorted(p.relative_to(plain) for p in plain.rglob("*.dcm"))
    assert files
    differ = [not (pydicom.dcmread(plain / f).pixel_array
                   == pydicom.dcmread(varied / f).pixel_array).all() for f in files]
    assert all(differ)
