"""The site threshold (osteoscan.lesions.site_threshold): the split-conformal promise, its
limits, and a calibrated detector that stays one coherent answer per study."""

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.lesions import site_threshold as st
from osteoscan.lesions.patient import HotspotDetector


def test_future_normals_are_called_at_the_promised_rate():
    # n = 19 at 0.10: k = 18, so on average 2 / 20 of new normals lie above the 18th of 19;
    # one rank off (17th or 19th) gives 0.15 or 0.05, far outside the tolerance
    rng = np.random.default_rng(0)
    fresh = rng.normal(size=20_000)
    fpr = [np.mean(fresh >= st.site_threshold(rng.normal(size=19), 0.10).threshold)
           for _ in range(3000)]
    assert np.mean(fpr) == pytest.approx(0.10, abs=0.006)
    t = st.site_threshold(rng.normal(size=19), 0.10)
    assert t.rank == 18 and t.normals == 19
    lo, hi = np.quantile(fpr, [0.05, 0.95])  # the Beta(n + 1 - k, k) band the card reports
    assert t.expected_fpr == pytest.approx((lo, hi), abs=0.02)


def test_with_a_confidence_the_promise_holds_for_most_sets_of_normals_not_only_on_average():
    # 100 normals at 0.10 with 0.95: the share of fresh normals called exceeds 0.10 for at
    # most 5 % of the sets (the average rule exceeds it for about half of them)
    rng = np.random.default_rng(3)
    fresh = rng.normal(size=20_000)
    sure = [np.mean(fresh >= st.site_threshold(rng.normal(size=100), 0.10, 0.95).threshold)
            for _ in range(1500)]
    mean = [np.mean(fresh >= st.site_threshold(rng.normal(size=100), 0.10).threshold)
            for _ in range(1500)]
    assert np.mean(np.array(sure) > 0.10) <= 0.065
    assert np.mean(np.array(mean) > 0.10) > 0.3
    t = st.site_threshold(np.arange(100.0), 0.10, 0.95)
    assert t.rank > 91 and t.confidence == 0.95 and t.expected_fpr[1] <= 0.10
    assert st.min_normals(0.10, 0.95) == 29
    st.site_threshold(np.arange(29.0), 0.10, 0.95)
    with pytest.raises(ConfigError, match="with confidence 0.95: at least 29 are needed"):
        st.site_threshold(np.arange(28.0), 0.10, 0.95)
    with pytest.raises(ConfigError, match="--confidence must lie between 0 and 1"):
        st.site_threshold(np.arange(28.0), 0.10, 1.0)


def test_the_threshold_lies_just_above_the_kth_normal():
    probs = np.linspace(0.1, 0.9, 9)[::-1]
    t = st.site_threshold(probs, 0.10)  # (9 + 1) * 0.9 = 9: the largest
    assert t.rank == 9 and t.threshold > 0.9 and np.nextafter(0.9, 0) < 0.9 < t.threshold
    assert st.site_threshold(probs, 0.5).threshold == pytest.approx(0.5)  # k = 5 of 9


def test_too_few_normals_or_a_rate_outside_0_1_is_refused_by_name():
    assert st.min_normals(0.10) == 9 and st.min_normals(0.05) == 19 and st.min_normals(0.5) == 1
    with pytest.raises(ConfigError, match="8 normal studies .* at least 9 are needed"):
        st.site_threshold(np.ones(8) * 0.5, 0.10)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ConfigError, match="--max-fpr must lie between 0 and 1"):
            st.site_threshold(np.ones(20), bad)


def test_labels_are_read_as_the_evaluation_reads_them():
    assert [st.label_value(v) for v in ("Metastasis", "metastatic", "normal", "benign",
                                        "no_metastasis", " ")] == [1, 1, 0, 0, 0, None]


def _scored(domain, probs, label):
    return [st.Scored(f"{domain}{label}{i}", "p", label, domain, p) for i, p in enumerate(probs)]


def test_each_domain_is_set_by_its_own_normals_and_a_domain_without_any_is_kept():
    scored = _scored("count", np.linspace(0, 0.5, 20), 0) + _scored("count", [0.9], 1)
    got = st.thresholds(scored, 0.10)
    assert set(got) == {"count"} and 0.45 < got["count"].threshold < 0.5
    with pytest.raises(ConfigError, match="no study labelled normal"):
        st.thresholds(_scored("count", [0.9, 0.95], 1), 0.10)


def test_a_calibrated_detector_changes_only_its_thresholds_and_says_so(bundled_detector,
                                                                       tmp_path):
    bundled = bundled_detector
    t = st.site_threshold(np.linspace(0.9, 0.999, 40), 0.10)
    site = st.calibrated(bundled, {"count": t}, "normals.csv")
    assert site.decision_threshold == t.threshold != bundled.decision_threshold
    block = site.card["site_calibration"]
    assert block["previous_threshold"] == bundled.decision_threshold
    assert block["normals"] == 40 and block["calibration"] == "normals.csv"
    if bundled.picture is not None:  # no picture normals: the variant keeps its threshold
        assert site.picture.decision_threshold == bundled.picture.decision_threshold
        assert site.picture.card["site_calibration"]["normals"] == 0
    assert "site_calibration" not in bundled.card  # the source is not modified
    site.save(tmp_path)
    back = HotspotDetector.load(tmp_path)
    assert back.decision_threshold == t.threshold
    assert back.card["site_calibration"] == block


def test_the_site_threshold_decides_one_coherent_answer(bundled_detector):
    bundled = bundled_detector
    from osteoscan.simulate.study import simulate_study

    scan = simulate_study(4, force_label="metastasis").scan
    before = bundled.analyze(scan)
    p = before.probability
    above = st.SiteThreshold(float(np.nextafter(p, 1)), 20, 0.1, 19, (0.0, 0.2))
    below = st.SiteThreshold(float(np.nextafter(p, 0)), 20, 0.1, 19, (0.0, 0.2))
    normal = st.calibrated(bundled, {"count": above}, "m.csv").analyze(scan)
    called = st.calibrated(bundled, {"count": below}, "m.csv").analyze(scan)
    assert normal.probability == called.probability == p  # the ranking is untouched
    assert normal.bsi == 0 and normal.malignant_count == 0
    assert all(h.probability < normal.threshold for h in normal.hotspots)  # none malignant
    assert called.malignant_count >= 1 and called.bsi > 0
