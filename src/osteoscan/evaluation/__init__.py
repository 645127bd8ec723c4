"""osteoscan.evaluation: metrics and statistics on prediction files (no torch).

- :mod:`~osteoscan.evaluation.io`: read and validate predictions CSVs, manifests, model cards.
- :mod:`~osteoscan.evaluation.metrics`: figures as functions, vectorised over bootstrap weights.
- :mod:`~osteoscan.evaluation.statistics`: patient bootstrap, DeLong, McNemar, Holm.
- :mod:`~osteoscan.evaluation.thresholds`: operating points and calibration (estimators).
- :mod:`~osteoscan.evaluation.core`: :func:`evaluate_predictions` (the ``metrics.json`` dict).
- :mod:`~osteoscan.evaluation.subgroups`, :mod:`~osteoscan.evaluation.paired`,
  :mod:`~osteoscan.evaluation.plots`, :mod:`~osteoscan.evaluation.report`.
- :mod:`~osteoscan.evaluation.compare`: multi-arm studies (trains through osteoscan.training).
- :mod:`~osteoscan.evaluation.lesions`: lesion-level metrics (FROC).
"""

from osteoscan.evaluation.core import evaluate_predictions
from osteoscan.evaluation.io import Predictions, predictions_from_arrays, read_predictions
from osteoscan.evaluation.paired import compare_predictions
from osteoscan.evaluation.statistics import (
    delong_ci,
    delong_roc_test,
    delong_roc_variance,
    holm_adjust,
    mcnemar_test,
)
from osteoscan.evaluation.thresholds import OperatingPoint, ProbabilityCalibrator

__all__ = [
    "OperatingPoint",
    "Predictions",
    "ProbabilityCalibrator",
    "compare_predictions",
    "delong_ci",
    "delong_roc_test",
    "delong_roc_variance",
    "evaluate_predictions",
    "holm_adjust",
    "mcnemar_test",
    "predictions_from_arrays",
    "read_predictions",
]
