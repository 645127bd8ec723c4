"""Read prediction files, manifests and model cards for evaluation (no torch).

A predictions CSV (written by ``osteoscan predict``) has the columns ``study_id``,
``patient_id``, ``label`` (class name, when known), ``prob_<class>`` for every class and
``predicted``. A binary model writes only ``prob_metastasis``; its classes are then
``("normal", "metastasis")`` with "metastasis" the positive class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import read_card_values
from osteoscan.csvsafe import restore_frame
from osteoscan.errors import InputError

logger = logging.getLogger(__name__)

POSITIVE_CLASS = "metastasis"
NEGATIVE_CLASS = "normal"
NEGATIVE_NAMES = ("normal", "no_metastasis", "negative", "benign", "none")
"""Labels that mean "no metastasis" (the negative class of a binary file; the no-metastasis
class of a multi-class problem, for the any-abnormal view). Matched as :func:`label_key`."""
POSITIVE_NAMES = ("metastasis", "metastases", "metastatic", "positive")
"""Labels that mean "metastasis" (the positive class of a binary file)."""
REQUIRED_COLUMNS = ("study_id", "patient_id", "label")


@dataclass(frozen=True, eq=False)
class Predictions:
    """Model outputs with their ground truth, one row per study.

    Attributes:
        study_id: (n,) study identifiers (strings, unique).
        patient_id: (n,) patient identifiers (strings); studies of one patient are clustered.
        y: (n,) int class index into ``class_names``.
        prob: (n, K) class probabilities (rows sum to ~1); for a binary model column 1 is
            the positive class.
        class_names: class names, the positive class last for binary models.
        source: the file read (for messages), or "".
        extra: the other columns of the file (e.g. ``predicted``), index aligned.
    """

    study_id: np.ndarray
    patient_id: np.ndarray
    y: np.ndarray
    prob: np.ndarray
    class_names: tuple[str, ...]
    source: str = ""
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n(self) -> int:
        """Number of studies."""
        return int(self.y.shape[0])

    @property
    def is_binary(self) -> bool:
        """True for a two-class problem."""
        return len(self.class_names) == 2

    @property
    def negative_index(self) -> int | None:
        """Index of the no-metastasis class of a multi-class problem, or None."""
        negatives = {label_key(n) for n in NEGATIVE_NAMES}
        return next((i for i, c in enumerate(self.class_names) if label_key(c) in negatives), None)

    @property
    def score(self) -> np.ndarray:
        """(n,) probability of the positive class (binary problems only)."""
        if not self.is_binary:
            raise ValueError("score is defined for binary predictions only")
        return self.prob[:, 1]

    def subset(self, mask: np.ndarray) -> Predictions:
        """The rows where ``mask`` is True, as a new :class:`Predictions`."""
        return self.take(np.flatnonzero(np.asarray(mask, dtype=bool)))

    def take(self, index: np.ndarray) -> Predictions:
        """The rows at integer positions ``index`` (in that order)."""
        index = np.asarray(index, dtype=int)
        extra = (
            self.extra.iloc[index].reset_index(drop=True)
            if len(self.extra) == self.n
            else self.extra
        )
        return Predictions(
            self.study_id[index],
            self.patient_id[index],
            self.y[index],
            self.prob[index],
            self.class_names,
            self.source,
            extra,
        )


def model_decisions(pred: Predictions) -> np.ndarray | None:
    """The model's own positive calls from a binary file's ``predicted`` column, or None.

    Training writes ``predicted`` with the model card's threshold (chosen on validation), so
    these are the decisions at the model's operating point, fold by fold.
    """
    if not pred.is_binary or "predicted" not in pred.extra.columns or len(pred.extra) != pred.n:
        return None
    called = label_indices(pred.extra["predicted"].astype(str), pred.class_names)
    if (called < 0).any():
        return None
    return called == 1


def binary_collapse(pred: Predictions) -> Predictions | None:
    """Any-abnormal vs normal view of a multi-class problem (score = 1 - p(normal)).

    "normal" is the class named ``normal`` or ``no_metastasis``.
    """
    k = pred.negative_index
    if pred.is_binary or k is None:
        return None
    score = 1.0 - pred.prob[:, k]
    return Predictions(
        pred.study_id,
        pred.patient_id,
        (pred.y != k).astype(int),
        np.column_stack([1 - score, score]),
        (NEGATIVE_CLASS, "abnormal"),
        pred.source,
    )


def predictions_from_arrays(
    y: np.ndarray,
    prob: np.ndarray,
    *,
    patient_id: np.ndarray | None = None,
    study_id: np.ndarray | None = None,
    class_names: tuple[str, ...] | None = None,
) -> Predictions:
    """Build :class:`Predictions` from arrays (binary when ``prob`` is 1-D).

    Example:
        >>> p = predictions_from_arrays(np.array([0, 1]), np.array([0.2, 0.9]))
        >>> p.class_names, p.prob.shape
        (('normal', 'metastasis'), (2, 2))
    """
    y = np.asarray(y, dtype=int)
    prob = np.asarray(prob, dtype=float)
    if prob.ndim == 1:
        prob = np.column_stack([1.0 - prob, prob])
    k = prob.shape[1]
    if class_names is None:
        class_names = (
            (NEGATIVE_CLASS, POSITIVE_CLASS) if k == 2 else tuple(f"c{i}" for i in range(k))
        )
    n = len(y)
    sid = np.asarray(study_id if study_id is not None else [f"s{i}" for i in range(n)], dtype=str)
    pid = np.asarray(patient_id if patient_id is not None else sid, dtype=str)
    return Predictions(sid, pid, y, prob, tuple(class_names))


def _class_columns(df: pd.DataFrame, path: Path) -> tuple[tuple[str, ...], list[str]]:
    cols = [c for c in df.columns if c.startswith("prob_")]
    if not cols:
        raise InputError(
            path, "no probability columns (expected prob_<class>, e.g. prob_metastasis)"
        )
    names = tuple(c[len("prob_") :] for c in cols)
    if len(cols) == 1:
        if names[0] != POSITIVE_CLASS:
            raise InputError(
                path, f"a single probability column must be prob_{POSITIVE_CLASS}, got {cols[0]}"
            )
        return (NEGATIVE_CLASS, POSITIVE_CLASS), cols
    return names, cols


def _check_probabilities(prob: np.ndarray, df: pd.DataFrame, cols: list[str], path: Path) -> None:
    bad = ~np.isfinite(prob).all(axis=1)
    if bad.any():
        ids = ", ".join(df["study_id"].astype(str)[bad].head(5))
        raise InputError(
            path, f"{int(bad.sum())} row(s) with missing/non-numeric probabilities (study {ids})"
        )
    if (prob < 0).any() or (prob > 1).any():
        raise InputError(path, f"probabilities outside [0, 1] in columns {', '.join(cols)}")
    if len(cols) > 1:
        sums = prob.sum(axis=1)
        if np.abs(sums - 1.0).max() > 1e-3:
            worst = df["study_id"].astype(str).iloc[int(np.argmax(np.abs(sums - 1.0)))]
            raise InputError(path, f"class probabilities do not sum to 1 (e.g. study {worst})")


def _labels(df: pd.DataFrame, names: tuple[str, ...], path: Path) -> np.ndarray:
    labels = df["label"]
    if labels.isna().any() or (labels.astype(str).str.strip() == "").any():
        missing = df["study_id"].astype(str)[labels.isna() | (labels.astype(str).str.strip() == "")]
        raise InputError(
            path, f"{len(missing)} row(s) without a label (study {', '.join(missing.head(5))})"
        )
    y = label_indices(labels.astype(str), names)
    unknown = sorted(set(labels.astype(str).str.strip()[y < 0]))
    if unknown:
        raise InputError(path, f"labels {unknown} are not among the classes {list(names)} "
                               "(or their synonyms, docs/evaluation.md)")
    return y


def label_key(text: str) -> str:
    """How labels are compared: case, spaces, ``_`` and ``-`` do not matter
    (``No_Metastasis``, ``no metastasis`` and ``no-metastasis`` are one label)."""
    return " ".join(str(text).lower().replace("_", " ").replace("-", " ").split())


def positive_label(text: str) -> bool:
    """Whether a study label names metastasis (:data:`POSITIVE_NAMES`, compared by
    :func:`label_key`)."""
    return label_key(text) in {label_key(n) for n in POSITIVE_NAMES}


def label_indices(labels: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """Class index of each label (-1 when unknown), :func:`label_key`-insensitive.

    A class name matches itself; the negative class (one of :data:`NEGATIVE_NAMES`) also
    matches every other negative synonym and ``metastasis`` every :data:`POSITIVE_NAMES`
    entry, unless that synonym is itself a class of the file.

    Example:
        >>> label_indices(pd.Series(["No_Metastasis", "Metastatic"]), ("normal", "metastasis")).tolist()
        [0, 1]
    """
    index = {label_key(n): i for i, n in enumerate(names)}
    negatives, positives = {label_key(n) for n in NEGATIVE_NAMES}, {label_key(n) for n in POSITIVE_NAMES}
    for i, n in enumerate(names):
        key = label_key(n)
        for alias in negatives if key in negatives else positives if key in positives else ():
            index.setdefault(alias, i)
    return labels.map(lambda t: index.get(label_key(t), -1)).to_numpy(dtype=int)


def read_predictions(path: str | Path) -> Predictions:
    """Read and validate a predictions CSV.

    Args:
        path: the CSV file.

    Returns:
        The predictions, with ground truth.

    Raises:
        InputError: unreadable file, missing columns, duplicate studies, missing labels,
            NaN or out-of-range probabilities, labels that are not among the classes.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        df = restore_frame(pd.read_csv(path, dtype={"study_id": str, "patient_id": str, "label": str}))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    if df.empty:
        raise InputError(path, "no rows")
    dup = df["study_id"][df["study_id"].duplicated()]
    if len(dup):
        raise InputError(path, f"duplicate study_id {', '.join(dup.astype(str).head(5))}")
    if df["patient_id"].isna().any():
        raise InputError(path, "empty patient_id in some rows")
    names, cols = _class_columns(df, path)
    raw = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    _check_probabilities(raw, df, cols, path)
    prob = np.column_stack([1.0 - raw[:, 0], raw[:, 0]]) if len(cols) == 1 else raw
    y = _labels(df, names, path)
    extra = df.drop(columns=[*REQUIRED_COLUMNS, *cols]).reset_index(drop=True)
    logger.debug("read %d predictions (%d classes) from %s", len(df), len(names), path)
    return Predictions(
        df["study_id"].to_numpy(dtype=str),
        df["patient_id"].to_numpy(dtype=str),
        y,
        prob,
        names,
        str(path),
        extra,
    )


def read_manifest_columns(path: str | Path, predictions: Predictions) -> pd.DataFrame:
    """Read a manifest CSV and align its rows to ``predictions`` by ``study_id``.

    Returns:
        A frame with one row per prediction (same order); studies absent from the
        manifest get NaN.

    Raises:
        InputError: unreadable file or no ``study_id`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "manifest not found")
    try:
        df = restore_frame(pd.read_csv(path, dtype={"study_id": str, "patient_id": str}))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable CSV ({exc})") from exc
    if "study_id" not in df.columns:
        raise InputError(path, "missing column study_id")
    df = df.drop_duplicates("study_id").set_index("study_id")
    aligned = df.reindex(pd.Index(predictions.study_id, name="study_id")).reset_index()
    n_missing = int(aligned.drop(columns="study_id").isna().all(axis=1).sum())
    if n_missing:
        logger.warning("%s: %d predicted studies are not in the manifest", path.name, n_missing)
    return aligned


def read_card_threshold(path: str | Path) -> float | None:
    """The operating threshold stored in a model card JSON (key ``threshold``).

    Returns:
        The threshold, or None when the card says ``null`` (multi-class models).

    Raises:
        InputError: unreadable JSON, no ``threshold`` key, or a value that is not a number in 0..1.
    """
    path = Path(path)
    card = read_card_values(path)
    if "threshold" not in card:
        raise InputError(path, "no 'threshold' key (is this a model card?)")
    value = card["threshold"]
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0.0 <= float(value) <= 1.0
    ):
        raise InputError(path, f"no numeric 'threshold' in 0..1 (got {value!r})")
    return float(value)
