"""Region placement and anterior/posterior matching."""

import numpy as np

from osteoscan.lesions.regions import match_views, place
from osteoscan.skeleton import REGION_CODE
from osteoscan.types import Hotspot


def _h(view, row, col, region="ribs"):
    return Hotspot(view, row, col, 10.0, region, 0.5, np.zeros((2, 2), bool))


def test_place_by_majority_and_nearest_bone():
    rmap = np.zeros((20, 20), np.uint8)
    rmap[0:10, 0:10] = REGION_CODE["ribs"]
    rmap[0:10, 10:20] = REGION_CODE["thoracic_spine"]
    mask = np.zeros((20, 20), bool)
    mask[2:5, 7:12] = True  # 9 px ribs, 6 px spine
    assert place(mask, rmap, 3, 9) == "ribs"
    off = np.zeros((20, 20), bool)
    off[18, 17] = True  # no bone under it: nearest is the spine block
    assert place(off, rmap, 18, 17) == "thoracic_spine"
    assert place(off, np.zeros_like(rmap), 18, 17) == "background"


def test_matching_same_region_within_gate_hungarian():
    ant = [_h("anterior", 100, 50), _h("anterior", 110, 50), _h("anterior", 300, 50, "pelvis")]
    post = [_h("posterior", 108, 50), _h("posterior", 101, 50), _h("posterior", 300, 52, "femurs")]
    a, p = match_views(ant, post, (2.4, 2.4), gate_mm=40)
    assert [h.match for h in a] == [1, 0, None]  # global optimum; pelvis != femurs
    assert [h.match for h in p] == [1, 0, None]


def test_matching_gate():
    a, p = match_views([_h("anterior", 100, 50)], [_h("posterior", 130, 50)], (2.4, 2.4), gate_mm=40)
    assert a[0].match is None and p[0].match is None  # 72 mm apart
    a, _ = match_views([_h("anterior", 100, 50)], [_h("posterior", 110, 50)], (2.4, 2.4), gate_mm=40)
    assert a[0].match == 0
