"""The lesion-weighted loss: every lesion weighs the same, whatever its voxel count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.losses import DiceCELoss

from osteoscan.errors import ConfigError
from osteoscan.volumetric.losses import Seg3DLoss, lesion_weights
from osteoscan.volumetric.training import Seg3DSettings, prepare

from .conftest import make_case

torch.set_num_threads(1)


def _two_lesions() -> tuple[np.ndarray, np.ndarray]:
    inst = np.zeros((8, 8, 8), np.int32)
    inst[1:3, 1:3, 1:3] = 1          # 8 voxels
    inst[6, 6, 6] = 2                # 1 voxel
    return inst, (inst > 0).astype(np.float32) * 2


def test_lesion_weights_give_every_lesion_the_same_total_and_keep_the_lesion_share():
    inst, _ = _two_lesions()
    w = lesion_weights(inst)
    assert w[inst == 1].sum() == pytest.approx(w[inst == 2].sum())
    assert w[inst > 0].sum() == pytest.approx((inst > 0).sum())
    assert np.all(w[inst == 0] == 1.0)
    assert np.all(lesion_weights(np.zeros((3, 3, 3), np.int32)) == 1.0)


def _loss_missing(which: int, lesion_weighted: bool) -> float:
    """The CE part of the loss of a prediction that finds every lesion but ``which``."""
    inst, sem = _two_lesions()
    logits = torch.zeros(1, 3, 8, 8, 8)
    logits[0, 0] = 4.0
    found = torch.as_tensor((inst > 0) & (inst != which))
    logits[0, 2][found], logits[0, 0][found] = 4.0, 0.0
    y = torch.as_tensor(np.stack([sem, np.zeros_like(sem), lesion_weights(inst)]))[None]
    loss = Seg3DLoss(lesion_weighted=lesion_weighted)
    return float(loss(logits, y) - loss.dice(logits, y[:, :1]))  # the CE part


def _cost_of_missing(which: int, lesion_weighted: bool) -> float:
    return _loss_missing(which, lesion_weighted) - _loss_missing(0, lesion_weighted)


def test_lesion_weighted_ce_costs_a_missed_small_lesion_as_much_as_a_missed_large_one():
    small, large = _cost_of_missing(2, True), _cost_of_missing(1, True)
    assert small > 0 and small == pytest.approx(large, rel=1e-4)
    # per voxel, missing the 8-voxel lesion costs 8 times missing the 1-voxel one
    assert _cost_of_missing(1, False) == pytest.approx(8 * _cost_of_missing(2, False), rel=1e-3)


def test_voxel_loss_is_monai_dicece_with_batch_dice():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, 6, 6)
    y = torch.randint(0, 3, (2, 1, 6, 6, 6)).float()
    ref = DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)
    target = torch.cat([y, torch.zeros_like(y)], 1)
    assert float(Seg3DLoss()(logits, target)) == pytest.approx(float(ref(logits, y)), rel=1e-5)


def test_lesion_loss_setting_adds_the_weights_to_the_target():
    case = make_case(0)
    s = Seg3DSettings(architecture="mtunet3d", patch=(16, 16, 16), widths=(4, 8), loss="lesion")
    _, target, _, _ = prepare(case, s.check())
    assert target.shape[0] == 3 and target[2].min() > 0
    _, plain, _, _ = prepare(case, Seg3DSettings(architecture="mtunet3d", patch=(16, 16, 16)))
    assert plain.shape[0] == 2
    with pytest.raises(ConfigError, match="loss"):
        Seg3DSettings(loss="blob").check()


def test_kind_factors_multiply_the_weight_of_that_lesion_only():
    inst, _ = _two_lesions()
    plain, scaled = lesion_weights(inst), lesion_weights(inst, {2: 4.0, 9: 3.0})  # 9: absent
    assert scaled[inst == 2].sum() == pytest.approx(4 * plain[inst == 2].sum())
    assert np.array_equal(scaled[inst != 2], plain[inst != 2])


def test_kind_weights_setting_up_weights_the_named_kind_in_the_target():
    case = make_case(0)
    case.extra = {"lesion_kinds": {1: "osteolytic", 2: "osteoblastic", 3: "osteophyte"}}
    base = dict(architecture="mtunet3d", patch=(16, 16, 16), widths=(4, 8), loss="lesion")
    _, plain, _, _ = prepare(case, Seg3DSettings(**base).check())
    _, up, _, _ = prepare(case, Seg3DSettings(**base, kind_weights={"osteolytic": 4.0}).check())
    lytic = case.instances == 1  # the case is on the model's 4 mm grid already
    assert lytic.any() and np.allclose(up[2][lytic], 4 * plain[2][lytic])
    assert np.array_equal(up[2][~lytic], plain[2][~lytic]) and np.array_equal(up[0], plain[0])
    for bad in ({"osteolytic": 0.0}, {"lytic": 2.0}):
        with pytest.raises(ConfigError, match="kind weights"):
            Seg3DSettings(**base, kind_weights=bad).check()
    with pytest.raises(ConfigError, match="--loss lesion"):
        Seg3DSettings(**{**base, "loss": "voxel"}, kind_weights={"osteolytic": 2.0}).check()
