"""Cohorts: determinism per index, patients with follow-ups, prevalence, sites; the CLI."""

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from osteoscan.errors import ConfigError
from osteoscan.service.cli import app
from osteoscan.simulate import simulate_cohort
from osteoscan.simulate.cohort import cohort_plan
from osteoscan.simulate.study import render_plan

KW = dict(seed=7, sites=("site_a", "site_b"), difficulty=0.5, prevalence=0.5,
          studies_per_patient=1.15)


def test_study_i_depends_only_on_seed_and_i():
    cohort = list(simulate_cohort(4, seed=7, sites=("site_a", "site_b")))
    alone = render_plan(cohort_plan(3, **KW)).study
    assert alone.study_id == cohort[3].study_id
    np.testing.assert_array_equal(alone.scan.posterior, cohort[3].scan.posterior)
    other = list(simulate_cohort(4, seed=8, sites=("site_a", "site_b")))
    assert not np.array_equal(other[3].scan.anterior, cohort[3].scan.anterior)


def test_plans_have_follow_ups_sites_and_prevalence():
    plans = [cohort_plan(i, **KW) for i in range(600)]
    by_patient = {}
    for p in plans:
        by_patient.setdefault(p.patient_id, []).append(p)
    multi = [v for v in by_patient.values() if len(v) == 2]
    assert 0.08 < len(multi) / len(by_patient) < 0.25
    for pair in multi:
        assert [p.visit for p in pair] == [0, 1] and pair[0].site == pair[1].site
        assert pair[0].patient_seed == pair[1].patient_seed
    assert {p.site for p in plans} == {"site_a", "site_b"}
    assert len({p.study_id for p in plans}) == 600


def test_follow_up_keeps_patient_and_label():
    i = next(i for i in range(0, 200, 2) if cohort_plan(i, **KW).patient_id ==
             cohort_plan(i + 1, **KW).patient_id)
    base, follow = (render_plan(cohort_plan(j, **KW)).study for j in (i, i + 1))
    assert base.patient_id == follow.patient_id and base.study_id != follow.study_id
    assert base.label.label == follow.label.label and base.label.primary == follow.label.primary


def test_prevalence_extremes():
    assert {s.label.label for s in simulate_cohort(3, seed=2, prevalence=0.0)} == {"normal"}
    kw = dict(KW, prevalence=1.0)
    assert all(render_plan(cohort_plan(i, **kw)).study.label.label == "metastasis" for i in range(2))


def test_cohort_argument_errors():
    with pytest.raises(ConfigError, match="site"):
        list(simulate_cohort(1, sites=("nowhere",)))
    with pytest.raises(ConfigError, match="prevalence"):
        list(simulate_cohort(1, prevalence=2.0))


def test_cli_simulate_writes_a_cohort(tmp_path):
    out = tmp_path / "cohort"
    res = CliRunner().invoke(app, ["simulate", str(out), "--n", "2", "--seed", "1",
                                   "--site", "site_c", "--difficulty", "hard"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 2 and {r["site"] for r in rows} == {"site_c"}
    assert {r["difficulty"] for r in rows} == {"0.80"}


def test_cli_simulate_bad_option_is_one_line_error(tmp_path):
    res = CliRunner().invoke(app, ["simulate", str(tmp_path / "x"), "--n", "1",
                                   "--site", "site_q"])
    assert res.exit_code != 0
    assert isinstance(res.exception, (ConfigError, SystemExit))


def test_simulate_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, osteoscan.simulate, osteoscan.simulate.writer, osteoscan.simulate.gallery;"
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
