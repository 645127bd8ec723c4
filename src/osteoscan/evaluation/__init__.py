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
- :mod:`~osteoscan.evaluation.volumes`: 3-D segmentation figures (DSC, IoU, HD95, FROC, origin
  AUC); HD95 imports MONAI (torch) when called.
"""

from osteoscan._lazy import lazy_getattr

# resolved on first use (osteoscan._lazy): ``from osteoscan.evaluation.io import ...``, as
# inference does for the class names, then does not load scipy.stats and the rest
_LAZY = {
    "evaluate_predictions": "osteoscan.evaluation.core",
    "Predictions": "osteoscan.evaluation.io",
    "predictions_from_arrays": "osteoscan.evaluation.io",
    "read_predictions": "osteoscan.evaluation.io",
    "compare_predictions": "osteoscan.evaluation.paired",
    "delong_ci": "osteoscan.evaluation.statistics",
    "delong_roc_test": "osteoscan.evaluation.statistics",
    "delong_roc_variance": "osteoscan.evaluation.statistics",
    "holm_adjust": "osteoscan.evaluation.statistics",
    "mcnemar_test": "osteoscan.evaluation.statistics",
    "OperatingPoint": "osteoscan.evaluation.thresholds",
    "ProbabilityCalibrator": "osteoscan.evaluation.thresholds",
}

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

__getattr__ = lazy_getattr(__name__, _LAZY)
