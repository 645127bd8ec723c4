"""osteoscan.arrays: the block mean shared by the reader and preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.arrays import block_mean, percentile


@pytest.mark.parametrize("shape,ky,kx", [((12, 8), 2, 2), ((2, 12, 9), 3, 3), ((2, 1, 12, 8), 4, 2),
                                         ((1024, 256), 2, 1), ((9, 6), 1, 3)])
def test_block_mean_is_the_reshape_mean(shape, ky, kx):
    img = np.random.default_rng(sum(shape)).normal(50.0, 20.0, shape).astype(np.float32)
    h, w = shape[-2:]
    expect = img.reshape(*shape[:-2], h // ky, ky, w // kx, kx).mean(axis=(-3, -1))
    out = block_mean(img, ky, kx)
    assert out.dtype == np.float32 and out.shape == expect.shape
    np.testing.assert_allclose(out, expect, rtol=1e-6, atol=1e-5)


def test_block_mean_of_integer_counts_is_exact_and_input_untouched():
    counts = np.random.default_rng(0).poisson(40.0, (2, 1024, 256)).astype(np.float64)
    before = counts.copy()
    out = block_mean(counts[:, ::2, :], 2, 2)  # float64, non-contiguous view
    expect = counts[:, ::2, :].reshape(2, 256, 2, 128, 2).sum(axis=(2, 4)) / 4.0
    np.testing.assert_array_equal(out, expect.astype(np.float32))
    np.testing.assert_array_equal(counts, before)


@pytest.mark.parametrize("shape,k", [((10, 8), 3), ((2, 2), 4)])
def test_block_mean_refuses_blocks_that_do_not_tile(shape, k):
    with pytest.raises(ValueError, match="do not tile"):
        block_mean(np.zeros(shape, np.float32), k, k)


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 81_104])
@pytest.mark.parametrize("q", [0.0, 50.0, 95.0, 99.5, 100.0])
def test_display_percentile_matches_numpy(n, q):
    v = np.random.default_rng(n).poisson(30.0, n).astype(np.float32)  # ties, as in counts
    assert percentile(v, q) == pytest.approx(float(np.percentile(v, q)), rel=1e-6, abs=1e-6)


def test_percentile_of_a_2d_array_and_of_nothing():
    img = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert percentile(img, 25.0) == pytest.approx(float(np.percentile(img, 25.0)))
    with pytest.raises(ValueError, match="empty"):
        percentile(np.zeros(0), 50.0)


def test_block_mean_crop_drops_the_partial_blocks():
    img = np.random.default_rng(4).normal(10.0, 3.0, (2, 10, 7)).astype(np.float32)
    np.testing.assert_array_equal(block_mean(img, 4, 3, crop=True), block_mean(img[:, :8, :6], 4, 3))
