"""The FROC of detector records follows the hit rule of osteoscan.evaluation.lesions
(docs/lesions.md, "Where the missed metastases go")."""

from types import SimpleNamespace

import numpy as np
import pytest

from osteoscan.lesions.detector_records import _truth, froc_matches, in_masks, study_record


def _record(group, truth_id, hit_id, malignant, mask_ids):
    return {"group": np.array(group), "truth_id": np.array(truth_id),
            "hit_id": np.array(hit_id), "malignant_ids": np.array(malignant),
            "mask_ids": np.array(mask_ids)}


def test_each_view_of_a_group_hits_its_own_lesion():
    # an anterior/posterior group whose two candidates lie on two different metastases
    rec = _record([0, 0], [1, 2], [1, 2], [1, 2], [1, 2])
    probs = np.array([0.9, 0.6])
    std = froc_matches([rec], [probs])[0]
    assert std.lesion_scores.tolist() == [0.9, 0.6]  # each with its own candidate's score
    assert std.fp_scores.size == 0
    legacy = froc_matches([rec], [probs], "legacy")[0]
    assert legacy.lesion_scores[0] == 0.9 and not np.isfinite(legacy.lesion_scores[1])


def test_a_lesion_the_masks_do_not_hold_is_not_counted():
    rec = _record([0], [1], [1], [1, 3], [1])
    std = froc_matches([rec], [np.array([0.8])])[0]
    assert std.lesion_ids.tolist() == [1]
    assert froc_matches([rec], [np.array([0.8])], "legacy")[0].lesion_ids.tolist() == [1, 3]


def test_a_candidate_mostly_on_a_benign_lesion_is_neither_hit_nor_false_positive():
    # legacy truth prefers the malignant lesion it also touches; the hit rule does not
    rec = _record([0, 1], [1, 0], [5, 0], [1], [1])
    std = froc_matches([rec], [np.array([0.7, 0.4])])[0]
    assert not np.isfinite(std.lesion_scores[0])
    assert std.fp_scores.tolist() == [0.4]  # the group on no lesion is the one FP
    assert froc_matches([rec], [np.array([0.7, 0.4])], "legacy")[0].lesion_scores[0] == 0.7


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="rule"):
        froc_matches([_record([0], [1], [1], [1], [1])], [np.array([0.5])], "any")


def test_truth_keeps_the_training_label_and_gives_the_most_overlapped_lesion():
    masks = {"anterior": np.zeros((6, 6), int)}
    masks["anterior"][0:3, 0:3] = 5  # benign
    masks["anterior"][3, 0:2] = 1  # malignant
    mask = np.zeros((6, 6), bool)
    mask[0:4, 0:3] = True
    tid, y, hit = _truth([SimpleNamespace(view="anterior", mask=mask)], masks, {1})
    assert (tid.tolist(), y.tolist(), hit.tolist()) == ([1], [1], [5])


def test_in_masks_drops_a_lesion_without_pixels():
    masks = {"anterior": np.array([[0, 1], [1, 0]]), "posterior": np.array([[0, 0], [4, 0]])}
    assert in_masks(masks, [1, 2, 4]).tolist() == [1, 4]


def test_study_records_carry_the_hit_rule():
    from osteoscan.simulate.study import simulate_study

    sim = simulate_study(902, site="site_a", force_label="metastasis")
    rec = study_record(sim, count_band=(1.15, None))
    assert set(rec["mask_ids"].tolist()) <= set(rec["malignant_ids"].tolist())
    assert len(rec["hit_id"]) == len(rec["truth_id"])
    assert np.array_equal(rec["hit_id"] > 0, rec["truth_id"] > 0)  # both: overlaps a lesion
    probs = np.linspace(0.0, 1.0, len(rec["group"]))
    for rule in ("standard", "legacy"):
        m = froc_matches([rec], [probs], rule)[0]
        assert np.isfinite(m.lesion_scores).sum() <= len(m.lesion_ids)


def test_diagnosis_classes_each_missed_lesion():
    from benchmarks.diagnose_froc_gap import classify

    # candidates: 0 on lesions 1 and 2 (more of 2), 1 on lesion 5 (benign), 2 on nothing
    rec = _record([0, 1, 2], [2, 5, 0], [2, 5, 0], [1, 2, 3, 4], [1, 2, 4])
    overlaps = [{1: 3, 2: 9}, {5: 4}, {}]
    px = {"anterior": 5, "posterior": 0}
    rows = [{"id": t, "mask_px": dict(px) if t != 3 else {"anterior": 0}} for t in (1, 2, 3, 4)]
    classify(rec, overlaps, rows, np.array([0.9, 0.5, 0.3]), {1, 2, 3, 4})
    assert [r["cls"] for r in rows] == ["merged_malignant", "credited", "not_in_masks",
                                        "untouched"]
    assert rows[1]["score"] == 0.9 and rows[1]["fp_groups_above"] == 0
