"""View alignment by sweep-line critical points and view combination."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.preprocessing.views import align_to, combine_views, critical_points, in_chans_for


def test_critical_points_find_the_body_extent(ph, rng):
    img = ph.counts(ph.rate(top=60, bottom=980, left=60, right=196), 5e5, rng)
    pts = critical_points(img)
    assert pts is not None
    assert abs(pts.top - 60) <= 3 and abs(pts.bottom - 979) <= 3
    assert abs(pts.left - 60) <= 3 and abs(pts.right - 195) <= 3
    assert critical_points(np.zeros((64, 32), np.float32)) is None


def test_align_recovers_a_shifted_and_scaled_posterior(ph, rng):
    ant = ph.counts(ph.rate(top=60, bottom=980, left=60, right=196), 8e5, rng)
    # posterior: same body 20 rows lower, 5 % shorter, 6 columns to the right
    post = ph.counts(ph.rate(top=80, bottom=954, left=66, right=202), 8e5, rng)
    before = critical_points(post)
    aligned = align_to(post, ant)
    pa, pb = critical_points(ant), critical_points(aligned)
    assert abs(before.top - pa.top) >= 18
    for a, b in zip(pa, pb, strict=True):
        assert abs(a - b) <= 2
    sm = lambda x: ndimage.gaussian_filter(x, 3)  # noqa: E731
    assert (
        np.corrcoef(sm(ant).ravel(), sm(aligned).ravel())[0, 1]
        > np.corrcoef(sm(ant).ravel(), sm(post).ravel())[0, 1] + 0.1
    )


def test_align_refuses_implausible_scales(ph, rng):
    ant = ph.counts(ph.rate(top=60, bottom=980), 5e5, rng)
    small = ph.counts(ph.rate(top=300, bottom=600), 5e5, rng)
    np.testing.assert_array_equal(align_to(small, ant), small)


def test_combine_modes_shapes_and_values():
    a = np.full((32, 16), 4.0, np.float32)
    p = np.full((32, 16), 9.0, np.float32)
    assert combine_views(a, p, "stack", align=False).shape == (2, 32, 16)
    assert combine_views(a, p, "geomean", align=False)[0, 5, 5] == pytest.approx(6.0)
    assert combine_views(a, p, "anterior")[0, 5, 5] == 4.0
    with pytest.raises(ConfigError, match="views"):
        combine_views(a, p, "mean")
    assert [in_chans_for(m) for m in ("aggregate", "stack", "geomean", "anterior")] == [1, 2, 1, 1]


def test_aggregate_adds_the_aligned_views(ph, rng):
    ant = ph.counts(ph.rate(), 5e5, rng)
    post = np.roll(ant, 10, axis=0)
    agg = combine_views(ant, post, "aggregate")[0]
    assert agg.sum() == pytest.approx(2 * ant.sum(), rel=0.02)
    # after alignment the sum is sharp: its spine profile matches 2 x the anterior
    np.testing.assert_allclose(agg[400:600, 128].mean(), 2 * ant[400:600, 128].mean(), rtol=0.05)


def test_single_view_studies():
    a = np.full((32, 16), 4.0, np.float32)
    dup = combine_views(a, None, "stack")
    np.testing.assert_array_equal(dup[1], a)
    zero = combine_views(a, None, "stack", missing_view="zero")
    assert zero[1].max() == 0.0
    assert combine_views(a, None, "aggregate")[0, 0, 0] == 8.0
    assert combine_views(a, None, "aggregate", missing_view="zero")[0, 0, 0] == 4.0
    assert combine_views(a, None, "geomean", missing_view="zero")[0, 0, 0] == 4.0


def test_scale_shift_equals_scipy_affine_transform():
    from osteoscan.preprocessing.views import scale_shift

    img = np.random.default_rng(0).random((300, 100)).astype(np.float32)
    ours = scale_shift(img, (0.95, 1.05), (3.3, -2.2))
    ref = ndimage.affine_transform(img, (0.95, 1.05), offset=(3.3, -2.2), order=1, mode="constant")
    np.testing.assert_allclose(ours, ref, atol=1e-5)
