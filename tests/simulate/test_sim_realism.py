"""REALISM.md statistics and the oracle observers: definitions, calibration, learnable labels."""

import numpy as np
import pytest

from osteoscan.simulate import simulate_cohort
from osteoscan.simulate.realism import (ROSE_CNR, box_contrast, count_stats, display_darkness,
                                        lesion_stats, oracle, rose_cnr)


def test_display_contrast_follows_the_definition():
    img = np.full((40, 40), 10.0)
    img[16:24, 16:24] = 50.0  # the box: 8 x 8; the ring: 4 pixels wide around it
    dark = display_darkness(img)
    assert dark.max() == pytest.approx(255.0)
    assert box_contrast(dark, (16, 24, 16, 24)) == pytest.approx(5.0)
    img[0, 0] = 1e6  # one hot pixel above the 99.5th percentile saturates, the window holds
    assert box_contrast(display_darkness(img), (16, 24, 16, 24)) == pytest.approx(5.0)


def test_rose_cnr_counts_signal_over_background_noise():
    img = np.full((30, 30), 16.0)
    mask = np.zeros_like(img, bool)
    mask[10:14, 10:14] = True
    img[mask] = 20.0
    bg = ~mask
    assert rose_cnr(img, mask, bg) == pytest.approx((20 - 16) * 4 / 4)  # sqrt(16 px) / sqrt(16)
    assert rose_cnr(img, mask, np.zeros_like(mask)) == 0.0


@pytest.fixture(scope="module")
def cohort():
    return list(simulate_cohort(16, seed=5, difficulty="default"))


def test_metastases_outshine_benign_findings_and_are_few(cohort):
    """The central REALISM.md calibration: few, conspicuous metastases; dimmer benign."""
    mal, ben, n_boxes = [], [], []
    for st in cohort:
        ls = lesion_stats(st)
        mal += ls["malignant_contrast"]
        ben += ls["benign_contrast"]
        if st.label.label == "metastasis":
            n_boxes.append(ls["n_malignant_boxes"])
    assert np.median(mal) > np.median(ben) + 0.4
    assert 2 <= np.median(n_boxes) <= 8
    c = count_stats(cohort[0])
    assert c["counts_per_body_pixel_posterior"] < c["counts_per_body_pixel_anterior"]
    assert 0.6 < c["body_height_fraction"] < 0.8 and 1.1 < c["spine_post_over_ant"] < 1.9


def test_oracle_labels_are_learnable_on_a_small_cohort(cohort):
    from sklearn.metrics import roc_auc_score

    y = np.array([st.label.label == "metastasis" for st in cohort])
    res = [oracle(st) for st in cohort]
    aware = roc_auc_score(y, [r["label_aware"] for r in res])
    vis = roc_auc_score(y, [r["visibility"] for r in res])
    assert aware >= 0.95 and aware >= vis
    assert np.mean([r["visible_malignant"] for r, m in zip(res, y) if m]) >= 0.85
    assert all(r["label_aware"] >= 0 and r["visibility"] >= r["label_aware"] for r in res)
    assert any(r["visible_benign"] for r, m in zip(res, y) if not m)
    assert ROSE_CNR == 5.0
