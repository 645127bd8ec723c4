"""Gradient-boosted trees stored without pickle: fitted parameters in safetensors + JSON.

A forest is a binary classifier (``link="logit"``: :meth:`Forest.predict_proba`) or a
regressor (``"identity"``, or ``"log"`` for a Poisson loss: :meth:`Forest.predict`). Several
named forests can share one file (:func:`save_forests`, :func:`load_forests`).

scikit-learn has no pickle-free format for ``HistGradientBoostingClassifier`` (``joblib`` and
``pickle`` execute code when loading, and the project never unpickles a file). So the fitted
trees are exported as flat arrays (one row per node: feature, threshold, missing-goes-left,
children, leaf value) in a safetensors file; on loading, scikit-learn's own ``TreePredictor``
objects are rebuilt from those arrays and do the traversal (numerical features only). A test
checks that the reloaded forest reproduces ``predict_proba`` to 1e-9.

Example:
    >>> import numpy as np
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> X = np.arange(40.0)[:, None]; y = (X[:, 0] > 20).astype(int)
    >>> f = Forest.from_sklearn(HistGradientBoostingClassifier(max_iter=5).fit(X, y))
    >>> bool(f.predict_proba(np.array([[30.0]]))[0] > 0.5)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from osteoscan.errors import ModelError

_FIELDS = ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value", "roots")


@dataclass
class Forest:
    """A binary gradient-boosted forest as flat node arrays.

    Attributes:
        feature, threshold, missing_left, left, right, is_leaf, value: per node (children are
            global node indices).
        roots: index of each tree's root node.
        baseline: the raw score before the first tree (log-odds for a classifier).
        link: ``"logit"`` (binary classifier), ``"identity"`` or ``"log"`` (regressors).
    """

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    baseline: float
    link: str = "logit"

    @classmethod
    def from_sklearn(cls, model) -> Forest:
        """Export a fitted binary ``HistGradientBoostingClassifier`` or a
        ``HistGradientBoostingRegressor`` (squared error or Poisson loss; numerical features)."""
        if getattr(model, "is_categorical_", None) is not None and np.any(model.is_categorical_):
            raise ValueError("categorical features are not supported by the export")
        parts, roots, offset = [], [], 0
        loss = getattr(model, "loss", "log_loss")
        link = {"log_loss": "logit", "squared_error": "identity", "poisson": "log"}.get(loss)
        if link is None:
            raise ValueError(f"loss {loss!r} is not supported by the export")
        for (tree,) in model._predictors:  # one tree per iteration (binary or regression)
            n = tree.nodes
            roots.append(offset)
            parts.append((n["feature_idx"], n["num_threshold"], n["missing_go_to_left"],
                          n["left"].astype(np.int64) + offset, n["right"].astype(np.int64) + offset,
                          n["is_leaf"], n["value"]))
            offset += len(n)
        cols = [np.concatenate([p[k] for p in parts]) for k in range(7)]
        dtypes = (np.int32, np.float64, np.uint8, np.int32, np.int32, np.uint8, np.float64)
        cols = [c.astype(d) for c, d in zip(cols, dtypes, strict=True)]
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(*cols, np.asarray(roots, np.int32), baseline, link)

    def _predictors(self) -> list:
        """scikit-learn ``TreePredictor`` objects rebuilt from the arrays (cached): their
        compiled traversal is 5x faster than a numpy one on a study's few hundred rows."""
        if getattr(self, "_cache", None) is None:
            from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
            from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

            ends = np.append(self.roots[1:], len(self.feature))
            trees = []
            for start, stop in zip(self.roots, ends, strict=True):
                nodes = np.zeros(stop - start, dtype=PREDICTOR_RECORD_DTYPE)
                nodes["feature_idx"] = self.feature[start:stop]
                nodes["num_threshold"] = self.threshold[start:stop]
                nodes["missing_go_to_left"] = self.missing_left[start:stop]
                nodes["left"] = np.maximum(self.left[start:stop] - start, 0)
                nodes["right"] = np.maximum(self.right[start:stop] - start, 0)
                nodes["is_leaf"] = self.is_leaf[start:stop]
                nodes["value"] = self.value[start:stop]
                empty = np.zeros((0, 8), dtype=np.uint32)
                trees.append(TreePredictor(nodes, empty, empty))
            self._cache = trees
        return self._cache

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds), shape (n,)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.full(len(X), self.baseline)
        known = np.zeros((0, 8), dtype=np.uint32)
        fmap = np.zeros(X.shape[1], dtype=np.uint32)
        for tree in self._predictors():
            out += tree.predict(X, known, fmap, 1)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(class 1), shape (n,) (a classifier)."""
        return 1.0 / (1.0 + np.exp(-self.raw(X)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The prediction on the forest's own scale: probability, value or (log link) mean."""
        if self.link == "logit":
            return self.predict_proba(X)
        raw = self.raw(X)
        return np.exp(raw) if self.link == "log" else raw

    def save(self, path: str | Path) -> None:
        """Write the node arrays (safetensors); the baseline goes into the file's metadata."""
        save_forests(path, {"": self})

    @classmethod
    def load(cls, path: str | Path) -> Forest:
        """Read a forest written by :meth:`save`.

        Raises:
            ModelError: the file is missing or not a forest.
        """
        return load_forests(path, ("",))[""]


def save_forests(path: str | Path, forests: dict[str, Forest]) -> None:
    """Several named forests in one safetensors file (names prefix the arrays: ``name.field``;
    the unnamed forest ``""`` keeps the bare field names)."""
    tensors, meta = {}, {"format": "osteoscan-forest-1"}
    for name, f in forests.items():
        pre = f"{name}." if name else ""
        tensors.update({pre + k: np.ascontiguousarray(getattr(f, k)) for k in _FIELDS})
        meta[pre + "baseline"], meta[pre + "link"] = repr(f.baseline), f.link
    save_file(tensors, str(path), metadata=meta)


def load_forests(path: str | Path, names) -> dict[str, Forest]:
    """The named forests of a file written by :func:`save_forests`.

    Raises:
        ModelError: the file is missing, not a forest file, or lacks one of ``names``.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        arrays = load_file(str(path))
        out = {}
        for name in names:
            pre = f"{name}." if name else ""
            out[name] = Forest(*(arrays[pre + k] for k in _FIELDS), float(meta[pre + "baseline"]),
                               meta.get(pre + "link", "logit"))
        return out
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        raise ModelError(f"{path}: not a readable tree model ({exc})") from exc
