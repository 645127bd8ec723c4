"""Patient-level partitions: hold-out, stratified group k-fold, external site, manifest column.

Every partition is grouped by patient: all studies of one patient land in the same part
(train, validation or test), so a model is never validated on a patient it saw in training
(the leakage users report in nnU-Net #1871). No torch here; scikit-learn's
:class:`~sklearn.model_selection.StratifiedGroupKFold` does the grouping and stratification.

Example:
    >>> import numpy as np
    >>> labels = np.array(["normal", "metastasis"] * 10)
    >>> patients = np.repeat(np.arange(10), 2).astype(str)
    >>> split = holdout_split(labels, patients, test_fraction=0.3, seed=0)
    >>> check_no_leakage(split, patients)
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from osteoscan.errors import ConfigError

logger = logging.getLogger(__name__)

PROTOCOLS = ("auto", "holdout", "kfold", "external", "column")
"""Protocol names: ``auto`` honours a manifest ``split`` column when present, else hold-out."""

_SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "tune": "val",
    "test": "test", "testing": "test", "holdout": "test",
}


@dataclass(frozen=True)
class Split:
    """One partition of a table of studies into train / validation / test row indices.

    Attributes:
        name: "holdout", "external", "column" or "fold0", "fold1", ...
        train: row indices used to fit the model.
        val: row indices used for early stopping and the operating threshold.
        test: row indices never seen during training (may be empty).
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def parts(self) -> dict[str, np.ndarray]:
        """The three parts by name."""
        return {"train": self.train, "val": self.val, "test": self.test}


def _group_folds(labels: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> list[np.ndarray]:
    """Test-fold indices of a stratified group k-fold (at most one fold per patient group)."""
    n_groups = len(np.unique(groups))
    largest_class = int(np.unique(labels, return_counts=True)[1].max())
    n_splits = max(2, min(n_splits, n_groups, largest_class))
    if n_splits > largest_class:  # too few studies to stratify: plain shuffled group folds
        uniq = np.random.default_rng(seed).permutation(np.unique(groups))
        return [np.flatnonzero(np.isin(groups, part)) for part in np.array_split(uniq, n_splits)]
    sgkf = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "least populated class has only N members": fine for tiny sets
        warnings.simplefilter("ignore", UserWarning)
        return [test for _, test in sgkf.split(np.zeros(len(labels)), labels, groups)]


def _take_fraction(
    index: np.ndarray, labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``index`` into (rest, taken) with about ``fraction`` of it taken, by patient."""
    if fraction <= 0 or len(index) == 0:
        return index, index[:0]
    n_groups = len(np.unique(groups[index]))
    if n_groups < 2:
        raise ConfigError(f"protocol: cannot split {n_groups} patient(s) into two parts")
    # at most as many folds as the rarest class has patients, so that every fold holds each
    # class (20 folds at most: 5 % granularity for the fraction)
    sub_l, sub_g = labels[index], groups[index]
    rarest = min(len(np.unique(sub_g[sub_l == c])) for c in np.unique(sub_l))
    n_splits = max(2, min(20, n_groups, rarest))
    folds = _group_folds(labels[index], groups[index], n_splits, seed)
    n_take = min(len(folds) - 1, max(1, round(fraction * len(folds))))
    taken = np.sort(np.concatenate([index[f] for f in folds[:n_take]]))
    rest = np.setdiff1d(index, taken)
    return rest, taken


def holdout_split(
    labels: Sequence[str], groups: Sequence[str], *, test_fraction: float = 0.3,
    val_fraction: float = 0.15, seed: int = 0,
) -> Split:
    """Hold-out split stratified by label and grouped by patient (7:3 as in the lung study).

    Args:
        labels: class name per study.
        groups: patient id per study.
        test_fraction: share of studies held out for testing (0 for none).
        val_fraction: share of the remaining training studies used for validation.
        seed: shuffling seed.

    Returns:
        A :class:`Split` named "holdout".
    """
    labels, groups = np.asarray(labels).astype(str), np.asarray(groups).astype(str)
    index = np.arange(len(labels))
    train, test = _take_fraction(index, labels, groups, test_fraction, seed)
    train, val = _take_fraction(train, labels, groups, val_fraction, seed + 1)
    return Split("holdout", train, val, test)


def kfold_splits(
    labels: Sequence[str], groups: Sequence[str], *, k: int = 5, val_fraction: float = 0.15,
    seed: int = 0,
) -> list[Split]:
    """Stratified group k-fold: fold i tests on the i-th patient group fold.

    Args:
        labels: class name per study.
        groups: patient id per study.
        k: number of folds.
        val_fraction: share of each fold's training studies used for validation.
        seed: shuffling seed.

    Returns:
        k splits named "fold0" ... whose test parts cover every study exactly once.
    """
    labels, groups = np.asarray(labels).astype(str), np.asarray(groups).astype(str)
    if len(np.unique(groups)) < k:
        raise ConfigError(f"protocol.folds: {k} folds need at least {k} patients")
    splits = []
    for i, test in enumerate(_group_folds(labels, groups, k, seed)):
        train = np.setdiff1d(np.arange(len(labels)), test)
        train, val = _take_fraction(train, labels, groups, val_fraction, seed + 1 + i)
        splits.append(Split(f"fold{i}", train, val, np.sort(test)))
    return splits


def external_split(
    labels: Sequence[str], groups: Sequence[str], sites: Sequence[str], *,
    train_sites: Sequence[str], test_sites: Sequence[str], val_fraction: float = 0.15,
    test_fraction: float = 0.0, seed: int = 0, val_sites: Sequence[str] = (),
) -> Split:
    """Train (and validate) on some sites, test on others.

    With ``test_fraction`` > 0, that share of the training-site patients is held out as an
    internal test set too, so one run reports internal and external performance.

    Args:
        labels: class name per study.
        groups: patient id per study.
        sites: site name per study.
        train_sites: sites used for training and validation (empty: every site not tested on).
        test_sites: sites used for testing only.
        val_fraction: share of the training-site studies used for validation (ignored when
            ``val_sites`` are given).
        test_fraction: share of the training-site studies held out as internal test.
        seed: shuffling seed.
        val_sites: sites used for validation (model selection) only: the model is selected
            on sites it never trained on and tested on yet others (empty: ``val_fraction``
            of the training sites).

    Returns:
        A :class:`Split` named "external"; its test part holds the test sites' studies
        (and the internal hold-out, when asked).

    Raises:
        ConfigError: a named site is absent, a site is named for two parts, or a patient was
            scanned at sites of two parts.
    """
    labels, groups, sites = (np.asarray(a).astype(str) for a in (labels, groups, sites))
    present = set(sites.tolist())
    missing = [s for s in (*train_sites, *test_sites, *val_sites) if s not in present]
    if missing or not test_sites or set(val_sites) & set(test_sites):
        raise ConfigError(
            f"protocol.test_sites/train_sites/val_sites: sites {missing or '[]'} not usable "
            f"(validation and test sites must differ); the data holds sites {sorted(present)}"
        )
    is_test, is_val = np.isin(sites, list(test_sites)), np.isin(sites, list(val_sites))
    is_train = np.isin(sites, list(train_sites)) if train_sites else ~(is_test | is_val)
    test, train = np.flatnonzero(is_test), np.flatnonzero(is_train & ~is_test & ~is_val)
    val = np.flatnonzero(is_val)
    for part, other in (("test", test), ("validation", val)):
        shared = np.intersect1d(groups[other], groups[train])
        if len(shared):
            raise ConfigError(f"protocol: patients {shared[:5].tolist()} were scanned at train "
                              f"and {part} sites")
    train, internal = _take_fraction(train, labels, groups, test_fraction, seed)
    if not val_sites:
        train, val = _take_fraction(train, labels, groups, val_fraction, seed + 1)
    return Split("external", train, val, np.sort(np.concatenate([internal, test])))


def column_split(
    split_column: Sequence[str], labels: Sequence[str], groups: Sequence[str], *,
    val_fraction: float = 0.15, seed: int = 0,
) -> Split:
    """Honour a manifest ``split`` column (train/val/test and common synonyms).

    Without any "val" row, validation patients are carved out of the training rows.

    Raises:
        ConfigError: an unknown split value, or one patient in two parts.
    """
    labels, groups = np.asarray(labels).astype(str), np.asarray(groups).astype(str)
    raw = [str(v).strip().lower() for v in split_column]
    unknown = sorted({v for v in raw if v not in _SPLIT_ALIASES})
    if unknown:
        raise ConfigError(f"manifest column 'split': unknown values {unknown}; use train/val/test")
    parts = np.array([_SPLIT_ALIASES[v] for v in raw])
    idx = {p: np.flatnonzero(parts == p) for p in ("train", "val", "test")}
    if len(idx["val"]) == 0:
        idx["train"], idx["val"] = _take_fraction(idx["train"], labels, groups, val_fraction, seed)
    split = Split("column", idx["train"], idx["val"], idx["test"])
    check_no_leakage(split, groups)
    return split


def check_no_leakage(split: Split, groups: Sequence[str]) -> None:
    """Raise :class:`ConfigError` when a patient appears in two parts of ``split``."""
    groups = np.asarray(groups).astype(str)
    parts = {name: set(groups[ix].tolist()) for name, ix in split.parts().items()}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = parts[a] & parts[b]
        if shared:
            raise ConfigError(
                f"split {split.name}: patients {sorted(shared)[:5]} appear in both {a} and {b}"
            )


def make_splits(
    protocol: str, *, labels: Sequence[str], groups: Sequence[str],
    sites: Sequence[str] | None = None, split_column: Sequence[str] | None = None,
    test_fraction: float = 0.3, val_fraction: float = 0.15, folds: int = 5,
    train_sites: Sequence[str] = (), test_sites: Sequence[str] = (), seed: int = 0,
    val_sites: Sequence[str] = (),
) -> list[Split]:
    """Dispatch on a protocol name (one of :data:`PROTOCOLS`) and check every split for leakage.

    Returns:
        One split, or ``folds`` splits for "kfold".
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol.kind: {protocol!r} is not one of {list(PROTOCOLS)}")
    if protocol == "auto":
        protocol = "column" if split_column is not None else "holdout"
        logger.info("protocol auto -> %s", protocol)
    if protocol == "column":
        if split_column is None:
            raise ConfigError("protocol.kind: 'column' needs a 'split' column in the manifest")
        splits = [column_split(split_column, labels, groups, val_fraction=val_fraction, seed=seed)]
    elif protocol == "kfold":
        splits = kfold_splits(labels, groups, k=folds, val_fraction=val_fraction, seed=seed)
    elif protocol == "external":
        if sites is None:
            raise ConfigError("protocol.kind: 'external' needs a 'site' column")
        splits = [external_split(labels, groups, sites, train_sites=train_sites,
                                 test_sites=test_sites, val_fraction=val_fraction,
                                 test_fraction=test_fraction, seed=seed, val_sites=val_sites)]
    else:
        splits = [holdout_split(labels, groups, test_fraction=test_fraction,
                                val_fraction=val_fraction, seed=seed)]
    for split in splits:
        check_no_leakage(split, groups)
    return splits
