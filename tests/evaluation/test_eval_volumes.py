"""3-D segmentation figures (osteoscan.evaluation.volumes)."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.evaluation.statistics import delong_ci
from osteoscan.evaluation.volumes import (
    SEG_RATES, froc_block, hd95_mm, mean_ci, origin_auc, scan_metrics, summarise,
)


def _cube(shape, lo, hi, value=1):
    a = np.zeros(shape, np.uint8)
    a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = value
    return a


def test_overlap_and_voxel_figures_of_known_masks():
    truth = _cube((10, 10, 10), (2, 2, 2), (6, 6, 6), 2)  # 64 voxels, metastatic
    pred = _cube((10, 10, 10), (2, 2, 4), (6, 6, 8), 2)  # half of it overlaps
    inst_t, inst_p = (truth > 0).astype(np.int32), (pred > 0).astype(np.int32)
    m = scan_metrics(pred, truth, inst_p, [0.8], inst_t, (1.0, 1.0, 1.0), hd95=False)
    assert m["dice_lesion"] == pytest.approx(0.5) and m["iou_lesion"] == pytest.approx(1 / 3)
    assert m["dice_metastatic"] == pytest.approx(0.5) and m["dice_benign"] == 1.0  # both empty
    assert m["sensitivity_voxel"] == pytest.approx(0.5)
    assert m["specificity_voxel"] == pytest.approx(1 - 32 / 936)
    assert m["match"].detected.tolist() == [True]


def test_hd95_is_in_millimetres():
    a = _cube((12, 12, 12), (2, 2, 2), (6, 6, 6))
    b = _cube((12, 12, 12), (2, 2, 4), (6, 6, 8))  # shifted 2 voxels along x
    assert hd95_mm(a, b, (1.0, 1.0, 1.0)) == pytest.approx(2.0)
    assert hd95_mm(a, b, (1.0, 1.0, 3.0)) == pytest.approx(6.0)
    assert np.isnan(hd95_mm(a, np.zeros_like(a), (1.0, 1.0, 1.0)))


def test_a_hit_on_a_benign_lesion_is_a_false_positive():
    truth = _cube((10, 10, 10), (1, 1, 1), (3, 3, 3), 1) + _cube((10, 10, 10), (6, 6, 6), (8, 8, 8), 2)
    inst_t = (truth > 0).astype(np.int32) + (truth == 2)  # ids 1 (benign), 2 (metastatic)
    inst_p = (truth == 1).astype(np.int32)  # only the benign lesion found
    m = scan_metrics(truth * 0 + (truth == 1) * 2, truth, inst_p, [0.9], inst_t, (1, 1, 1),
                     hd95=False)
    assert m["match"].detected.tolist() == [False] and m["match"].fp_scores.tolist() == [0.9]


def test_froc_block_reports_the_issue_rate():
    truth = _cube((8, 8, 8), (1, 1, 1), (3, 3, 3), 2)
    inst = (truth > 0).astype(np.int32)
    pred = inst.copy()
    pred[6, 6, 6] = 2
    m = scan_metrics(pred.astype(np.uint8) * 2, truth, pred, [0.9, 0.95], inst, (1, 1, 1),
                     hd95=False)
    froc = froc_block([m["match"], m["match"]])
    assert 1.5 in SEG_RATES and froc["n_lesions"] == 2
    assert froc["sens@1"] == 1.0 and froc["sens@0.5"] == 0.0
    assert "sens@1.5_ci" not in froc


def test_froc_block_bootstraps_the_issue_rate_over_patients():
    truth = _cube((8, 8, 8), (1, 1, 1), (3, 3, 3), 2)
    inst = (truth > 0).astype(np.int32)
    found = scan_metrics(truth, truth, inst, [0.9], inst, (1, 1, 1), hd95=False)["match"]
    missed = scan_metrics(truth * 0, truth, inst * 0, [], inst, (1, 1, 1), hd95=False)["match"]
    froc = froc_block([found, missed, found, missed], ["a", "b", "c", "d"], n_boot=300)
    ci = froc["sens@1.5_ci"]
    assert froc["sens@1.5"] == ci["value"] == 0.5
    assert 0.0 <= ci["ci_low"] < 0.5 < ci["ci_high"] <= 1.0 and ci["n_patients"] == 4


def test_origin_auc_matches_delong_and_skips_patients_without_a_primary():
    primary = ["lung", "other", "lung", None, "other", "lung"]
    p = [0.9, 0.2, float("nan"), 0.99, 0.6, 0.7]
    out = origin_auc(primary, p)
    y = np.array([1, 0, 1, 0, 1])
    s = np.array([0.9, 0.2, 0.5, 0.6, 0.7])
    auc, lo, hi = delong_ci(y, s)
    assert out["n"] == 5 and out["value"] == pytest.approx(auc) and out["ci_low"] == pytest.approx(lo)


def test_mean_ci_and_summary_shape():
    ci = mean_ci([0.5, 0.7, float("nan"), 0.9], ["a", "b", "c", "d"], n_boot=200)
    assert ci["value"] == pytest.approx(0.7) and ci["ci_low"] <= 0.7 <= ci["ci_high"]
    truth = _cube((8, 8, 8), (1, 1, 1), (3, 3, 3), 2)
    inst = (truth > 0).astype(np.int32)
    rec = scan_metrics(truth, truth, inst, [0.9], inst, (1, 1, 1), hd95=False)
    out = summarise([dict(rec, patient_id="p1", primary="lung", origin_p_lung=0.8),
                     dict(rec, patient_id="p2", primary="other", origin_p_lung=0.3)], n_boot=50)
    assert out["dice_lesion"]["value"] == 1.0 and out["froc"]["sens@1.5"] == 1.0
    assert out["origin_auc"]["value"] == 1.0 and out["n_patients"] == 2
