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
