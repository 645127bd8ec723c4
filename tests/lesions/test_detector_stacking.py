"""The second stage's patient-context features of each hotspot."""

import numpy as np

from osteoscan.lesions.stacking import STACK_FEATURES, stack_features


def _features(p, view, group, codes, y, x):
    S = stack_features(np.array(p), np.array(view), np.array(group), np.array(codes),
                       np.array(y), np.array(x))
    return [dict(zip(STACK_FEATURES, row)) for row in S]


def test_study_and_partner_context():
    # candidates 0 and 2 are one lesion (an anterior/posterior pair): counted once
    f = _features([0.9, 0.6, 0.8, 0.1], [0, 0, 1, 1], [0, 1, 0, 3], [6, 6, 6, 10],
                  [3.0, 3.2, 3.0, 8.0], [0.0, 0.0, 0.0, 1.0])
    assert len(f[0]) == len(STACK_FEATURES)
    assert f[0]["study_n_p50"] == 2 and f[0]["study_max_p1"] == 0.9
    assert f[0]["study_sum_p1"] == np.float64(0.9 + 0.6 + 0.1)
    assert f[0]["partner_p1"] == 0.8 and f[2]["partner_p1"] == 0.9 and f[1]["partner_p1"] == 0
    assert f[0]["p1_rank"] == 0 and f[3]["p1_rank"] == 3
    assert f[1]["p1_over_max"] == np.float64(0.6 / 0.9)


def test_neighbours_and_region_leave_the_candidate_out():
    f = _features([0.9, 0.6, 0.7], [0, 0, 0], [0, 1, 2], [6, 6, 10],
                  [3.0, 3.2, 9.0], [0.0, 0.0, 0.0])
    assert f[0]["near_max_p1"] == 0.6 and f[0]["near_n_p50"] == 1  # 0.2 units apart
    assert f[2]["near_max_p1"] == 0 and f[2]["near_n_p50"] == 0  # far from both
    assert f[0]["region_n_p50"] == 1 and f[0]["region_max_p1"] == 0.6
    assert f[2]["region_n_p50"] == 0


def test_empty_study():
    assert stack_features(np.zeros(0), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int),
                          np.zeros(0), np.zeros(0)).shape == (0, len(STACK_FEATURES))


def test_bundled_detector_is_the_selected_design_with_held_out_figures():
    """The shipped detector is the design chosen on selection sites (two stages and the BSI
    trees), and its card carries held-out figures for the three test sites, none of them a
    training or selection site."""
    import pytest

    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("no bundled hotspot detector installed")
    card = det.card
    assert det.stage2 is not None and det.bsi_model is not None
    assert card["design"] == "stack_bsi" and tuple(card["stack_features"]) == STACK_FEATURES
    config = card["held_out"]["config"]
    tested = {*config["test"], *config["extra_test"]}
    assert tested == {"site_c", "profile_7", "profile_13"}
    assert not tested & ({*config["train"]} | {*config["select"]})
    for key in ("test", "test_profile_7", "test_profile_13"):
        block = card["held_out"][key]["detector"]
        assert block["patient"]["n"] >= 80
        lo, hi = block["patient"]["auc_ci"]
        assert lo <= block["patient"]["auc"] <= hi
