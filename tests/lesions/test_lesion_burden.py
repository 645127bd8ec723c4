"""Bone Scan Index and patient probability on hand-made hotspots."""

import numpy as np
import pytest

from osteoscan.lesions.burden import bone_scan_index, patient_probability, region_table
from osteoscan.skeleton import MASS_FRACTION, REGION_CODE
from osteoscan.types import Hotspot


def _rmap():
    m = np.zeros((40, 40), np.uint8)
    m[0:10, 0:10] = REGION_CODE["ribs"]  # 100 px
    m[20:40, 0:20] = REGION_CODE["pelvis"]  # 400 px
    return m


def _hot(view, rows, cols, region, p, match=None):
    mask = np.zeros((40, 40), bool)
    mask[rows, cols] = True
    return Hotspot(view, 0, 0, float(mask.sum()), region, p, mask, match=match)


def test_bsi_known_value_mean_and_max_of_views():
    ant = [_hot("anterior", slice(0, 2), slice(0, 5), "ribs", 0.9, match=0)]  # 10 px of ribs
    post = [_hot("posterior", slice(0, 4), slice(0, 5), "ribs", 0.8, match=0)]  # 20 px
    maps = {"anterior": _rmap(), "posterior": _rmap()}
    bsi, frac = bone_scan_index({"anterior": ant, "posterior": post}, maps)
    assert frac["ribs"] == pytest.approx(0.20)  # union: the anterior 10 px lie inside the posterior 20
    assert bsi == pytest.approx(100 * MASS_FRACTION["ribs"] * 0.20)
    bsi_mean, frac = bone_scan_index({"anterior": ant, "posterior": post}, maps, combine="mean")
    assert frac["ribs"] == pytest.approx(0.15)
    assert bsi_mean == pytest.approx(100 * MASS_FRACTION["ribs"] * 0.15)
    bsi_max, _ = bone_scan_index({"anterior": ant, "posterior": post}, maps, combine="max")
    assert bsi_max == pytest.approx(100 * MASS_FRACTION["ribs"] * 0.20)


def test_bsi_union_counts_pixels_by_region_under_them():
    # one malignant hotspot straddling ribs (10 px) and pelvis (20 px) on the posterior view only
    mask = np.zeros((40, 40), bool)
    mask[9, 0:10] = True
    mask[20:22, 0:10] = True
    h = Hotspot("posterior", 0, 0, 30.0, "ribs", 0.9, mask)
    bsi, frac = bone_scan_index({"anterior": [], "posterior": [h]},
                                {"anterior": _rmap(), "posterior": _rmap()})
    assert frac["ribs"] == pytest.approx(0.1) and frac["pelvis"] == pytest.approx(20 / 400)
    assert bsi == pytest.approx(100 * (MASS_FRACTION["ribs"] * 0.1 + MASS_FRACTION["pelvis"] * 0.05))


def test_bsi_ignores_benign_and_off_bone_pixels():
    benign = _hot("anterior", slice(20, 30), slice(0, 10), "pelvis", 0.2)
    spill = _hot("anterior", slice(9, 12), slice(0, 10), "ribs", 0.7)  # 10 px on ribs, 20 off bone
    bsi, frac = bone_scan_index({"anterior": [benign, spill]}, {"anterior": _rmap()})
    assert frac["pelvis"] == 0 and frac["ribs"] == pytest.approx(0.1)
    assert bsi == pytest.approx(100 * MASS_FRACTION["ribs"] * 0.1)


def test_whole_skeleton_involved_gives_100():
    m = np.zeros((len(MASS_FRACTION), 4), np.uint8)
    hs = []
    for i, name in enumerate(MASS_FRACTION):
        m[i] = REGION_CODE[name]
        hs.append(Hotspot("anterior", i, 1, 4, name, 1.0, m == REGION_CODE[name]))
    bsi, _ = bone_scan_index({"anterior": hs}, {"anterior": m})
    assert bsi == pytest.approx(100.0)


def test_patient_probability_counts_matched_pair_once():
    a = [_hot("anterior", 0, 0, "ribs", 0.6, match=0)]
    p = [_hot("posterior", 0, 0, "ribs", 0.5, match=0), _hot("posterior", 30, 1, "pelvis", 0.5)]
    views = {"anterior": a, "posterior": p}
    assert patient_probability(views) == pytest.approx(1 - 0.4 * 0.5)
    assert patient_probability(views, "max") == pytest.approx(0.6)
    assert patient_probability({"anterior": []}) == 0.0
    rows = {r.region: r for r in region_table(views, {"ribs": 0.1})}
    assert rows["ribs"].hotspots == 1 and rows["ribs"].malignant == 1
    assert rows["pelvis"].hotspots == 1 and rows["pelvis"].malignant == 1
