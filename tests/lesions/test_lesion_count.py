"""One lesion, one count (lesions/lesion_count.py): touching candidates on a plateau are one
lesion, two lesions with a valley between them stay two; the detector counts and numbers
lesions that way without changing any probability or the BSI."""

import numpy as np
import pytest

from osteoscan.lesions.lesion_count import (
    SADDLE_FRACTION,
    components,
    joined_ids,
    one_per_lesion,
    saddle_ratios,
)
from osteoscan.types import Hotspot


def _view(profile: np.ndarray, cut: int):
    """A 1-row-thick band of uptake along the columns (``profile``: excess over a flat
    background of 1), split into two candidates at column ``cut``, each peaked at its own
    maximum."""
    z = np.ones((5, len(profile)), np.float32)
    z[1:4] += profile
    bg = np.ones_like(z)
    hot = []
    for cols in (slice(0, cut), slice(cut, len(profile))):
        mask = np.zeros(z.shape, bool)
        mask[1:4, cols] = True
        c = cols.start + int(np.argmax(profile[cols]))
        hot.append(Hotspot("anterior", 2.0, float(c), 1.0, "", 0.0, mask,
                           features={"peak_row": 2.0, "peak_col": float(c)}))
    return hot, z, bg


def test_a_plateau_is_one_lesion_and_a_valley_two():
    plateau = np.array([0, 2, 4, 3.8, 3.6, 3.7, 4.2, 2, 0], np.float32)  # two noise peaks
    hot, z, bg = _view(plateau, 4)
    ratio = saddle_ratios(hot, z, bg)[(0, 1)]
    assert ratio == pytest.approx(3.6 / 4.0) and ratio >= SADDLE_FRACTION  # border: 3.8 / 3.6
    valley = np.array([0, 2, 4, 2.4, 1.5, 2.4, 4.2, 2, 0], np.float32)  # two vertebrae
    hot, z, bg = _view(valley, 4)
    ratio = saddle_ratios(hot, z, bg)[(0, 1)]
    assert ratio == pytest.approx(1.5 / 4.0) and ratio < SADDLE_FRACTION
    far = np.zeros_like(hot[1].mask)
    far[1:4, 7:] = True
    hot[1] = Hotspot("anterior", 2.0, 7.0, 1.0, "", 0.0, far, features=hot[1].features)
    assert saddle_ratios(hot, z, bg) == {}  # not touching: never joined


def test_ids_join_pairs_across_views_and_on_a_view():
    group = np.array([0, 1, 2, 0])  # candidate 3 (posterior) pairs with 0
    ids = components(group, np.array([[1, 2]]))
    assert ids[0] == ids[3] and ids[1] == ids[2] and ids[0] != ids[1]
    assert len(np.unique(components(group, np.zeros((0, 2), int)))) == 3
    assert one_per_lesion(np.array([0, 1, 2]), ids, np.array([0.9, 0.6, 0.8])).tolist() == [0, 2]


def test_joined_ids_on_maps():
    class Maps:
        def __init__(self, z, bg):
            self.z, self.background, self.labels = z, bg, None  # basins from the masks

    hot, z, bg = _view(np.array([0, 2, 4, 3.8, 3.6, 3.7, 4.2, 2, 0], np.float32), 4)
    ids = joined_ids({"anterior": hot}, {"anterior": Maps(z, bg)}, ["anterior"], np.arange(2))
    assert ids[0] == ids[1]
    ids = joined_ids({"anterior": hot}, {"anterior": Maps(z, bg)}, ["anterior"], np.arange(2),
                     fraction=0.99)
    assert ids[0] != ids[1]


def test_the_detector_counts_lesions_not_candidates():
    """On a simulated metastatic study: every candidate gets an id; the malignant count is the
    distinct ids among the lesions called, never more than the groups called; probabilities
    and BSI are those of the detector without joining."""
    from dataclasses import replace

    from osteoscan.lesions.burden import distinct_lesions
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.reporting.html import lesion_numbers, shown_hotspots
    from osteoscan.simulate.study import simulate_study

    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("no bundled hotspot detector installed")
    scan = simulate_study(31, site="site_a", force_label="metastasis").scan
    arr, _ = det.arrays(scan)
    assert arr.joined is not None and len(arr.joined) == len(arr.group)
    st = det.stages(arr)
    with_ids = det.decide(arr, st["probability"], st["codes"], st["stack"])
    without = det.decide(replace(arr, joined=None), st["probability"], st["codes"], st["stack"])
    assert with_ids["bsi"] == without["bsi"] and with_ids["probability"] == without["probability"]
    assert len(with_ids["counted"]) == len(np.unique(arr.joined[with_ids["malignant"]]))
    assert len(with_ids["counted"]) <= len(without["counted"]) == len(without["malignant"])
    res = det.analyze(scan)
    groups = [g for g in distinct_lesions(res.by_view)
              if max(h.probability for h in g) >= res.threshold]
    assert res.malignant_count == len({g[0].features["lesion"] for g in groups})
    numbers = lesion_numbers(res, shown_hotspots(res))
    ids = [h.features["lesion"] for h in shown_hotspots(res)]
    assert all((a == b) == (ids[i] == ids[j]) for i, a in enumerate(numbers)
               for j, b in enumerate(numbers))


def test_basin_labels_give_the_ratios_of_the_masks():
    """The fast path (the candidate stage's own basin map) and the masks agree."""
    from osteoscan.lesions.candidates import scan_candidates
    from osteoscan.simulate.study import simulate_study

    scan = simulate_study(31, site="site_a", force_label="metastasis").scan
    hot, maps = scan_candidates(scan)
    for v in hot:
        fast = saddle_ratios(hot[v], maps[v].z, maps[v].background, maps[v].labels)
        slow = saddle_ratios(hot[v], maps[v].z, maps[v].background)
        assert fast and fast.keys() == slow.keys()
        assert all(fast[k] == pytest.approx(slow[k]) for k in fast)
