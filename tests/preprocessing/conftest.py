"""A tiny analytic whole-body phantom for preprocessing tests (no simulator dependency)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.types import BoneScan, StudySource, ViewSource


def phantom_rate(shape=(1024, 256), *, top=60, bottom=980, left=60, right=196) -> np.ndarray:
    """Expected counts shape: soft-tissue body, brighter spine, pelvis and a hot 'lesion'."""
    rows, cols = shape
    rate = np.zeros(shape, np.float32)
    rate[top:bottom, left:right] = 1.0
    mid = (left + right) // 2
    rate[top + 100 : bottom - 300, mid - 6 : mid + 6] = 6.0  # spine
    rate[bottom - 330 : bottom - 260, left + 10 : right - 10] = 5.0  # pelvis
    rate[top + 10 : top + 70, mid - 25 : mid + 25] = 4.0  # skull
    rate[top + 300 : top + 312, mid + 20 : mid + 32] = 15.0  # hot lesion
    return ndimage.gaussian_filter(rate, 2.0)


def counts_for(rate: np.ndarray, total: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts with the given expected total."""
    return rng.poisson(rate * (total / rate.sum())).astype(np.float32)


def make_scan(ant: np.ndarray, post: np.ndarray | None, spacing=(2.4, 2.4)) -> BoneScan:
    views = (ViewSource("anterior", "caller", 1.0, "test", "mem"),)
    return BoneScan(ant, post, spacing, "p1", "s1", views, StudySource(("mem",), "simulated"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def phantom_scan(rng) -> BoneScan:
    rate = phantom_rate()
    return make_scan(counts_for(rate, 6e5, rng), counts_for(rate, 6e5, rng))


@pytest.fixture
def ph():
    """The phantom helpers (test modules cannot import conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(rate=phantom_rate, counts=counts_for, scan=make_scan)
