"""Lesion metrics on hand-made cases with known answers."""

import numpy as np
import pytest

from osteoscan.evaluation.lesions import (
    bsi_agreement,
    dice_score,
    froc_curve,
    froc_score,
    iou_score,
    lesion_confusion_matrix,
    match_lesions,
)


def _scan(lesions, hotspots, shape=(20, 20)):
    """Build truth/pred label arrays from lists of (r0, r1, c0, c1) boxes."""
    truth, pred = np.zeros(shape, int), np.zeros(shape, int)
    for i, (r0, r1, c0, c1) in enumerate(lesions, 1):
        truth[r0:r1, c0:c1] = i
    for i, (r0, r1, c0, c1) in enumerate(hotspots, 1):
        pred[r0:r1, c0:c1] = i
    return pred, truth


def test_hit_rule_one_hit_per_lesion_and_extra_hits_ignored():
    pred, truth = _scan([(0, 4, 0, 4), (10, 14, 10, 14)], [(3, 5, 3, 5), (0, 2, 0, 2), (18, 20, 18, 20)])
    m = match_lesions(pred, [0.3, 0.7, 0.9], truth)
    assert m.lesion_scores[0] == 0.7  # best of the two hits
    assert m.lesion_scores[1] == -np.inf  # missed
    assert m.pred_to_lesion.tolist() == [1, 1, 0]
    assert m.fp_scores.tolist() == [0.9]  # the second hit on lesion 1 is not an FP


def test_hotspot_over_two_lesions_goes_to_larger_overlap():
    pred, truth = _scan([(0, 4, 0, 4), (0, 4, 5, 10)], [(0, 4, 3, 9)])
    m = match_lesions(pred, [0.5], truth)
    assert m.pred_to_lesion.tolist() == [2]


def test_stacked_views_share_lesion_ids():
    t = np.zeros((2, 10, 10), int)
    t[0, 2:4, 2:4] = 5
    t[1, 2:4, 2:4] = 5
    p = np.zeros((2, 10, 10), int)
    p[1, 3, 3] = 1  # found on posterior only
    p[0, 8, 8] = 2  # FP on anterior
    m = match_lesions(p, [0.6, 0.2], t)
    assert m.lesion_ids.tolist() == [5]
    assert m.detected.tolist() == [True]
    assert m.fp_scores.tolist() == [0.2]


def test_froc_known_curve_and_cpm():
    # scan A: 2 lesions, hits at 0.9 and 0.5, FP at 0.8 ; scan B: 2 lesions, hit 0.7, FPs 0.6, 0.1
    pa, ta = _scan([(0, 2, 0, 2), (5, 7, 5, 7)], [(0, 1, 0, 1), (5, 6, 5, 6), (15, 16, 15, 16)])
    pb, tb = _scan([(0, 2, 0, 2), (5, 7, 5, 7)], [(0, 1, 0, 1), (15, 16, 15, 16), (18, 19, 18, 19)])
    ms = [match_lesions(pa, [0.9, 0.5, 0.8], ta), match_lesions(pb, [0.7, 0.6, 0.1], tb)]
    fps, sens, thr = froc_curve(ms)
    # thresholds 0.9 .8 .7 .6 .5 .1 -> tp 1 1 2 2 3 3, fp 0 1 1 2 2 3 over 2 scans
    assert thr[1:].tolist() == [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]
    np.testing.assert_allclose(sens[1:], [0.25, 0.25, 0.5, 0.5, 0.75, 0.75])
    np.testing.assert_allclose(fps[1:], [0, 0.5, 0.5, 1.0, 1.0, 1.5])
    s = froc_score(ms)
    assert s["sens@0.125"] == 0.25 and s["sens@0.25"] == 0.25
    assert s["sens@0.5"] == 0.5 and s["sens@1"] == 0.75 and s["sens@8"] == 0.75
    assert s["cpm"] == pytest.approx((0.25 * 2 + 0.5 + 0.75 * 4) / 7)


def test_froc_rejects_no_lesions():
    p, t = _scan([], [(0, 1, 0, 1)])
    with pytest.raises(ValueError, match="true lesion"):
        froc_curve([match_lesions(p, [0.5], t)])


def test_lesion_confusion_matrix():
    cm = lesion_confusion_matrix(
        ["malignant", "malignant", "benign", "none", "benign"],
        ["malignant", "none", "malignant", "benign", "benign"],
    )
    assert cm.tolist() == [[1, 1, 0], [0, 1, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="unknown class"):
        lesion_confusion_matrix(["x"], ["benign"])


def test_dice_and_iou_known_values():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[0, :2] = True  # 2 px
    b[0, 1:4] = True  # 3 px, overlap 1
    assert dice_score(a, b) == pytest.approx(2 / 5)
    assert iou_score(a, b) == pytest.approx(1 / 4)
    assert dice_score(a, a) == 1.0 and dice_score(a & False, b & False) == 1.0


def test_bsi_agreement_bias_and_limits():
    truth = np.array([0.0, 1.0, 2.0, 4.0])
    pred = truth + np.array([0.5, 0.5, 1.5, 1.5])  # diffs mean 1, sd = 0.57735
    out = bsi_agreement(pred, truth)
    assert out["bias"] == pytest.approx(1.0)
    sd = np.std([0.5, 0.5, 1.5, 1.5], ddof=1)
    assert out["loa_upper"] == pytest.approx(1 + 1.96 * sd)
    assert out["loa_lower"] == pytest.approx(1 - 1.96 * sd)
    assert 0.9 < out["pearson_r"] < 1.0
    assert bsi_agreement(truth * 2, truth)["pearson_r"] == pytest.approx(1.0)


def test_specificity_at_sensitivity_and_patient_level():
    from osteoscan.evaluation.lesions import patient_level, specificity_at_sensitivity

    y = np.array([0] * 10 + [1] * 10)
    s = np.concatenate([np.linspace(0, 0.5, 10), np.linspace(0.45, 1.0, 10)])
    # sensitivity 0.9: threshold at the 2nd-lowest positive (0.511), every normal below it;
    # sensitivity 1.0: threshold at the lowest positive (0.45), one normal (0.5) above it
    assert specificity_at_sensitivity(y, s, 0.9) == 1.0
    assert specificity_at_sensitivity(y, s, 1.0) == 0.9
    out = patient_level(y, s, n_boot=200)
    assert 0.9 < out["auc"] <= 1.0 and out["auc_ci"][0] < out["auc"] < out["auc_ci"][1] + 1e-12
    lo, hi = out["spec_at_sens90_ci"]
    assert lo <= out["spec_at_sens90"] <= hi


def test_normal_burden_counts_normals_only():
    from osteoscan.evaluation.lesions import normal_burden

    out = normal_burden([0, 0, 3, 5, 1], [0, 0, 0, 1, 0])
    assert out == {"median": 0.5, "pct_ge2": 25.0, "n_normals": 4}  # normals: 0, 0, 3, 1


def _random_matches(rng, n_scans):
    out = []
    for _ in range(n_scans):
        truth = np.zeros((16, 16), int)
        for k in range(1, rng.integers(0, 4) + 1):
            r, c = rng.integers(0, 14, 2)
            truth[r:r + 2, c:c + 2] = k
        pred = np.zeros((16, 16), int)
        n = int(rng.integers(0, 6))
        for k in range(1, n + 1):
            r, c = rng.integers(0, 15, 2)
            pred[r:r + 2, c:c + 2] = k
        out.append(match_lesions(pred, rng.random(n).round(2), truth))
    return out


def test_weighted_froc_equals_the_scans_repeated():
    rng = np.random.default_rng(3)
    matches = _random_matches(rng, 12)
    if sum(len(m.lesion_ids) for m in matches) == 0:
        pytest.skip("no lesion drawn")
    w = rng.integers(0, 4, len(matches))
    repeated = [m for m, k in zip(matches, w) for _ in range(k)]
    assert froc_score(matches, weights=np.ones(len(matches))) == froc_score(matches)
    assert froc_score(matches, weights=w) == pytest.approx(froc_score(repeated))
    rates = tuple(np.linspace(0.05, 5, 40))
    assert froc_score(matches, rates, w) == pytest.approx(froc_score(repeated, rates))
