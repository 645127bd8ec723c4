"""Channels, grids and targets of the 3-D networks (osteoscan.volumetric.inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.errors import ConfigError
from osteoscan.evaluation.lesions import dice_score
from osteoscan.volumetric.inputs import (
    Case, RandDropChannelsd, centre_heatmap, channel_indices, channel_stack, instance_classes,
    resize, work_image, work_shape,
)

from .conftest import make_case


def test_channel_stack_orders_spect_then_ct_and_normalises():
    case = make_case(0)
    x = channel_stack(case, "spectct")
    assert x.shape == (2, *case.shape) and x.dtype == np.float32
    assert 0.0 <= x[1].min() and x[1].max() <= 1.0  # windowed CT
    hot = case.semantic == 2
    assert x[0][hot].mean() > 2 * x[0][case.semantic == 0].mean()  # SPECT: lesions hot
    assert channel_stack(case, "ct").shape == (1, *case.shape)
    with pytest.raises(ConfigError, match="channels must be one of"):
        channel_stack(case, "pet")
    with pytest.raises(ValueError, match="needs a CT volume"):
        channel_stack(Case("c", "p", (1, 1, 1), spect=case.spect), "spectct")


def test_spect_normalisation_ignores_the_count_level():
    case = make_case(1)
    low = channel_stack(case, "spect")
    case.spect = case.spect * 8
    assert np.allclose(channel_stack(case, "spect"), low, atol=0.05)


def test_work_grid_and_label_resize_round_trip():
    case = make_case(2, shape=(12, 32, 32), spacing=(8.0, 2.0, 2.0))
    shape = work_shape(case.shape, case.spacing_mm, 4.0)
    assert shape == (24, 16, 16)
    image = work_image(case, "spectct", 4.0)
    assert image.shape == (2, *shape)
    back = resize(resize(case.semantic[None], shape, labels=True), case.shape, labels=True)[0]
    assert back.dtype == case.semantic.dtype and set(np.unique(back)) <= {0, 1, 2}
    assert (back == case.semantic).mean() > 0.95


def test_label_resize_keeps_small_lesions_in_place():
    # the simulated CT grid (8.6 x 4.8 x 4.8 mm) to a 5 mm model grid and back: a plain
    # "nearest" resize shifted every label by up to a voxel (a perfect model's lesion Dice 0.35)
    truth = np.zeros((1, 40, 48, 48), np.uint8)
    for k, (z, y, x) in enumerate([(6, 10, 10), (17, 30, 21), (29, 15, 37)]):
        truth[0, z:z + 2, y:y + 3, x:x + 3] = 1 + k % 2
    shape = work_shape(truth.shape[1:], (8.6, 4.8, 4.8), 5.0)
    work = resize(truth, shape, labels=True)
    back = resize(work, truth.shape[1:], labels=True)
    assert dice_score(back > 0, truth > 0) > 0.9
    assert set(np.unique(back)) == {0, 1, 2}
    assert np.allclose(ndimage.center_of_mass(back[0] > 0), ndimage.center_of_mass(truth[0] > 0),
                       atol=0.25)


def test_anti_aliased_resize_averages_noise_when_shrinking_only():
    """A fine CT's noise must average over the coarse voxel, not be point-sampled
    (docs/seg3d.md, "Finer simulated CT (session 7)")."""
    noise = np.random.default_rng(0).standard_normal((1, 32, 32, 32)).astype(np.float32)
    plain, smooth = resize(noise, (8, 8, 8)), resize(noise, (8, 8, 8), anti_alias=True)
    assert smooth.std() < 0.4 * plain.std()
    flat = resize(np.full((1, 32, 32, 32), 3.0, np.float32), (8, 8, 8), anti_alias=True)
    np.testing.assert_allclose(flat[0, 2:-2, 2:-2, 2:-2], 3.0, atol=1e-3)  # border: see doc
    small = noise[:, :8, :8, :8]
    np.testing.assert_array_equal(resize(small, (16, 16, 16), anti_alias=True),
                                  resize(small, (16, 16, 16)))


def test_centre_heatmap_peaks_at_each_lesion_centre():
    inst = np.zeros((20, 20, 20), np.int32)
    inst[2:7, 2:7, 2:7] = 1
    inst[12:17, 12:17, 12:17] = 2
    heat = centre_heatmap(inst, 1.5)
    assert heat[4, 4, 4] == pytest.approx(1.0) and heat[14, 14, 14] == pytest.approx(1.0)
    assert heat[9, 9, 9] < 0.01 and heat.max() <= 1.0
    assert not centre_heatmap(np.zeros((4, 4, 4), np.int32)).any()


def test_instance_classes_by_majority():
    case = make_case(3)
    classes = instance_classes(case.semantic, case.instances)
    assert classes == {1: 2, 2: 2, 3: 1}


def test_second_ct_window_spreads_cancellous_bone_and_lucent_foci():
    case = make_case(0, primary="lung")  # lung metastases: lucent (-10 HU) in 300 HU bone
    x = channel_stack(case, "spectct2w")
    assert x.shape == (3, *case.shape)
    np.testing.assert_array_equal(x[:2], channel_stack(case, "spectct"))
    lytic, bone = case.semantic == 2, (case.ct > 250) & (case.semantic == 0)
    wide = x[1][bone].mean() - x[1][lytic].mean()
    narrow = x[2][bone].mean() - x[2][lytic].mean()
    assert narrow > 2.5 * wide  # width 700 vs 2000 HU
    with pytest.raises(ValueError, match="needs a CT volume"):
        channel_stack(Case("c", "p", (1, 1, 1), spect=case.spect), "spectct2w")


def test_modality_dropout_zeroes_the_named_channels_at_the_stated_rate_on_a_seeded_draw():
    image = np.random.default_rng(0).uniform(0.1, 1.0, (3, 4, 4, 4)).astype(np.float32)
    kept = image.copy()
    drop = RandDropChannelsd("image", channels=channel_indices("spectct2w", "spect"), prob=0.3)
    drop.set_random_state(seed=7)
    outs = [drop({"image": image})["image"] for _ in range(1000)]
    dropped = np.array([not out[0].any() for out in outs])
    assert 0.25 < dropped.mean() < 0.35  # binomial SD 0.014 at n = 1000
    assert all(np.array_equal(out[1:], kept[1:]) for out in outs)  # CT channels untouched
    assert all(np.array_equal(out, kept) for out, d in zip(outs, dropped) if not d)
    assert np.array_equal(image, kept)  # the input is copied, never changed
    again = RandDropChannelsd("image", channels=(0,), prob=0.3)
    again.set_random_state(seed=7)
    assert [not again({"image": image})["image"][0].any() for _ in range(1000)] == \
        dropped.tolist()  # the same seed, the same draws
    assert channel_indices("spectct", "ct") == (1,) and channel_indices("ct", "spect") == ()
