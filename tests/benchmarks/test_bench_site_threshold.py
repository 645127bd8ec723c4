"""benchmarks/bench_site_threshold.py: the later cohort judged at the calibration cohort's
threshold, the draws, and the pre-written rule, on scores made up so the answer is known."""

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import bench_site_threshold as bench
from osteoscan.lesions.site_threshold import Scored


def _cohort(rng, normals, metastatic, shift=0.0):
    rows = [Scored(f"n{i}", f"n{i}", 0, "count", float(p))
            for i, p in enumerate(rng.uniform(0, 1, normals) + shift)]
    return rows + [Scored(f"m{i}", f"m{i}", 1, "count", float(p))
                   for i, p in enumerate(rng.uniform(0.5, 1.5, metastatic))]


def test_an_exchangeable_site_keeps_the_promise_and_passes_the_rule():
    rng = np.random.default_rng(1)
    det = SimpleNamespace(decision_threshold=0.3, picture=None)
    cal, later = _cohort(rng, 4000, 50), _cohort(rng, 4000, 200)
    judged = bench.judged(cal, later, det, 0.10)["count"]
    assert judged["threshold"]["site"] == pytest.approx(0.9, abs=0.05)
    assert judged["normals_called"]["detector"]["share"] == pytest.approx(0.7, abs=0.06)
    assert judged["normals_called"]["site"]["share"] == pytest.approx(0.1, abs=0.04)
    assert judged["metastatic_called"]["site"]["share"] == pytest.approx(0.6, abs=0.08)
    assert judged["normals_called"]["mcnemar"]["c"] == 0  # raising it calls no new normal
    drawn = bench.drawn(cal, later, "count", 0.10, [5, 50, 9000], 300, 0)
    assert set(drawn) == {"50"}  # 5 are too few, 9,000 more than the cohort has
    assert drawn["50"]["fpr_mean"] == pytest.approx(1 / 51 * 5, abs=0.02)  # (n + 1 - k)/(n + 1)
    rule = bench.passes({"judged": {"count": judged}, "drawn": {"count": drawn}}, 0.10)
    assert rule["count"] == {"a": True, "b": True, "pass": True}


def test_a_later_cohort_that_drifted_fails_the_rule_and_the_table_says_so():
    rng = np.random.default_rng(2)
    det = SimpleNamespace(decision_threshold=0.3, picture=None)
    cal, later = _cohort(rng, 200, 50), _cohort(rng, 200, 100, shift=0.3)
    site = {"judged": bench.judged(cal, later, det, 0.10)}
    site["drawn"] = {"count": bench.drawn(cal, later, "count", 0.10, [50], 100, 0)}
    site["rule"] = bench.passes(site, 0.10)
    assert site["rule"]["count"]["pass"] is False
    text = bench.markdown({"sites": {"drift": site}})
    assert "| drift | count |" in text and "| no, no |" in text and "| drift (count) | 50 |" in text


def test_the_ranking_is_paired_with_the_baseline_by_study():
    rng = np.random.default_rng(3)
    later = _cohort(rng, 60, 60)
    worse = [Scored(s.study_id, s.patient_id, s.label, s.domain, float(rng.uniform()))
             for s in reversed(later)]  # another order: pairing must go by study id
    r = bench.ranking(later, worse)
    assert r["auc"] == pytest.approx(r["against_baseline"]["auc_a"])
    assert r["against_baseline"]["auc_b"] == pytest.approx(0.5, abs=0.12)
    assert r["against_baseline"]["auc_diff"] > 0.2 and r["auc_ci"][0] < r["auc"] < r["auc_ci"][1]
    assert "against_baseline" not in bench.ranking(later, None)
