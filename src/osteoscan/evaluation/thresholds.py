"""Operating points and probability calibration, in scikit-learn's estimator style (no torch).

``__init__`` stores parameters, ``fit`` learns from labels and scores and returns ``self``,
learned values end in ``_``. Choosing a threshold on the very data one then reports on is
optimistic (the threshold is tuned to that sample's noise): fit on a validation set and
report on the test set, or say so. ``osteoscan evaluate`` labels such operating points
"fit on the evaluated data".
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve

from osteoscan.errors import ConfigError

CRITERIA = ("fixed", "youden", "sensitivity", "specificity")


class OperatingPoint:
    """Choose a decision threshold on a binary score.

    Args:
        criterion: "fixed" (use ``threshold``), "youden" (maximise sensitivity +
            specificity - 1), "sensitivity" (the highest threshold whose sensitivity is at
            least ``target``, i.e. the best specificity meeting it) or "specificity" (the
            lowest threshold whose specificity is at least ``target``).
        target: the sensitivity or specificity to reach, in (0, 1].
        threshold: the threshold for "fixed".

    Attributes:
        threshold_: the chosen threshold (a study is positive when score >= threshold_).
        sensitivity_: sensitivity at ``threshold_`` on the fitted data.
        specificity_: specificity at ``threshold_`` on the fitted data.

    Example:
        >>> op = OperatingPoint(criterion="youden").fit([0, 0, 1, 1], [.1, .4, .35, .8])
        >>> op.threshold_, op.sensitivity_, op.specificity_
        (0.8, 0.5, 1.0)
    """

    def __init__(
        self, *, criterion: str = "youden", target: float | None = None, threshold: float = 0.5
    ) -> None:
        self.criterion = criterion
        self.target = target
        self.threshold = threshold

    def _validate(self) -> None:
        if self.criterion not in CRITERIA:
            raise ConfigError(f"operating point criterion {self.criterion!r} not in {CRITERIA}")
        if self.criterion in ("sensitivity", "specificity"):
            if self.target is None or not 0.0 < float(self.target) <= 1.0:
                raise ConfigError(f"target {self.criterion} must be in (0, 1], got {self.target!r}")

    def fit(self, y: np.ndarray, score: np.ndarray) -> OperatingPoint:
        """Learn ``threshold_`` from labels (1 = positive) and scores; returns self."""
        self._validate()
        y = np.asarray(y, dtype=int)
        score = np.asarray(score, dtype=float)
        if self.criterion == "fixed":
            thr = float(self.threshold)
        else:
            fpr, tpr, thresholds = roc_curve(y, score, drop_intermediate=False)
            thresholds = np.minimum(thresholds, 1.0 if score.max() <= 1 else np.inf)
            thr = float(thresholds[self._pick(fpr, tpr)])
        called = score >= thr
        pos = y == 1
        self.threshold_ = thr
        self.sensitivity_ = float(called[pos].mean()) if pos.any() else float("nan")
        self.specificity_ = float((~called[~pos]).mean()) if (~pos).any() else float("nan")
        return self

    def _pick(self, fpr: np.ndarray, tpr: np.ndarray) -> int:
        if self.criterion == "youden":
            return int(np.argmax(tpr - fpr))
        if self.criterion == "sensitivity":
            ok = np.flatnonzero(tpr >= float(self.target) - 1e-12)
            return int(ok[0])  # roc_curve's thresholds decrease: first = highest threshold
        ok = np.flatnonzero(1.0 - fpr >= float(self.target) - 1e-12)
        return int(ok[-1])

    def predict(self, score: np.ndarray) -> np.ndarray:
        """1 where ``score >= threshold_``."""
        return (np.asarray(score, dtype=float) >= self.threshold_).astype(int)


class ProbabilityCalibrator:
    """Recalibrate binary probabilities (fit on validation data, apply on new data).

    Args:
        method: "platt" (logistic regression on the logit of the score) or "isotonic".

    Attributes:
        model_: the fitted scikit-learn regressor.

    Example:
        >>> cal = ProbabilityCalibrator(method="isotonic").fit([0, 0, 1, 1], [.2, .3, .6, .9])
        >>> cal.transform([.25, .95]).tolist()
        [0.0, 1.0]
    """

    def __init__(self, *, method: str = "platt") -> None:
        self.method = method

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))[:, None]

    def fit(self, y: np.ndarray, score: np.ndarray) -> ProbabilityCalibrator:
        """Learn the mapping from scores to calibrated probabilities; returns self."""
        if self.method == "platt":
            self.model_ = LogisticRegression(C=1e6).fit(self._logit(score), np.asarray(y, int))
        elif self.method == "isotonic":
            self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self.model_.fit(np.asarray(score, float), np.asarray(y, float))
        else:
            raise ConfigError(f"calibration method {self.method!r} not in ('platt', 'isotonic')")
        return self

    def transform(self, score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for ``score``."""
        if self.method == "platt":
            return self.model_.predict_proba(self._logit(score))[:, 1]
        return self.model_.predict(np.asarray(score, float))
