"""Count normalisation and resampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.preprocessing.intensity import (
    normalise_counts,
    pad_or_crop,
    reference_level,
    resample,
)


@pytest.mark.parametrize("norm", ["log", "linear"])
def test_same_phantom_at_04M_and_15M_counts_normalises_alike(norm, ph):
    rate = ph.rate()
    low = ph.counts(rate, 0.4e6, np.random.default_rng(1))
    high = ph.counts(rate, 1.5e6, np.random.default_rng(2))
    assert high.mean() / low.mean() == pytest.approx(3.75, rel=0.01)  # raw images differ 3.75x
    a = normalise_counts(low[None], norm=norm)[0]
    b = normalise_counts(high[None], norm=norm)[0]
    # after smoothing away the Poisson noise the two normalised images agree
    sa, sb = ndimage.gaussian_filter(a, 3), ndimage.gaussian_filter(b, 3)
    body = rate > 0.5
    assert abs(sa[body].mean() - sb[body].mean()) / sb[body].mean() < 0.05
    assert np.abs(sa - sb)[body].mean() < 0.03 * max(sb.max(), 1e-6) + 0.02
    assert np.corrcoef(sa[body], sb[body])[0, 1] > 0.97


def test_reference_ignores_the_hottest_pixels_and_background():
    img = np.zeros((400, 120), np.float32)
    img[20:380, 10:110] = 10.0
    img[100:102, 50:52] = 5000.0  # bladder-like hot spot: < 1 % of body pixels
    assert reference_level(img) == pytest.approx(10.0, rel=0.01)
    lin = normalise_counts(img, norm="linear", clip=8.0)
    assert lin[50, 50] == pytest.approx(1.0, rel=0.01)
    assert lin[101, 51] == pytest.approx(8.0)  # clipped
    assert lin[0, 0] == 0.0


def test_log_normalisation_maps_into_unit_interval():
    img = np.random.default_rng(0).poisson(20, (64, 32)).astype(np.float32)
    out = normalise_counts(img[None])
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    with pytest.raises(ConfigError, match="norm"):
        normalise_counts(img, norm="zscore")


def test_resample_integer_factor_is_exact_block_mean():
    img = np.random.default_rng(0).poisson(5, (2, 1024, 256)).astype(np.float32)
    out = resample(img, (512, 128))
    assert out.shape == (2, 512, 128)
    np.testing.assert_allclose(out[1, 3, 7], img[1, 6:8, 14:16].mean(), rtol=1e-6)
    assert out.mean() == pytest.approx(img.mean(), rel=1e-5)  # counts per pixel area preserved


def test_resample_larger_matrix_and_target_spacing():
    img = np.ones((1, 2048, 512), np.float32)
    assert resample(img, (1024, 256), spacing_mm=(1.2, 1.2)).shape == (1, 1024, 256)
    # 2048 x 512 at 1.2 mm resampled to 2.4 mm is 1024 x 256; to 4.8 mm it is padded
    out = resample(img, (1024, 256), spacing_mm=(1.2, 1.2), target_spacing_mm=4.8)
    assert out.shape == (1, 1024, 256)
    assert out[0, 512, 128] == pytest.approx(1.0)
    assert out[0, 0, 128] == 0.0 and out[0, 512, 0] == 0.0
    assert out.sum() == pytest.approx(512 * 128, rel=0.01)


def test_resample_keeps_aspect_ratio_and_pads():
    img = np.ones((1, 1024, 512), np.float32)  # wider than 4:1: fit by columns, pad rows
    out = resample(img, (1024, 256))
    assert out.shape == (1, 1024, 256)
    assert out[0, 0, 128] == 0.0 and out[0, 512, 128] == pytest.approx(1.0)
    assert (out[0, :, 128] > 0).sum() == 512
    # anisotropic pixels: 2.4 mm rows, 4.8 mm cols -> physical width doubles
    out2 = resample(np.ones((1, 256, 64), np.float32), (256, 256), spacing_mm=(2.4, 4.8))
    assert (out2[0, 128] > 0).sum() == 128


def test_pad_or_crop_centres():
    img = np.arange(12, dtype=np.float32).reshape(1, 4, 3)
    out = pad_or_crop(img, (2, 5))
    assert out.shape == (1, 2, 5)
    np.testing.assert_array_equal(out[0, :, 1:4], img[0, 1:3])


def test_block_mean_matches_reshape_mean_and_scaled_shape():
    from osteoscan.preprocessing.intensity import block_mean, prereduce_factor, scaled_shape

    img = np.random.default_rng(0).random((2, 12, 9)).astype(np.float32)
    np.testing.assert_allclose(
        block_mean(img, 3, 3), img.reshape(2, 4, 3, 3, 3).mean(axis=(2, 4)), rtol=1e-6
    )
    assert scaled_shape((1024, 256), (512, 128)) == (512, 128)
    assert scaled_shape((2048, 512), (1024, 256), (1.2, 1.2), 4.8) == (512, 128)
    assert [prereduce_factor(1024, n) for n in (512, 384, 256, 1024, 2048)] == [2, 2, 4, 1, 1]
    assert prereduce_factor(300, 100) == 3 and prereduce_factor(300, 140) == 2


def test_area_resampling_conserves_counts_and_does_not_alias():
    from osteoscan.preprocessing.intensity import area_matrix, block_mean

    m = area_matrix(1024, 384)
    np.testing.assert_allclose(np.asarray(m.sum(axis=1)).ravel(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(m.sum(axis=0)).ravel(), 384 / 1024, rtol=1e-5)
    img = np.random.default_rng(0).poisson(3, (1, 1024, 256)).astype(np.float32)
    out = resample(img, (384, 96))  # the reference config's size: factor 2.67
    assert out.shape == (1, 384, 96) and out.mean() == pytest.approx(img.mean(), rel=1e-5)
    # integer factors give the block mean
    np.testing.assert_allclose(
        (area_matrix(8, 4) @ img[0, :8, :4]), block_mean(img[0, :8, :4], 2, 1), rtol=1e-6
    )
    # a one-pixel stripe pattern (at the Nyquist limit) must come out flat, not as a moire
    stripes = np.tile(np.array([0.0, 2.0], np.float32), 512)[:, None] * np.ones(
        (1, 256), np.float32
    )
    flat = resample(stripes[None], (384, 96))[0]
    assert np.ptp(flat[2:-2]) <= 0.5  # box residual +/-0.25; linear zoom swings over 0..2
    assert np.ptp(ndimage.zoom(stripes, (0.375, 0.375), order=1)[2:-2]) > 1.5
