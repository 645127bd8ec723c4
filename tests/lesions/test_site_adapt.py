"""The refit with a site's normals (osteoscan.lesions.site_adapt): the recipe is the bundle's
card's, a normal study's candidates are all negatives, and the refit says what it used."""

import argparse
from dataclasses import replace

import numpy as np
import pytest

from osteoscan.errors import ModelError
from osteoscan.lesions import site_adapt as sa


def test_the_recipe_is_read_from_the_bundled_card(bundled_detector):
    from benchmarks.bench_detector import _select_seeds

    r = sa.recipe_of(bundled_detector)
    config = bundled_detector.card["held_out"]["config"]
    assert r.train_sites == tuple(config["train"]) and len(r.train_seeds) == config["n_train"]
    assert r.train_seeds.start == config["train_seed"] and r.design == config["design"]
    args = argparse.Namespace(seed=config["seed"], n_select=config["n_select"])
    assert list(r.select_seeds) == _select_seeds(args)  # the one formula, kept equal
    assert r.fit["context_features"] == bundled_detector.context_features
    assert r.card["count_band"] == bundled_detector.card["count_band"]
    small = r.sized(30, 12)
    assert len(small.train_seeds) == 30 and small.select_seeds.start == r.select_seeds.start


def test_a_detector_that_does_not_say_how_it_was_fitted_cannot_be_refitted(bundled_detector):
    bare = replace(bundled_detector, card={k: v for k, v in bundled_detector.card.items()
                                           if k != "held_out"})
    with pytest.raises(ModelError, match="does not say how it was fitted"):
        sa.recipe_of(bare)


def test_every_candidate_of_a_normal_study_is_a_negative(bundled_detector):
    from osteoscan.simulate.study import simulate_study

    scan = simulate_study(7, force_label="metastasis").scan  # a hot study: many candidates
    rec = sa.normal_record(scan, bundled_detector.codes, np.ones(14))
    assert len(rec["y"]) > 0 and not rec["y"].any() and int(rec["label"]) == 0
    assert float(rec["bsi"]) == 0 and not rec["bsi_share"].any()
    from osteoscan.lesions.context import FEATURES
    from osteoscan.skeleton import REGIONS

    assert rec["X"].shape[1] == len(FEATURES) and rec["region"].max() < len(REGIONS)


def test_the_prediction_says_the_detector_was_refitted_and_calibrated_at_the_site(
        bundled_detector):
    from osteoscan.inference import Predictor
    from osteoscan.simulate.study import simulate_study

    card = {**bundled_detector.card, "site_adaptation": {"normals": 100},
            "site_calibration": {"normals": 80, "threshold": 0.9}}
    det = replace(bundled_detector, card=card)
    pred = Predictor.default(lesion_analyzer=det, lesion_decides=True, gradcam=False)
    out = pred.predict(simulate_study(3).scan)
    said = out.model["decided_by"]
    assert "refitted with 100 site normals" in said and "site threshold from 80" in said
    assert out.model["site_adaptation"] == {"normals": 100}
    plain = Predictor.default(lesion_analyzer=bundled_detector, lesion_decides=True,
                              gradcam=False).predict(simulate_study(3).scan)
    assert "site" not in plain.model["decided_by"] and "site_calibration" not in plain.model


def test_a_pool_makes_the_same_records_in_the_same_order(bundled_detector, tmp_path):
    recipe = sa.recipe_of(bundled_detector).sized(3, 2)
    ticks = []
    one = sa.simulated(recipe, tmp_path / "a", lambda: ticks.append(1))
    two = sa.simulated(recipe, tmp_path / "b", workers=2)
    assert len(ticks) == 5 and [len(x) for x in one] == [3, 2] == [len(x) for x in two]
    for a, b in zip(one[0] + one[1], two[0] + two[1], strict=True):
        assert np.array_equal(a["X"], b["X"]) and int(a["label"]) == int(b["label"])
    assert len(list((tmp_path / "b").glob("*-bal.npz"))) == 5  # cached: a rerun reads them
