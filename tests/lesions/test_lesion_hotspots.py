"""Hotspot extraction and box pseudo-masks on hand-made arrays."""

import numpy as np
import pytest

from osteoscan.lesions.hotspots import box_pseudo_mask, extract_hotspots, normalise_view


def test_components_become_hotspots_with_physical_units():
    prob = np.zeros((40, 20), np.float32)
    prob[5:9, 4:8] = 0.9  # 16 px
    prob[30:32, 10:13] = 0.8  # 6 px
    prob[20, 2] = 0.95  # 1 px: below min area
    counts = np.full((40, 20), 10.0, np.float32)
    counts[6, 5] = 50.0
    hs = extract_hotspots(prob, counts, "anterior", spacing_mm=(2.0, 3.0), min_area_px=4)
    assert len(hs) == 2
    a, b = hs
    assert (a.row, a.col) == (6.5, 5.5)
    assert a.area_mm2 == pytest.approx(16 * 6.0)
    assert a.max_counts == 50.0 and a.mean_counts == pytest.approx((15 * 10 + 50) / 16)
    assert a.mask.sum() == 16 and a.view == "anterior"
    assert b.row == pytest.approx(30.5) and b.area_mm2 == pytest.approx(36.0)
    assert a.features["solidity"] == pytest.approx(1.0)


def test_unknown_spacing_reports_pixels():
    prob = np.zeros((10, 10))
    prob[2:4, 2:4] = 1
    (h,) = extract_hotspots(prob, np.ones((10, 10)), "posterior", spacing_mm=None)
    assert h.area_mm2 == 4 and h.features["area_unit_px"] == 1.0


def test_box_pseudo_mask_keeps_bright_core_inside_box_only():
    rng = np.random.default_rng(0)
    counts = rng.poisson(20, (60, 40)).astype(np.float32)
    yy, xx = np.mgrid[:60, :40]
    blob = (yy - 30) ** 2 + (xx - 20) ** 2 <= 16
    counts[blob] += 200
    counts[5:8, 5:8] += 300  # bright spot outside the box must stay out
    mask = box_pseudo_mask(counts, [(22, 12, 38, 28)])
    assert not mask[5:8, 5:8].any()
    assert mask[blob].mean() > 0.9  # the hotspot is kept
    assert mask.sum() < 0.5 * 17 * 17  # much tighter than the box
    full = box_pseudo_mask(counts, [(22, 12, 38, 28)], mode="box")
    assert full.sum() == 17 * 17


def test_normalise_view_is_count_level_invariant():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 5.0, (64, 16)).astype(np.float32)
    np.testing.assert_allclose(normalise_view(x), normalise_view(7 * x), rtol=1e-5)
