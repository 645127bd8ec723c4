"""Operating points and calibration follow the estimator rules and pick the right thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.evaluation.thresholds import OperatingPoint, ProbabilityCalibrator

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
S = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])


def test_youden_maximises_j() -> None:
    op = OperatingPoint(criterion="youden").fit(Y, S)
    assert op.threshold_ == 0.7  # sens 0.75, spec 1.0 -> J 0.75 (0.4 gives 1.0 + 0.75 - 1)
    assert (op.sensitivity_, op.specificity_) == (0.75, 1.0)
    assert op.predict(S).tolist() == [0, 0, 0, 0, 0, 1, 1, 1]


def test_target_sensitivity_takes_the_highest_threshold_reaching_it() -> None:
    op = OperatingPoint(criterion="sensitivity", target=1.0).fit(Y, S)
    assert op.threshold_ == 0.4 and op.sensitivity_ == 1.0 and op.specificity_ == 0.75
    op = OperatingPoint(criterion="specificity", target=1.0).fit(Y, S)
    assert op.threshold_ == 0.7 and op.specificity_ == 1.0


def test_fixed_and_invalid_parameters() -> None:
    op = OperatingPoint(criterion="fixed", threshold=0.5)
    assert op.criterion == "fixed" and not hasattr(op, "threshold_")  # __init__ only stores
    assert op.fit(Y, S) is op and op.threshold_ == 0.5 and op.sensitivity_ == 0.75
    with pytest.raises(ConfigError):
        OperatingPoint(criterion="sensitivity").fit(Y, S)
    with pytest.raises(ConfigError):
        OperatingPoint(criterion="nonsense").fit(Y, S)


def test_calibration_reduces_brier_of_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.05, 0.95, 4000)
    y = rng.random(4000) < true_p
    logit = np.log(true_p / (1 - true_p))
    overconfident = 1 / (1 + np.exp(-3 * logit))
    for method in ("platt", "isotonic"):
        cal = ProbabilityCalibrator(method=method).fit(y[:2000], overconfident[:2000])
        fixed = cal.transform(overconfident[2000:])
        before = np.mean((overconfident[2000:] - y[2000:]) ** 2)
        after = np.mean((fixed - y[2000:]) ** 2)
        assert after < before - 0.01, method
