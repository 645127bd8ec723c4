"""Fixtures shared by the detector's test modules."""

import pytest

SMALL = {"max_iter": 15, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 10,
         "early_stopping": False}
"""Tree settings of the small test detectors: fast, and enough to separate a few studies."""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A small detector fitted on four simulated studies, and its three selection records."""
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_detector

    cache = tmp_path_factory.mktemp("cache")
    train = simulated_records(["site_a"], range(900, 904), cache)
    select = simulated_records(["site_b"], range(950, 953), cache)
    return fit_detector(train, select, hgb_params=SMALL), select


@pytest.fixture(scope="module")
def bundled_detector():
    """The bundled hotspot detector (skips where none is installed)."""
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("bundled detector not installed")
    return det
