"""Gradient-boosted trees stored without pickle reproduce scikit-learn's predictions."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from osteoscan.errors import ModelError
from osteoscan.lesions.trees import Forest


def test_round_trip_matches_sklearn(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 > 0.8).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, early_stopping=False).fit(X, y)
    Forest.from_sklearn(model).save(tmp_path / "f.safetensors")
    back = Forest.load(tmp_path / "f.safetensors")
    np.testing.assert_allclose(back.predict_proba(X), model.predict_proba(X)[:, 1], atol=1e-9)


def test_bad_file_is_a_model_error(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="x.safetensors"):
        Forest.load(bad)
