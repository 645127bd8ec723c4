"""CT windowing and SPECT count normalisation of volumes (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.preprocessing.volumes import (
    HU_WINDOWS,
    hu_window,
    normalise_spect,
    spect_reference_level,
)
from osteoscan.simulate.volume_study import simulate_study


def test_hu_window_maps_level_and_edges():
    hu = np.array([-1000.0, -500.0, 500.0, 1500.0, 3000.0])
    out = hu_window(hu, "bone")
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(hu_window(np.array([40.0, 240.0]), (40, 400)), [0.5, 1.0])
    assert set(HU_WINDOWS) >= {"bone", "soft", "lung"}
    with pytest.raises(ConfigError, match="window"):
        hu_window(hu, "brain")
    with pytest.raises(ConfigError, match="width"):
        hu_window(hu, (40, 0))


@pytest.fixture(scope="module")
def study():
    return simulate_study(2, "profile_3", (40, 64, 64), primary="other", n_metastases=2)


def test_spect_normalisation_does_not_depend_on_the_count_level(study):
    """One patient (a noise-free uptake map) at 1x and 8x the counts normalises alike."""
    rng = np.random.default_rng(0)
    expected = ndimage.gaussian_filter(study.spect.array, 1.5)
    low = rng.poisson(expected).astype(np.float32)
    high = rng.poisson(expected * 8.0).astype(np.float32)
    assert spect_reference_level(high) == pytest.approx(8 * spect_reference_level(low), rel=0.05)
    bone = (study.ct.array > 300) & (study.instances == 0)
    a = normalise_spect(low, norm="linear")[bone].mean()
    b = normalise_spect(high, norm="linear")[bone].mean()
    assert a == pytest.approx(b, rel=0.05)


def test_spect_normalisation_modes(study):
    x = study.spect.array
    log = normalise_spect(x)
    assert log.dtype == np.float32 and log.shape == x.shape
    assert 0.0 <= float(log.min()) and float(log.max()) <= 1.0
    np.testing.assert_array_equal(normalise_spect(x, norm="none"), x)
    assert float(normalise_spect(x, norm="linear", clip=3.0).max()) <= 3.0
    with pytest.raises(ConfigError, match="norm"):
        normalise_spect(x, norm="zscore")
