"""Augmentation: thinning statistics, geometry, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.preprocessing.augment import (
    flip_lr,
    random_rotate_translate,
    rotate_translate,
    thin_counts,
)


def test_binomial_thinning_has_binomial_mean_and_variance():
    counts = np.full((200, 200), 50.0, np.float32)
    out = thin_counts(counts, 0.3, np.random.default_rng(0))
    assert out.dtype == np.float32 and np.all(out <= counts) and np.all(out == np.rint(out))
    assert out.mean() == pytest.approx(15.0, rel=0.01)
    assert out.var() == pytest.approx(50 * 0.3 * 0.7, rel=0.05)  # binomial, not Poisson (15)


def test_thinned_scan_looks_like_a_shorter_acquisition():
    rng = np.random.default_rng(1)
    lam = np.full((300, 300), 40.0)
    thinned = thin_counts(rng.poisson(lam).astype(np.float32), 0.25, rng)
    direct = rng.poisson(lam * 0.25)
    assert thinned.mean() == pytest.approx(direct.mean(), rel=0.02)
    assert thinned.var() == pytest.approx(direct.var(), rel=0.05)  # Poisson(10) either way


def test_flip_flips_both_views_together():
    img = np.zeros((2, 8, 4), np.float32)
    img[0, 2, 0] = 1
    img[1, 5, 0] = 2
    out = flip_lr(img)
    assert out[0, 2, 3] == 1 and out[1, 5, 3] == 2 and out.sum() == 3


def test_rotation_and_translation_move_a_point_as_expected():
    img = np.zeros((1, 65, 33), np.float32)
    img[0, 20, 16] = 1.0  # 12 rows above the centre (32, 16)
    shifted = rotate_translate(img, 0.0, (5.0, -3.0))
    assert np.unravel_index(shifted[0].argmax(), shifted[0].shape) == (25, 13)
    rotated = rotate_translate(img, 90.0, (0.0, 0.0))
    r, c = np.unravel_index(rotated[0].argmax(), rotated[0].shape)
    assert (r, c) in {(32, 4), (32, 28)}  # a quarter turn puts it 12 columns from the centre


def test_random_geometry_is_deterministic_given_the_seed():
    img = np.random.default_rng(0).random((2, 64, 32)).astype(np.float32)
    a = random_rotate_translate(img, 10, 5, np.random.default_rng(7))
    b = random_rotate_translate(img, 10, 5, np.random.default_rng(7))
    c = random_rotate_translate(img, 10, 5, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert random_rotate_translate(img, 0, 0, np.random.default_rng(0)) is img


def test_thinning_is_exactly_binomial_below_the_exact_threshold():
    from scipy import stats

    from osteoscan.preprocessing.augment import EXACT_BELOW

    n = EXACT_BELOW - 1
    out = thin_counts(np.full(200_000, float(n), np.float32), 0.6, np.random.default_rng(2))
    freq = np.bincount(out.astype(int), minlength=n + 1) / out.size
    np.testing.assert_allclose(freq, stats.binom.pmf(np.arange(n + 1), n, 0.6), atol=0.004)


def test_thinning_keeps_zero_and_never_exceeds_the_counts():
    counts = np.random.default_rng(3).poisson(6.0, (300, 300)).astype(np.float32)
    counts[:50] = 0.0
    out = thin_counts(counts, 0.5, np.random.default_rng(4))
    assert out.shape == counts.shape and np.all(out[:50] == 0)
    assert np.all((out >= 0) & (out <= counts))
    assert out.mean() == pytest.approx(counts.mean() * 0.5, rel=0.02)


def test_opencv_rotation_matches_scipy_affine_transform():
    from scipy import ndimage

    img = ndimage.gaussian_filter(np.random.default_rng(5).random((1, 120, 60)), 3).astype(np.float32)
    ours = rotate_translate(img, 7.0, (2.5, -1.5))[0]
    theta = np.deg2rad(7.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = (np.array(img.shape[1:]) - 1) / 2
    offset = centre - rot @ (centre + np.array([2.5, -1.5]))
    ref = ndimage.affine_transform(img[0], rot, offset=offset, order=1, mode="constant")
    inner = (slice(10, -10), slice(10, -10))  # borders differ only by edge handling
    np.testing.assert_allclose(ours[inner], ref[inner], atol=2e-3 * img.max())
