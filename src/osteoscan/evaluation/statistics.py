"""Confidence intervals and tests: patient-clustered bootstrap, DeLong, McNemar, Holm (no torch).

- Bootstrap: patients are resampled with replacement and every study of a drawn patient comes
  along (a cluster bootstrap), so two scans of one patient never pretend to be independent.
  Replicates are weight matrices (see :mod:`osteoscan.evaluation.metrics`); the interval is
  the percentile interval of the replicates.
- DeLong: the fast algorithm of Sun & Xu (2014, IEEE SPL 21:1389) with midranks, vectorised
  over several scores; variances use the (n - 1) denominators exactly as R's pROC does, and the
  tests check agreement with pROC to 1e-6. No maintained Python package exposes DeLong's
  covariance (scikit-learn has none), hence the hand-written version.
- McNemar: exact two-sided binomial test when the discordant pairs are fewer than 25, else the
  chi-square test with continuity correction.
- Holm's step-down correction of several p-values (scipy offers only Benjamini-Hochberg).
- Wilson interval of a proportion (scipy's ``binomtest``), for rates such as a decision-flip
  rate, where a percentile bootstrap collapses to a point when no event was seen.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator

import numpy as np
from scipy import stats

from osteoscan.evaluation.metrics import weighted_auc

logger = logging.getLogger(__name__)

BOOT_METHOD = "bootstrap-percentile-patient"
DELONG_METHOD = "delong"
DEFAULT_BOOTSTRAP = 2000
CHUNK = 256
EXACT_MCNEMAR_BELOW = 25


# ----------------------------------------------------------------- bootstrap over patients
def patient_codes(patient_id: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer code per study for its patient, and the number of patients."""
    _, codes = np.unique(np.asarray(patient_id, dtype=str), return_inverse=True)
    return codes, int(codes.max()) + 1 if len(codes) else 0


def patient_bootstrap_weights(
    codes: np.ndarray, n_patients: int, n_boot: int, rng: np.random.Generator, chunk: int = CHUNK
) -> Iterator[np.ndarray]:
    """Yield study-weight matrices, ``chunk`` replicates at a time.

    Each replicate draws ``n_patients`` patients with replacement; a study's weight is the
    number of times its patient was drawn.

    Yields:
        (b, n_studies) float arrays, b <= chunk, n_boot rows in all.
    """
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        draws = rng.integers(0, n_patients, size=(b, n_patients))
        flat = (draws + (np.arange(b) * n_patients)[:, None]).ravel()
        counts = np.bincount(flat, minlength=b * n_patients).reshape(b, n_patients)
        yield counts[:, codes].astype(float)
        done += b


def bootstrap_replicates(
    statistic: Callable[[np.ndarray], dict[str, np.ndarray]],
    patient_id: np.ndarray,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Run ``statistic`` on patient-bootstrap weight matrices and collect (n_boot,) arrays.

    Args:
        statistic: maps a (b, n) weight matrix to {name: (b,) values}.
        patient_id: (n,) patient of each study.
        n_boot: number of replicates.
        seed: seed of ``numpy.random.default_rng``.
    """
    codes, n_patients = patient_codes(patient_id)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices in degenerate replicates
        for w in patient_bootstrap_weights(codes, n_patients, n_boot, rng):
            for name, values in statistic(w).items():
                parts.setdefault(name, []).append(np.asarray(values, dtype=float))
    return {name: np.concatenate(v) for name, v in parts.items()}


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of replicates, ignoring NaN (undefined) replicates."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


# ------------------------------------------------------------ one AUC, one result shape
def auc_ci(
    y: np.ndarray, score: np.ndarray, patient_id: np.ndarray | None = None, *,
    method: str = "bootstrap", n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, level: float = 0.95,
) -> dict:
    """AUC with its CI in the result shape of every figure of ``osteoscan.evaluation``.

    Used by ``osteoscan evaluate``'s blocks, the training loop's model cards and the lesion
    stage, so that every AUC of the toolkit is ``{value, ci_low, ci_high, method, n,
    n_patients}`` and every bootstrap is this module's patient bootstrap.

    Args:
        y: (n,) 0/1 (or bool) with a (n,) ``score``; or class indices with (n, k) scores,
            giving the macro one-vs-rest AUC over the classes present. Rows with y < 0 are
            ignored.
        score: scores, higher = more likely positive (class).
        patient_id: (n,) patient of each row; None: every row its own patient.
        method: "bootstrap" (patient-clustered percentile interval) or "delong" (binary only;
            rows treated as independent).
        n_boot, seed, level: bootstrap replicates, seed and interval level.

    Returns:
        The block; value and bounds are NaN when a class is missing.
    """
    y, score = np.asarray(y).astype(int), np.asarray(score, dtype=float)
    keep = y >= 0
    y, score = y[keep], score[keep]
    pid = (np.arange(len(y)) if patient_id is None else np.asarray(patient_id)[keep]).astype(str)
    out = {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
           "method": DELONG_METHOD if method == "delong" else BOOT_METHOD, "n": int(len(y)),
           "n_patients": int(len(np.unique(pid)))}
    if len(np.unique(y)) < 2:
        return out
    if method == "delong":
        auc, low, high = delong_ci(y == 1, score, level)
        return {**out, "value": float(auc), "ci_low": low, "ci_high": high}
    return bootstrap_block(_auc_statistic(y, score), pid, n_boot=n_boot, seed=seed, level=level)["auc"]


def bootstrap_block(
    statistic: Callable[[np.ndarray], dict[str, np.ndarray]], patient_id: np.ndarray, *,
    n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, level: float = 0.95,
) -> dict[str, dict]:
    """``{name: {value, ci_low, ci_high, method, n, n_patients}}`` of a weight-matrix statistic
    (see :func:`bootstrap_replicates`): the point value at unit weights, the patient-bootstrap
    percentile interval around it."""
    patient_id = np.asarray(patient_id).astype(str)
    point = statistic(np.ones((1, len(patient_id))))
    reps = bootstrap_replicates(statistic, patient_id, n_boot=n_boot, seed=seed) if n_boot else {}
    out = {}
    for name, value in point.items():
        low, high = percentile_interval(reps[name], level) if n_boot else (float("nan"),) * 2
        out[name] = {"value": float(np.asarray(value)[0]), "ci_low": low, "ci_high": high,
                     "method": BOOT_METHOD, "n": int(len(patient_id)),
                     "n_patients": int(len(np.unique(patient_id)))}
    return out


def _auc_statistic(y: np.ndarray, score: np.ndarray) -> Callable[[np.ndarray], dict]:
    if score.ndim == 1:
        return lambda w: {"auc": weighted_auc(y == 1, score, w)}
    present = np.unique(y)
    return lambda w: {"auc": np.nanmean([weighted_auc(y == k, score[:, k], w) for k in present], axis=0)}


def ci_value(block: dict | None) -> float:
    """The value of a figure block; also reads cards written before the one shape (``auc``)."""
    block = block or {}
    return float(block.get("value", block.get("auc", float("nan"))))


# ----------------------------------------------------------------------------- DeLong
def _structural_components(
    y: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong placements (Sun & Xu 2014) for (k, n) scores.

    Returns:
        aucs (k,), v10 (k, m) placements of the m positives, v01 (k, nn) of the negatives.
    """
    y = np.asarray(y, dtype=bool)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    pos, neg = scores[:, y], scores[:, ~y]
    m, nn = pos.shape[1], neg.shape[1]
    if m == 0 or nn == 0:
        raise ValueError("DeLong needs at least one positive and one negative")
    tx = stats.rankdata(pos, axis=1)
    ty = stats.rankdata(neg, axis=1)
    tz = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * nn)
    v10 = (tz[:, :m] - tx) / nn
    v01 = 1.0 - (tz[:, m:] - ty) / m
    return aucs, v10, v01


def delong_covariance(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix for several scores on the same studies.

    Args:
        y: (n,) True/1 for positives.
        scores: (k, n) or (n,) scores, higher = more likely positive.

    Returns:
        aucs (k,), covariance (k, k).
    """
    aucs, v10, v01 = _structural_components(y, scores)
    m, nn = v10.shape[1], v01.shape[1]
    sx = np.atleast_2d(np.cov(v10)) if m > 1 else np.zeros((len(aucs), len(aucs)))
    sy = np.atleast_2d(np.cov(v01)) if nn > 1 else np.zeros((len(aucs), len(aucs)))
    return aucs, sx / m + sy / nn


def delong_roc_variance(y_true: np.ndarray, y_score: np.ndarray) -> tuple[float, float]:
    """AUC and its DeLong variance (as pROC's ``var(roc(...))``).

    Example:
        >>> auc, var = delong_roc_variance(np.array([0, 0, 1, 1]), np.array([.1, .4, .35, .8]))
        >>> round(auc, 3), round(var, 4)
        (0.75, 0.125)
    """
    aucs, cov = delong_covariance(y_true, y_score)
    return float(aucs[0]), float(cov[0, 0])


def delong_ci(
    y_true: np.ndarray, y_score: np.ndarray, level: float = 0.95
) -> tuple[float, float, float]:
    """AUC with its DeLong normal-approximation interval, clipped to [0, 1] like pROC.

    Returns:
        (auc, low, high).
    """
    auc, var = delong_roc_variance(y_true, y_score)
    z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
    half = z * np.sqrt(max(var, 0.0))
    return auc, float(max(auc - half, 0.0)), float(min(auc + half, 1.0))


def delong_roc_test(
    y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, level: float = 0.95
) -> dict[str, float]:
    """DeLong test of two correlated AUCs (the same studies scored by two models).

    Matches pROC's ``roc.test(roc_a, roc_b, method="delong", paired=TRUE)``.

    Returns:
        ``auc_a``, ``auc_b``, ``auc_diff`` (a - b), ``var_a``, ``var_b``, ``cov``,
        ``delong_z``, ``delong_p`` (two-sided), ``diff_ci_low``, ``diff_ci_high``.

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> a, b = np.array([.1, .2, .3, .4, .5, .6]), np.array([.1, .5, .3, .4, .2, .6])
        >>> r = delong_roc_test(y, a, b)
        >>> r["auc_a"], round(r["auc_b"], 3)
        (1.0, 0.667)
    """
    aucs, cov = delong_covariance(y_true, np.vstack([score_a, score_b]))
    diff = aucs[0] - aucs[1]
    var = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    if var <= 0:
        z, p = (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)
    else:
        z = diff / np.sqrt(var)
        p = float(2.0 * stats.norm.sf(abs(z)))
    half = stats.norm.ppf(1.0 - (1.0 - level) / 2.0) * np.sqrt(max(var, 0.0))
    return {
        "auc_a": float(aucs[0]),
        "auc_b": float(aucs[1]),
        "auc_diff": float(diff),
        "var_a": float(cov[0, 0]),
        "var_b": float(cov[1, 1]),
        "cov": float(cov[0, 1]),
        "delong_z": float(z),
        "delong_p": p,
        "diff_ci_low": float(diff - half),
        "diff_ci_high": float(diff + half),
    }


def pearson_ci(a, b, level: float = 0.95) -> list[float]:
    """Fisher-z interval of Pearson's r (``scipy.stats.pearsonr(...).confidence_interval``);
    NaN when r is undefined (constant input) or fewer than 4 pairs."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 4 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return [float("nan"), float("nan")]
    ci = stats.pearsonr(a, b).confidence_interval(level)
    return [float(ci.low), float(ci.high)]


# ------------------------------------------------------------------ one proportion
def proportion_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion k / n (NaN for n = 0).

    Example:
        >>> [round(x, 3) for x in proportion_ci(0, 40)]
        [0.0, 0.088]
    """
    if n <= 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


# ---------------------------------------------------------------------- McNemar, Holm
def mcnemar_test(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float | int | str]:
    """McNemar's test of paired accuracies.

    Exact two-sided binomial test on the discordant pairs when there are fewer than 25 of
    them; otherwise the chi-square statistic with continuity correction, (|b - c| - 1)^2/(b + c).

    Returns:
        ``b`` (A right, B wrong), ``c`` (A wrong, B right), ``statistic``, ``p``, ``method``.
    """
    a, b_ = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b = int(np.sum(a & ~b_))
    c = int(np.sum(~a & b_))
    if b + c == 0:
        return {"b": b, "c": c, "statistic": 0.0, "p": 1.0, "method": "exact"}
    if b + c < EXACT_MCNEMAR_BELOW:
        p = stats.binomtest(b, b + c, 0.5).pvalue
        return {
            "b": b,
            "c": c,
            "statistic": float(min(b, c)),
            "p": float(min(p, 1.0)),
            "method": "exact",
        }
    chi2 = (abs(b - c) - 1.0) ** 2 / (b + c)
    return {
        "b": b,
        "c": c,
        "statistic": float(chi2),
        "p": float(stats.chi2.sf(chi2, 1)),
        "method": "chi2-cc",
    }


def holm_adjust(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Example:
        >>> holm_adjust([0.01, 0.04, 0.03]).round(2).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    k = len(p)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (k - np.arange(k))))
    out = np.empty(k)
    out[order] = adjusted
    return out
