"""Training through the one loop, checkpoints with a card, resume, transfer, inference."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from osteoscan.artefacts import read_card
from osteoscan.errors import ConfigError, ModelError
from osteoscan.volumetric.infer import Segmenter3D
from osteoscan.volumetric.training import (
    PatchDataset, Seg3DLoss, Seg3DSettings, fit_origin, kind_groups, prepare, train_seg3d,
)

from .conftest import make_case

torch.set_num_threads(1)


def _settings(**kw) -> Seg3DSettings:
    base = dict(architecture="mtunet3d", patch=(16, 16, 16), widths=(4, 8), epochs=2,
                samples_per_case=2, batch_size=2, lr=1e-2)
    return Seg3DSettings(**{**base, **kw})


def test_settings_refuse_a_2d_network_and_bad_channels():
    with pytest.raises(ConfigError, match="not a 3-D segmentation network"):
        _settings(architecture="unet").check()
    with pytest.raises(ConfigError, match="channels"):
        _settings(channels="pet").check()


def test_patches_are_lesion_centred_two_times_in_three(cases):
    data = PatchDataset([prepare(c, _settings()) for c in cases], (8, 8, 8), samples=30)
    hits = [bool((data[i][1][0] > 0).any()) for i in range(len(data))]
    x, y, _ = data[0]
    assert x.shape == (2, 8, 8, 8) and y.shape == (2, 8, 8, 8)
    assert np.mean(hits) > 0.5


def test_bone_negatives_are_centred_in_bone(cases):
    image, target, where, groups = prepare(cases[0], _settings(negatives="bone"))
    assert groups is None  # the default crops need no group map
    assert where.shape == (1, *target.shape[1:]) and 0 < where.mean() < 1
    assert where[0][(target[0] > 0)].mean() > 0.9  # lesions lie in the synthetic bone block
    assert prepare(cases[0], _settings())[2] is None
    # no lesion: every patch is a negative, centred on the one allowed voxel
    z = np.broadcast_to(np.arange(12, dtype=np.float32)[:, None, None], (12, 12, 12))
    only = np.zeros((1, 12, 12, 12), np.float32)
    only[0, 5, 5, 5] = 1
    data = PatchDataset([(z[None].copy(), np.zeros((2, 12, 12, 12), np.float32), only)],
                        (4, 4, 4), samples=5)
    assert all(data[i][0][0, :, 0, 0].tolist() == [3, 4, 5, 6] for i in range(5))
    with pytest.raises(ConfigError, match="negatives"):
        _settings(negatives="air").check()


def _two_lesions() -> tuple:
    """A 1000-voxel blastic lesion and a 1-voxel bone island far from it."""
    image = np.zeros((1, 32, 32, 32), np.float32)
    target = np.zeros((2, 32, 32, 32), np.float32)
    inst = np.zeros((32, 32, 32), np.int32)
    inst[:10, :10, :10], inst[28, 28, 28] = 1, 2
    target[0] = np.where(inst == 1, 2, np.where(inst == 2, 1, 0))
    groups = kind_groups(inst, target[0].astype(np.uint8), {1: "osteoblastic", 2: "bone_island"})
    return image, target, None, groups[None]


def test_kind_crops_centre_small_lesion_types_as_often_as_large_ones():
    item = _two_lesions()
    assert set(np.unique(item[3]).tolist()) == {0, 1, 4}
    def island_share(crops):
        data = PatchDataset([item], (4, 4, 4), samples=300, seed=1, crops=crops)
        return np.mean([bool((data[i][1][0] == 1).any()) for i in range(len(data))])
    # voxel-uniform lesion centres (posneg) almost never pick the 1-voxel island; by kind,
    # it is the centre of one patch in three (2/3 lesion patches, split over two groups)
    assert island_share("posneg") < 0.05
    assert 0.22 < island_share("kind") < 0.45
    with pytest.raises(ConfigError, match="crops"):
        _settings(crops="any").check()


def test_kind_groups_follow_the_truth_kinds_and_fall_back_on_the_class():
    inst = np.array([[[1, 2, 3, 0]]], np.int32)
    sem = np.array([[[2, 1, 2, 0]]], np.uint8)
    out = kind_groups(inst, sem, {1: "osteolytic", 2: "schmorl"})
    assert out.tolist() == [[[2, 5, 1, 0]]]  # lesion 3 has no kind: metastatic -> blastic


def test_kind_crops_train_with_a_second_ct_window_from_a_two_channel_model(tmp_path, cases):
    src = train_seg3d(cases[:2], _settings(epochs=1), tmp_path / "a")
    s = _settings(epochs=1, channels="spectct2w", crops="kind", negatives="bone")
    image, _, _, groups = prepare(cases[0], s)
    assert image.shape[0] == 3 and groups is not None
    out = train_seg3d(cases[:2], s, tmp_path / "b", init=src)
    card = json.loads((out / "model.json").read_text())
    assert card["model_kwargs"]["in_chans"] == 3 and card["settings"]["crops"] == "kind"


def test_modality_dropout_zeroes_spect_patches_only_when_asked_and_the_card_records_it(
        tmp_path, cases):
    prepared = [prepare(c, _settings()) for c in cases]

    def zeroed(**kw) -> float:
        data = PatchDataset(prepared, (8, 8, 8), samples=100, seed=3, **kw)
        return float(np.mean([not data[i][0][0].any() for i in range(len(data))]))

    assert zeroed() == 0.0  # off by default (and no patch's SPECT is all zero by itself)
    rate = zeroed(drop=((0,), 0.4))
    assert 0.33 < rate < 0.47 and rate == zeroed(drop=((0,), 0.4))  # seeded, n = 400+
    with pytest.raises(ConfigError, match="modality dropout"):
        _settings(channels="ct", modality_dropout=0.5).check()
    with pytest.raises(ConfigError, match="modality dropout"):
        _settings(modality_dropout=1.1).check()
    assert zeroed(drop=((0,), 1.0)) == 1.0  # dropout 1: a CT-only network (ninth run)
    out = train_seg3d(cases[:2], _settings(epochs=1, modality_dropout=0.5), tmp_path / "m")
    assert read_card(out).settings["modality_dropout"] == 0.5
    assert read_card(train_seg3d(cases[:2], _settings(epochs=1), tmp_path / "n")).settings[
        "modality_dropout"] == 0.0


def test_loss_adds_the_auxiliary_term_only_for_multi_task_outputs():
    y = torch.zeros(1, 2, 4, 4, 4)
    y[0, 0, 1:3, 1:3, 1:3], y[0, 1, 2, 2, 2] = 2, 1.0
    logits = torch.zeros(1, 4, 4, 4, 4)
    with_aux, without = Seg3DLoss(aux_weight=1.0)(logits, y), Seg3DLoss()(logits[:, :3], y)
    assert float(with_aux - without) == pytest.approx(np.log(2), rel=1e-4)


def test_train_writes_a_card_and_resumes(tmp_path, cases):
    out = train_seg3d(cases[:3], _settings(), tmp_path / "run")
    card = read_card(out)
    assert card.task == "segmentation3d" and card.classes == ["background", "benign", "metastatic"]
    assert card.settings["patch"] == [16, 16, 16] and card.training["epochs"] == 2
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 2 and len(state["loss"]) == 2
    train_seg3d(cases[:3], _settings(epochs=3), out, resume=True)
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 3 and len(state["loss"]) == 3


def test_transfer_from_a_spect_model_keeps_matching_tensors(tmp_path, cases):
    spect = train_seg3d(cases[:2], _settings(channels="spect", epochs=1), tmp_path / "spect")
    fused = train_seg3d(cases[:2], _settings(epochs=1, lr=0.0), tmp_path / "fused", init=spect)
    a = Segmenter3D.from_checkpoint(spect).model.state_dict()
    b = Segmenter3D.from_checkpoint(fused).model.state_dict()
    same = [k for k in a if a[k].shape == b[k].shape and torch.equal(a[k], b[k])]
    assert len(same) >= len(a) - 2  # all but the first convolution (1 vs 2 input channels)
    # SPECT is the first channel of both: its kernels are kept, the CT's start at zero
    widened = [k for k in a if a[k].ndim == 5 and b[k].shape[1] == 2 and a[k].shape[1] == 1]
    assert widened and all(torch.equal(b[k][:, :1], a[k]) and not b[k][:, 1:].any()
                           for k in widened)
    ct = train_seg3d(cases[:2], _settings(channels="ct", epochs=1), tmp_path / "ct")
    fused = train_seg3d(cases[:2], _settings(epochs=1, lr=0.0), tmp_path / "f2", init=ct)
    c = Segmenter3D.from_checkpoint(ct).model.state_dict()
    d = Segmenter3D.from_checkpoint(fused).model.state_dict()
    assert all(d[k][:, :1].abs().sum() and not torch.equal(d[k][:, :1], c[k])
               for k in widened)  # CT kernels are not put on the SPECT channel


def test_segmenter_learns_and_maps_back_to_the_source_grid(tmp_path, cases):
    many = [make_case(s, primary="lung" if s % 2 else "other") for s in range(5)]
    out = train_seg3d(many[:4], _settings(epochs=8, widths=(8, 16, 32), samples_per_case=4),
                      tmp_path / "run")
    summary = fit_origin(out, many[:4])
    assert summary["instances"] > 0 and summary["all_instances"] >= summary["instances"]
    both = 0 < summary["real"] < summary["all_instances"]
    seg = Segmenter3D.from_checkpoint(out)
    assert (seg.lesion_model is not None) == both and seg.origin is not None
    test = many[4]
    result = seg.predict(test)
    assert result.semantic.shape == test.shape and result.semantic.dtype == np.uint8
    assert result.instances.shape == test.shape and result.instances.max() == len(result.lesions)
    fg = test.semantic > 0
    dice = 2 * (fg & (result.semantic > 0)).sum() / (fg.sum() + (result.semantic > 0).sum())
    assert dice > 0.5


def test_segmenter_refuses_a_classifier_card(tmp_path, cases):
    out = train_seg3d(cases[:1], _settings(epochs=1), tmp_path / "run")
    seg = Segmenter3D.from_checkpoint(out)
    seg.card.task = "classification"
    with pytest.raises(ModelError, match="not a 3-D segmentation model"):
        Segmenter3D(seg.model, seg.card)


def test_a_network_trained_with_spect_always_zeroed_runs_with_it_zeroed(tmp_path, cases):
    # ninth run: modality dropout 1 makes a CT-only network; it is run as it was trained
    out = train_seg3d(cases[:2], _settings(epochs=1, modality_dropout=1.0), tmp_path / "ct")
    seg = Segmenter3D.from_checkpoint(out)
    assert seg.zeroed == ("spect",)
    assert not seg.work_input(cases[0])[0].any() and seg.work_input(cases[0])[1].any()
    assert Segmenter3D.from_checkpoint(out, zeroed=()).zeroed == ()  # an explicit choice wins
    plain = train_seg3d(cases[:2], _settings(epochs=1, modality_dropout=0.5), tmp_path / "half")
    assert Segmenter3D.from_checkpoint(plain).zeroed == ()
