"""Lesion instances from the semantic output, per-instance features, origin prediction.

The instance detector is deliberately simple (docs/seg3d.md, "Why not RetinaNet"): the
connected components (``scipy.ndimage.label``, 26-connectivity) of the voxels whose lesion
probability ``1 - P(background)`` exceeds 0.5 are the instances; each gets the mean class
probabilities over its voxels (its class is the larger of benign and metastatic, its score
the mean P(metastatic)), the peak of the lesion-centre heatmap, and image features. A logistic
regression on those features predicts the primary (lung vs other) of each metastatic instance;
the patient's origin probability is the mean over its metastatic instances in the mask.

The regression is stored as plain numbers in the model card (:meth:`OriginModel.to_dict`),
not pickled; its prediction is the one line a logistic model is, written by hand for that
reason.

Example:
    >>> prob = np.zeros((3, 6, 6, 6), np.float32); prob[0] = 1
    >>> prob[:, 1:3, 1:3, 1:3] = np.array([0.1, 0.2, 0.7])[:, None, None, None]
    >>> labels, table = find_instances(prob, np.zeros((1, 6, 6, 6)), None, (4.0, 4.0, 4.0))
    >>> int(labels.max()), table[0]["cls"], round(table[0]["volume_ml"], 3)
    (1, 'metastatic', 0.512)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

LESION_THRESHOLD = 0.5
MIN_VOXELS = 2
CHANNEL_STATS = ("mean", "max", "std", "contrast")
BASE_FEATURES = ("log_volume_ml", "p_metastatic", "p_benign", "heat_max", "z_fraction")


def feature_names(channel_names: Sequence[str]) -> list[str]:
    """Names of the per-instance feature vector for these input channels."""
    return [*BASE_FEATURES, *(f"{c}_{s}" for c in channel_names for s in CHANNEL_STATS)]


def semantic_labels(prob: np.ndarray, threshold: float = LESION_THRESHOLD,
                    instances: np.ndarray | None = None) -> np.ndarray:
    """uint8 labels from ``(3, ...)`` probabilities, consistent with the instances: lesion
    where ``1 - P(background) > threshold`` (or, given ``instances``, where an instance
    survived the minimum size), then benign or metastatic by the larger probability.

    (A voxel at P = 0.4 / 0.3 / 0.3 is lesion for the instance step; a plain arg-max would
    call it background, and the first external run reported instances with no lesion voxel.)
    """
    lesion = (1.0 - prob[0]) > threshold if instances is None else instances > 0
    return np.where(lesion, np.where(prob[2] >= prob[1], 2, 1), 0).astype(np.uint8)


def components(lesion_prob: np.ndarray, threshold: float = LESION_THRESHOLD,
               min_voxels: int = MIN_VOXELS) -> np.ndarray:
    """int32 instance ids (1..N) of the connected lesion regions; smaller ones dropped."""
    labels, n = ndimage.label(lesion_prob > threshold, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return labels.astype(np.int32)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= min_voxels)
    keep = keep[keep > 0]
    remap = np.zeros(n + 1, np.int32)
    remap[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    return remap[labels]


def _channel_features(image: np.ndarray, labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """Per instance and channel: mean, max, std and contrast to a 1-voxel shell around it."""
    out = np.zeros((len(ids), image.shape[0] * len(CHANNEL_STATS)), np.float32)
    boxes = ndimage.find_objects(labels)
    for row, i in enumerate(ids):
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in boxes[i - 1])
        inside = labels[box] == i
        shell = ndimage.binary_dilation(inside) & (labels[box] == 0)
        for c in range(image.shape[0]):
            values, around = image[c][box][inside], image[c][box][shell]
            ring = float(around.mean()) if around.size else float(values.mean())
            col = c * len(CHANNEL_STATS)
            out[row, col:col + 4] = (values.mean(), values.max(), values.std(),
                                     values.mean() - ring)
    return out


def find_instances(prob: np.ndarray, heat: np.ndarray | None, image: np.ndarray | None,
                   spacing_mm: Sequence[float], channel_names: Sequence[str] = (),
                   threshold: float = LESION_THRESHOLD,
                   min_voxels: int = MIN_VOXELS) -> tuple[np.ndarray, list[dict]]:
    """Instances of one volume on the model's grid.

    Args:
        prob: ``(3, z, y, x)`` softmax probabilities (background, benign, metastatic).
        heat: ``(1, z, y, x)`` lesion-centre heatmap probabilities, or None.
        image: ``(C, z, y, x)`` normalised input channels (for the features), or None.
        spacing_mm: voxel size of this grid.
        channel_names: names of the image channels.
        threshold: a voxel is lesion where ``1 - P(background)`` exceeds it.
        min_voxels: smaller components are dropped.

    Returns:
        (int32 labels, one dict per instance: ``id``, ``cls``, ``score`` (mean
        P(metastatic)), ``volume_ml``, ``centre_vox``, ``features``).
    """
    labels = components(1.0 - prob[0], threshold, min_voxels)
    ids = list(range(1, int(labels.max()) + 1))
    if not ids:
        return labels, []
    voxel_ml = float(np.prod(spacing_mm)) / 1000.0
    sizes = np.bincount(labels.ravel())[1:]
    p_ben = np.atleast_1d(ndimage.mean(prob[1], labels, ids))
    p_met = np.atleast_1d(ndimage.mean(prob[2], labels, ids))
    heat_max = (np.atleast_1d(ndimage.maximum(heat[0], labels, ids)) if heat is not None
                else np.zeros(len(ids)))
    centres = ndimage.center_of_mass(np.ones_like(labels), labels, ids)
    chans = (_channel_features(image, labels, ids) if image is not None
             else np.zeros((len(ids), 0), np.float32))
    table = []
    for k, i in enumerate(ids):
        base = [np.log(sizes[k] * voxel_ml), p_met[k], p_ben[k], heat_max[k],
                centres[k][0] / max(labels.shape[0] - 1, 1)]
        table.append({
            "id": i, "cls": "metastatic" if p_met[k] >= p_ben[k] else "benign",
            "score": float(p_met[k]), "p_benign": float(p_ben[k]),
            "volume_ml": float(sizes[k] * voxel_ml),
            "centre_vox": [float(v) for v in centres[k]],
            "features": [float(v) for v in (*base, *chans[k])],
        })
    return labels, table


class OriginModel:
    """Logistic regression on instance features: P(primary = lung) per metastatic lesion.

    Example:
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
        >>> m = OriginModel(["f"]).fit(X, y)
        >>> bool(m.predict_proba(np.array([[3.0]]))[0] > 0.5)
        True
    """

    def __init__(self, names: Sequence[str], C: float = 1.0):
        self.names, self.C = list(names), float(C)

    def fit(self, X: np.ndarray, y: np.ndarray) -> OriginModel:
        """Standardise, then fit scikit-learn's ``LogisticRegression`` (L2, ``C``)."""
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, float)
        self.mean_, self.scale_ = X.mean(0), X.std(0) + 1e-6
        fit = LogisticRegression(C=self.C, max_iter=2000).fit((X - self.mean_) / self.scale_, y)
        self.coef_, self.intercept_ = fit.coef_[0], float(fit.intercept_[0])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(lung) per row (the logistic model, by hand: the card stores numbers, no pickle)."""
        z = ((np.asarray(X, float) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"features": self.names, "C": self.C, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, values: dict) -> OriginModel:
        model = cls(values["features"], values.get("C", 1.0))
        model.mean_, model.scale_ = np.asarray(values["mean"]), np.asarray(values["scale"])
        model.coef_, model.intercept_ = np.asarray(values["coef"]), float(values["intercept"])
        return model


def apply_lesion_model(labels: np.ndarray, table: list[dict], model: OriginModel | None,
                       min_p: float = 0.0) -> tuple[np.ndarray, list[dict]]:
    """The false-positive reduction stage: P(real lesion) of each instance from its features
    (a logistic model fitted on the training cases' instances, 1 = overlaps a true lesion),
    instances below ``min_p`` dropped and the rest renumbered 1..K, each scored
    ``P(real lesion) * P(metastatic | lesion)`` (what the FROC ranks). Unchanged when
    ``model`` is None.

    Example:
        >>> m = OriginModel(["f"]).fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
        >>> labels = np.array([1, 2, 0]); table = [{"id": 1, "features": [0.0]}, {"id": 2, "features": [3.0]}]
        >>> for t in table: t.update(score=0.8, p_benign=0.2)
        >>> labels, table = apply_lesion_model(labels, table, m, 0.5)
        >>> labels.tolist(), [t["id"] for t in table]
        ([0, 1, 0], [1])
    """
    if model is None or not table:
        return labels, table
    p_real = model.predict_proba(np.array([t["features"] for t in table]))
    remap = np.zeros(len(table) + 1, np.int32)
    kept = []
    for t, p in zip(table, p_real, strict=True):
        if p < min_p:
            continue
        p_met = t["score"] / max(t["score"] + t["p_benign"], 1e-6)
        remap[t["id"]] = len(kept) + 1
        kept.append({**t, "id": len(kept) + 1, "p_lesion": float(p), "score": float(p * p_met)})
    return remap[labels], kept


def cut_instances(labels: np.ndarray, table: list[dict], model: OriginModel | None,
                  min_p: float, cut: str) -> tuple[np.ndarray, list[dict]]:
    """The lesion model's cut as a card applies it (``postprocess``: ``min_p_lesion``,
    ``cut``): under "all" the instances below ``min_p`` are dropped
    (:func:`apply_lesion_model`); under "mask" every instance stays and only those at or above
    it are ``in_mask`` (drawn in the mask)."""
    labels, table = apply_lesion_model(labels, table, model, min_p if cut == "all" else 0.0)
    for t in table:
        t["in_mask"] = cut == "all" or t.get("p_lesion", 1.0) >= min_p
    return labels, table


def patient_origin(table: Sequence[dict], over: str = "mask") -> float:
    """Mean P(lung) over the metastatic instances; NaN when there are none.

    ``over``: "mask" averages only the instances kept in the mask (``in_mask``; with the
    mask-only cut, candidates below the lesion model's cut stay in the table but not in the
    mask), falling back to every metastatic instance when none is kept; "all" averages every
    metastatic instance (the rule of the runs up to the fourth; docs/seg3d.md).
    """
    probs = [t["p_lung"] for t in origin_instances(table, over, "p_lung")]
    return float(np.mean(probs)) if probs else float("nan")


def origin_instances(table: Sequence[dict], over: str = "mask",
                     needs: str | None = None) -> list[dict]:
    """The metastatic instances (with the key ``needs``, when given) a patient's origin
    uses: under "mask" those kept in the mask, or every one when none is kept; under "all"
    every one (:func:`patient_origin`)."""
    met = [t for t in table if t["cls"] == "metastatic" and (needs is None or needs in t)]
    kept = [t for t in met if t.get("in_mask", True)] if over == "mask" else met
    return kept or met
