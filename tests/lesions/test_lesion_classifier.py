"""Patch + context inputs, the classifier networks, and weight round trips."""

import numpy as np
import pytest
import torch

from osteoscan.lesions.classifier import (
    CONTEXT,
    N_TAB,
    PATCH,
    LesionClassifier,
    RegistryLesionNet,
    lesion_inputs,
    tabular,
)
from osteoscan.skeleton import REGION_CODE
from osteoscan.types import BoneScan, Hotspot, StudySource


def _scan():
    rng = np.random.default_rng(0)
    a = rng.poisson(10, (128, 64)).astype(np.float32)
    p = rng.poisson(10, (128, 64)).astype(np.float32)
    a[60:64, 30:34] = 200.0
    return BoneScan(a, p, (2.4, 2.4), "P1", "S1", (), StudySource((), "simulated"))


def _hot(view, row, col, region="ribs"):
    return Hotspot(view, row, col, 40.0, region, 0.0, np.zeros((128, 64), bool), uptake_ratio=2.0)


def test_inputs_shapes_centre_and_zero_padding():
    scan = _scan()
    arr = lesion_inputs(scan, [_hot("anterior", 61.5, 31.5), _hot("posterior", 2, 1)])
    assert arr["patch"].shape == (2, 2, PATCH, PATCH) and arr["context"].shape == (2, 2, PATCH, PATCH)
    assert arr["tab"].shape == (2, N_TAB)
    # the bright square sits at the patch centre of the anterior channel only
    centre = arr["patch"][0, 0, PATCH // 2 - 2:PATCH // 2 + 2, PATCH // 2 - 2:PATCH // 2 + 2]
    assert centre.min() > 5 * arr["patch"][0, 1].max() / 10
    # near the corner most of the patch lies outside the image and is zero
    assert (arr["patch"][1] == 0).mean() > 0.6
    assert CONTEXT % PATCH == 0


def test_tabular_encodes_region_and_match():
    t = tabular(_hot("anterior", 10, 10, "pelvis"))
    assert t[REGION_CODE["pelvis"]] == 1.0 and t[: len(REGION_CODE)].sum() == 1.0
    assert t[-1] == 0.0  # unmatched


def test_classifier_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    clf = LesionClassifier.build(width=4)
    scan = _scan()
    hs = [_hot("anterior", 61.5, 31.5), _hot("posterior", 20, 20)]
    before = clf.predict(scan, hs)
    clf.save(tmp_path / "clf")
    again = LesionClassifier.load(tmp_path / "clf")
    np.testing.assert_allclose(again.predict(scan, hs), before, rtol=1e-6)
    assert ((before > 0) & (before < 1)).all()
    assert clf.predict(scan, []).shape == (0,)


def test_registry_baseline_forward():
    net = RegistryLesionNet("vgg16", img_size=32, tiny=True).eval()
    x = torch.rand(3, 2, PATCH, PATCH)
    with torch.no_grad():
        out = net(x, x, torch.zeros(3, N_TAB))
    assert out.shape == (3,)


def test_load_missing_card_is_a_model_error(tmp_path):
    from osteoscan.errors import ModelError

    with pytest.raises(ModelError, match="model card not found"):
        LesionClassifier.load(tmp_path / "nothing")
