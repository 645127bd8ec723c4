"""Pointing game: hits, misses, tolerance, chance level and the Wilson interval."""

import numpy as np
import pytest

from osteoscan.explain.pointing import malignant_mask, pointing_game, summarise, wilson_interval


def _maps(peak):
    h = np.zeros((50, 20), np.float32)
    h[peak] = 1.0
    return h


def test_hit_miss_and_tolerance():
    lesion = np.zeros((50, 20), bool)
    lesion[10:13, 5:8] = True
    assert pointing_game({"anterior": _maps((11, 6))}, {"anterior": lesion}).hit
    near = pointing_game({"anterior": _maps((11, 11))}, {"anterior": lesion}, tolerance_px=4)
    assert near.hit and near.distance_px["anterior"] == pytest.approx(4.0)
    far = pointing_game({"anterior": _maps((11, 12))}, {"anterior": lesion}, tolerance_px=4)
    assert not far.hit


def test_either_view_counts_and_views_without_lesions_are_skipped():
    lesion = np.zeros((50, 20), bool)
    lesion[40, 10] = True
    res = pointing_game({"anterior": _maps((0, 0)), "posterior": _maps((40, 10))},
                        {"anterior": np.zeros((50, 20), bool), "posterior": lesion})
    assert res.hit and set(res.hits) == {"posterior"}
    assert pointing_game({"anterior": _maps((0, 0))}, {"anterior": np.zeros((50, 20), bool)}) is None


def test_chance_level_is_the_area_fraction():
    lesion = np.zeros((100, 100), bool)
    lesion[50, 50] = True
    res = pointing_game({"anterior": np.zeros((100, 100))},
                        {"anterior": lesion}, tolerance_px=0)
    assert res.chance == pytest.approx(1e-4)


def test_summary_and_wilson():
    lesion = np.zeros((50, 20), bool)
    lesion[5, 5] = True
    results = [pointing_game({"anterior": _maps(p)}, {"anterior": lesion}) for p in [(5, 5), (5, 6), (40, 15), (45, 1)]]
    s = summarise(results + [None])
    assert s["n"] == 4 and s["hits"] == 2 and s["hit_rate"] == 0.5
    lo, hi = wilson_interval(2, 4)
    assert s["ci95"] == [lo, hi] and lo == pytest.approx(0.15, abs=0.01) and hi == pytest.approx(0.85, abs=0.01)


def test_malignant_mask_selects_ids():
    inst = np.array([[0, 1, 2], [3, 3, 0]], np.int32)
    assert malignant_mask(inst, [1, 3]).tolist() == [[False, True, False], [True, True, False]]
