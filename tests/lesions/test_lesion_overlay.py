"""Hotspot outlines coloured by probability."""

import numpy as np

from osteoscan.lesions.overlay import draw_outlines, probability_colour
from osteoscan.types import Hotspot


def test_colours_run_green_to_red():
    r0, g0, _ = probability_colour(0.0)
    r1, g1, _ = probability_colour(1.0)
    assert g0 > r0 and r1 > g1


def test_outline_drawn_on_edge_only_and_input_untouched():
    rgb = np.zeros((20, 20, 3), np.uint8)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    out = draw_outlines(rgb, [Hotspot("anterior", 10, 10, 100, "ribs", 0.95, mask)])
    assert rgb.sum() == 0  # not modified in place
    assert tuple(out[5, 10]) == probability_colour(0.95)  # on the boundary
    assert out[10, 10].sum() == 0 and out[0, 0].sum() == 0  # inside and far outside untouched
    wrong = Hotspot("anterior", 1, 1, 1, "ribs", 0.5, np.ones((3, 3), bool))
    assert np.array_equal(draw_outlines(rgb, [wrong]), rgb)  # mismatched mask skipped


def test_outline_on_the_box_equals_the_whole_view_boundary():
    from skimage.segmentation import find_boundaries

    rng = np.random.default_rng(0)
    rgb = np.zeros((64, 32, 3), np.uint8)
    for mask in (rng.random((64, 32)) > 0.97, np.pad(np.ones((4, 4), bool), ((0, 60), (28, 0)))):
        out = draw_outlines(rgb, [Hotspot("anterior", 1, 1, 1, "ribs", 1.0, mask)])
        np.testing.assert_array_equal(out.any(axis=2), find_boundaries(mask, mode="thick"))


def test_boundaries_equal_skimage_on_random_masks_at_the_borders():
    from skimage.segmentation import find_boundaries

    from osteoscan.lesions.overlay import _box, boundaries

    rng = np.random.default_rng(1)
    for i in range(40):
        shape = (int(rng.integers(1, 30)), int(rng.integers(1, 30)))
        mask = rng.random(shape) > rng.uniform(0.2, 0.95)
        for thick, mode in ((True, "thick"), (False, "inner")):
            np.testing.assert_array_equal(boundaries(mask, thick=thick),
                                          find_boundaries(mask, mode=mode), err_msg=f"{i} {mode}")
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = _box(mask, margin=2)
        if rows.size == 0:
            assert box is None
        else:
            assert box == (slice(max(rows[0] - 2, 0), rows[-1] + 3),
                           slice(max(cols[0] - 2, 0), cols[-1] + 3))


def test_colour_of_each_probability_is_matplotlibs():
    from matplotlib import colormaps

    from osteoscan.lesions.overlay import probability_colours

    ps = (-0.5, 0.0, 0.123, 0.5, 0.999, 1.0, 2.0, *np.random.default_rng(2).random(200))
    for p, one in zip(ps, probability_colours(ps), strict=True):
        r, g, b, _ = colormaps["RdYlGn_r"](float(np.clip(p, 0, 1)))
        assert probability_colour(p) == one == (int(r * 255), int(g * 255), int(b * 255))
