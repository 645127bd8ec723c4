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


def test_regressor_and_several_forests_share_one_file(tmp_path):
    from sklearn.ensemble import HistGradientBoostingRegressor

    from osteoscan.lesions.trees import load_forests, save_forests

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = np.exp(X[:, 0]) * (X[:, 1] > 0)
    reg = HistGradientBoostingRegressor(loss="poisson", max_iter=20).fit(X, y)
    clf = HistGradientBoostingClassifier(max_iter=10).fit(X, (y > 1).astype(int))
    save_forests(tmp_path / "f.safetensors",
                 {"": Forest.from_sklearn(clf), "bsi": Forest.from_sklearn(reg)})
    back = load_forests(tmp_path / "f.safetensors", ("", "bsi"))
    assert back["bsi"].link == "log" and back[""].link == "logit"
    np.testing.assert_allclose(back["bsi"].predict(X), reg.predict(X), rtol=1e-9)
    np.testing.assert_allclose(back[""].predict(X), clf.predict_proba(X)[:, 1], atol=1e-9)
    with pytest.raises(ModelError, match="f.safetensors"):
        load_forests(tmp_path / "f.safetensors", ("stage2",))
