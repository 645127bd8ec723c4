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


def test_neighbourhood_radius_is_a_parameter():
    """Candidates 0.2 body units apart are neighbours at the default radius (0.45), not at
    0.1 (a card's ``near_body``)."""
    args = (np.array([0.9, 0.6]), np.array([0, 0]), np.array([0, 1]), np.array([6, 6]),
            np.array([3.0, 3.2]), np.array([0.0, 0.0]))
    wide = dict(zip(STACK_FEATURES, stack_features(*args)[0]))
    narrow = dict(zip(STACK_FEATURES, stack_features(*args, near_body=0.1)[0]))
    assert wide["near_max_p1"] == 0.6 and wide["near_n_p50"] == 1
    assert narrow["near_max_p1"] == 0 and narrow["near_n_p50"] == 0
    assert narrow["region_max_p1"] == wide["region_max_p1"] == 0.6


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


SMALL = {"max_iter": 15, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 10,
         "early_stopping": False}


def _fitted_local(tmp_path):
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_detector
    from osteoscan.lesions.stacking import LOCAL_STACK

    train = simulated_records(["site_a"], range(900, 904), tmp_path)
    select = simulated_records(["site_b"], range(950, 953), tmp_path)
    return fit_detector(train, select, hgb_params=SMALL, stack_features=LOCAL_STACK), select


def test_local_second_stage_ignores_the_rest_of_the_patient(tmp_path, monkeypatch):
    """A second stage on LOCAL_STACK takes only those columns (named in its card, kept on
    reload), so the study-wide context (how metastatic the patient looks elsewhere) cannot
    raise a candidate: scrambling the study-wide columns leaves every probability and the
    BSI as they were."""
    import osteoscan.lesions.patient as patient
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.detector_train import arrays
    from osteoscan.lesions.stacking import LOCAL_STACK

    det, select = _fitted_local(tmp_path / "cache")
    used = det.stage2.feature[~det.stage2.is_leaf.astype(bool)]
    assert used.max() < len(FEATURES) + len(LOCAL_STACK)  # no column beyond the local ones
    det.save(tmp_path / "det")
    back = patient.HotspotDetector.load(tmp_path / "det")
    assert tuple(back.card["stack_features"]) == LOCAL_STACK
    arr = arrays(next(r for r in select if len(r["X"])))
    st = back.stages(arr)
    before = back.decide(arr, st["probability"], st["codes"], st["stack"])
    wide = [STACK_FEATURES.index(n) for n in STACK_FEATURES if n not in LOCAL_STACK]
    real = patient.stack_inputs

    def scrambled(*a):
        S = real(*a)
        S[:, wide] = np.random.default_rng(0).random((len(S), len(wide))) * 50
        return S

    monkeypatch.setattr(patient, "stack_inputs", scrambled)
    st2 = back.stages(arr)
    after = back.decide(arr, st2["probability"], st2["codes"], st2["stack"])
    np.testing.assert_allclose(st2["probability"], st["probability"])
    assert after["bsi"] == before["bsi"] and after["probability"] == before["probability"]


def test_card_with_an_unknown_stack_feature_is_refused(tmp_path):
    import json

    import pytest

    from osteoscan.errors import ModelError
    from osteoscan.lesions.patient import HotspotDetector

    det, _ = _fitted_local(tmp_path / "cache")
    det.save(tmp_path / "det")
    path = tmp_path / "det" / "hotspot_detector.json"
    card = json.loads(path.read_text())
    card["stack_features"] = [*card["stack_features"][:-1], "study_mood"]
    path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="features"):
        HotspotDetector.load(tmp_path / "det")
