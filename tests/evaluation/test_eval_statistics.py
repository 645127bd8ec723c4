"""Patient bootstrap, McNemar and Holm: against scipy and hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from osteoscan.evaluation import metrics as M
from osteoscan.evaluation.statistics import (
    bootstrap_replicates,
    delong_roc_variance,
    holm_adjust,
    mcnemar_test,
    patient_bootstrap_weights,
    patient_codes,
    percentile_interval,
    proportion_ci,
)


def test_cluster_weights_move_a_patient_together() -> None:
    pid = np.array(["a", "a", "b", "c", "c", "c"])
    codes, n_p = patient_codes(pid)
    w = np.vstack(
        list(patient_bootstrap_weights(codes, n_p, 300, np.random.default_rng(0), chunk=64))
    )
    assert w.shape == (300, 6)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 3] == w[:, 4]).all() and (w[:, 4] == w[:, 5]).all()
    patients_drawn = w[:, 0] + w[:, 2] + w[:, 3]
    assert (patients_drawn == 3).all()


def _rank_auc(y: np.ndarray, s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mann-Whitney AUC along the last axis (vectorised, for scipy.stats.bootstrap)."""
    ranks = stats.rankdata(s, axis=axis)
    m = y.sum(axis=axis)
    n = y.shape[axis] - m
    return ((ranks * y).sum(axis=axis) - m * (m + 1) / 2) / (m * n)


def test_percentile_bootstrap_agrees_with_scipy_unclustered() -> None:
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.4 + 0.3 * y, 0.2), 0, 1)
    correct = ((s >= 0.5) == (y == 1)).astype(float)
    ours = bootstrap_replicates(
        lambda w: M.binary_metric_matrix(y, s, 0.5, w),
        np.arange(n).astype(str),
        n_boot=10000,
        seed=0,
    )
    for name, data in (("accuracy", correct), ("brier", (s - y) ** 2)):
        ref = stats.bootstrap(
            (data,),
            np.mean,
            n_resamples=10000,
            method="percentile",
            random_state=np.random.default_rng(0),
        ).confidence_interval
        low, high = percentile_interval(ours[name])
        assert low == pytest.approx(ref.low, abs=0.006) and high == pytest.approx(
            ref.high, abs=0.006
        )
    ref = stats.bootstrap(
        (y, s),
        _rank_auc,
        paired=True,
        vectorized=True,
        n_resamples=5000,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    low, high = percentile_interval(ours["auc"])
    assert low == pytest.approx(ref.low, abs=0.008) and high == pytest.approx(ref.high, abs=0.008)


def test_clustering_widens_intervals_for_correlated_studies() -> None:
    rng = np.random.default_rng(2)
    y0 = rng.integers(0, 2, 100)
    s0 = np.clip(rng.normal(0.4 + 0.3 * y0, 0.25), 0, 1)
    y, s = np.repeat(y0, 4), np.repeat(s0, 4)  # four identical studies per patient
    fn = lambda w: M.binary_metric_matrix(y, s, 0.5, w)  # noqa: E731
    clustered = bootstrap_replicates(fn, np.repeat(np.arange(100), 4).astype(str), n_boot=2000)
    naive = bootstrap_replicates(fn, np.arange(400).astype(str), n_boot=2000)
    assert np.std(clustered["accuracy"]) == pytest.approx(2 * np.std(naive["accuracy"]), rel=0.15)


def test_delong_auc_is_mann_whitney_with_ties() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    s = np.array([1, 2, 2, 2, 3, 3, 1])
    auc, var = delong_roc_variance(y, s)
    u = stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert auc == pytest.approx(u / 12) and var > 0


def test_mcnemar_exact_and_chi2() -> None:
    a = np.array([1] * 10 + [1] * 7 + [0] * 2 + [0] * 5, bool)
    b = np.array([1] * 10 + [0] * 7 + [1] * 2 + [0] * 5, bool)
    r = mcnemar_test(a, b)
    assert (r["b"], r["c"], r["method"]) == (7, 2, "exact")
    assert r["p"] == pytest.approx(2 * stats.binom.cdf(2, 9, 0.5))  # 0.1796875
    a2 = np.r_[np.ones(20, bool), np.zeros(10, bool)]
    b2 = ~a2
    r2 = mcnemar_test(a2, b2)
    assert r2["method"] == "chi2-cc" and r2["statistic"] == pytest.approx((10 - 1) ** 2 / 30)
    assert r2["p"] == pytest.approx(stats.chi2.sf(2.7, 1))
    assert mcnemar_test(a, a)["p"] == 1.0


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, max(0.06, 0.04) = 0.06
    assert holm_adjust([0.04, 0.01, 0.03]).tolist() == pytest.approx([0.06, 0.03, 0.06])
    assert holm_adjust([0.5, 0.6]).tolist() == pytest.approx([1.0, 1.0])


def test_auc_ci_is_the_one_auc_of_training_evaluation_and_lesions() -> None:
    from sklearn.metrics import roc_auc_score

    from osteoscan.evaluation.statistics import auc_ci, bootstrap_replicates, ci_value, delong_ci
    from osteoscan.training.metrics import patient_bootstrap_auc

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    s = y + rng.normal(0, 1.2, 120)
    pid = np.repeat(np.arange(60), 2).astype(str)
    boot = auc_ci(y, s, pid, n_boot=400, seed=1)
    assert set(boot) == {"value", "ci_low", "ci_high", "method", "n", "n_patients"}
    assert boot["value"] == pytest.approx(roc_auc_score(y, s)) and boot["n_patients"] == 60
    reps = bootstrap_replicates(lambda w: {"a": M.weighted_auc(y == 1, s, w)}, pid, n_boot=400, seed=1)
    assert (boot["ci_low"], boot["ci_high"]) == pytest.approx(percentile_interval(reps["a"]))
    dl = auc_ci(y, s, method="delong")
    assert (dl["value"], dl["ci_low"], dl["ci_high"]) == pytest.approx(delong_ci(y, s))
    # the training card's AUC is the same block (two-column probabilities, positive class 1)
    prob = np.column_stack([1 - s, s])
    assert patient_bootstrap_auc(y, prob, pid, positive=1, n_boot=400, seed=1) == boot
    three = rng.integers(0, 3, 90)
    p3 = rng.dirichlet(np.ones(3), 90) + np.eye(3)[three] * 0.3
    p3 = p3 / p3.sum(1, keepdims=True)
    macro = auc_ci(three, p3, n_boot=0)
    assert macro["value"] == pytest.approx(roc_auc_score(three, p3, multi_class="ovr"))
    assert np.isnan(auc_ci(np.ones(5), np.arange(5.0))["value"])
    assert ci_value({"auc": 0.7}) == 0.7 and ci_value(boot) == boot["value"]


def test_proportion_ci_is_the_wilson_interval():
    """Against the closed form: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    z = 1.959963984540054
    for k, n in ((0, 40), (3, 40), (17, 100), (100, 100)):
        p = k / n
        mid, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low, high = proportion_ci(k, n)
        assert low == pytest.approx((mid - half) / (1 + z * z / n), abs=1e-9)
        assert high == pytest.approx((mid + half) / (1 + z * z / n), abs=1e-9)
    assert all(np.isnan(proportion_ci(0, 0)))
