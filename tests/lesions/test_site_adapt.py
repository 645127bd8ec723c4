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


def test_augmented_cohorts_follow_the_plain_ones_into_the_training_records(bundled_detector,
                                                                          tmp_path):
    # the picture variant's captures read back (bench_detector --augment-mode capture) come
    # after its exports, as bench_detector puts them, and the cut sizes every cohort
    config = {"train": ["site_a"], "train_seed": 900, "n_train": 2, "select": ["site_b"],
              "n_select": 1, "design": "stack_bsi", "domain": "picture", "uptake_balance": True,
              "augment_mode": ["camera", "capture"], "n_augmented": [0, 3],
              "augmented_seed": [700, 960_300]}
    det = replace(bundled_detector, card={**bundled_detector.card, "held_out": {"config": config}})
    recipe = sa.recipe_of(det)
    assert recipe.extra == (("capture", range(960_300, 960_303)),) and recipe.n_train == 5
    no_seed = {**config, "augmented_seed": None, "seed": 2}  # bench_detector's default seeds
    det2 = replace(det, card={**det.card, "held_out": {"config": no_seed}})
    assert sa.recipe_of(det2).extra == (("capture", range(252_000, 252_003)),)
    small = recipe.sized(2, 1)
    assert small.extra == (("capture", range(960_300, 960_302)),) and small.n_train == 4
    train, select = sa.simulated(small, tmp_path)
    assert len(train) == 4 and len(select) == 1
    names = sorted(p.name for p in tmp_path.iterdir())
    assert sum("augcapture" in n for n in names) == 2 and sum("augexport" in n for n in names) == 3
    # bench_detector draws its augmented cohorts without the uptake balance: so does the refit
    assert not any("augcapture-bal" in n for n in names)


def test_pictures_plan_the_picture_recipe_and_the_count_records_it_matches(bundled_detector):
    if bundled_detector.picture is None:
        pytest.skip("no picture variant bundled")
    both = sa.recipes(bundled_detector, count=True, picture=True, n_train=30, n_select=12)
    pic, match = both["picture"], both["match"]
    config = bundled_detector.picture.card["held_out"]["config"]
    assert pic.augment == "export" and config["domain"] == "picture" and config["match_fpr"]
    assert "count_band" not in pic.card and len(pic.train_seeds) == 30  # pictures: no band
    assert both["count"].augment is None and both["count"].card["count_band"]
    # bench_detector._match_fpr reads the count detector's rate on the selection studies as
    # count records with the card's band and without the uptake balance: the same records
    assert not match.train_seeds and match.select_seeds == both["count"].select_seeds
    assert not match.uptake_balance and match.card["count_band"] and match.augment is None
    assert set(sa.recipes(bundled_detector, count=True, picture=False)) == {"count"}
    assert set(sa.recipes(bundled_detector, count=False, picture=True)) == {"picture", "match"}
    with pytest.raises(ModelError, match="no picture variant"):
        sa.recipes(replace(bundled_detector, picture=None), count=False, picture=True)


def test_the_picture_variant_calls_no_more_normals_than_the_count_detector(fitted):
    from osteoscan.lesions.detector_train import arrays

    det, select = fitted
    assert any(int(r["label"]) == 0 for r in select)  # a rate to match
    recipe = sa.Recipe(train_sites=("site_a",), train_seeds=range(900, 904),
                       select_sites=("site_b",), select_seeds=range(950, 953),
                       uptake_balance=False, design=det.card.get("design", "stack_bsi"), seed=0,
                       fit={}, card={}, augment="export")
    det = replace(det, card={**det.card, "held_out": {"config": {"domain": "picture"}}})
    det = replace(det, picture=det)  # a variant to refit; the records stand in for exports
    normals = [sa.normal_record(_scan(), det.codes, np.ones(14))]
    new = sa.refit_picture(det, recipe, select[:2] * 2, select, normals, select, "m.csv")
    pic = new.picture
    fpr = sa.false_positive_rate(det, select)
    called = [pic.patient_probability(arrays(r), *pic.score(arrays(r))) >= pic.decision_threshold
              for r in select if int(r["label"]) == 0]
    assert np.mean(called) <= fpr and pic.card["matched_to"]["false_positive_rate"] == fpr
    assert pic.card["site_adaptation"]["normals"] == 1 and pic.card["domain"] == "picture"
    assert new.decision_threshold == det.decision_threshold  # the count detector untouched


def _scan():
    from osteoscan.simulate.study import simulate_study

    return simulate_study(5).scan
