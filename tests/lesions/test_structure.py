"""The structure-relative context columns (osteoscan.lesions.structure)."""

import numpy as np
import pytest
from scipy import ndimage

from osteoscan.lesions.context import BodyFrame
from osteoscan.lesions.structure import (
    axial_balance,
    column_reference,
    far_from,
    kidney_balance,
    soft_balance,
    structure_features,
    window_reference,
)

PX = 2.4


def _skeleton(spine: float) -> tuple[np.ndarray, np.ndarray, BodyFrame]:
    """A 400 x 200 view: a vertical spine strip at column 100 (uptake ``spine``) and two
    'ribs' columns at 60 and 140 at normal bone level 1; head 50 rows from row 0."""
    z = np.zeros((400, 200), np.float32)
    bone = np.zeros_like(z, bool)
    bone[:, 96:105] = True
    z[:, 96:105] = spine
    for c in (60, 140):
        bone[:, c - 4:c + 5] = True
        z[:, c - 4:c + 5] = 1.0
    return z, bone, BodyFrame(0.0, 50.0, 0.0, 100.0, 80.0)


@pytest.mark.parametrize("spine", [1.0, 1.8])
def test_a_uniformly_bright_spine_is_its_own_reference(spine):
    z, bone, frame = _skeleton(spine)
    z[200, 100] = 3.0 * spine  # a focal lesion three times its vertebra's level
    r, c = np.array([200.0, 100.0]), np.array([100.0, 100.0])
    f = structure_features(np.array([3.0 * spine, spine]), r, c, 200 - c, z, bone, frame, PX)
    assert f["col_rel"] == pytest.approx([3.0, 1.0])  # the same whatever the spine's level
    assert f["axial_rel"][0] == pytest.approx(spine)  # ... which axial_rel reports


def test_the_contralateral_reference_is_the_other_sides_level():
    z, bone, _ = _skeleton(1.0)
    z[150:170, 136:145] = 2.5  # the right 'rib' brighter than the left
    ref = window_reference(z, bone, np.array([160.0]), np.array([140.0]), 12.0, PX)
    assert ref[0] == pytest.approx(2.5)
    assert window_reference(z, bone, np.array([160.0]), np.array([60.0]), 12.0, PX)[0] == 1.0


def test_references_without_bone_fall_back_and_stay_finite():
    z, bone, frame = _skeleton(1.5)
    assert np.isnan(column_reference(z, bone, np.array([200.0]), np.array([20.0]), PX)[0])
    f = structure_features(np.array([2.0]), np.array([200.0]), np.array([20.0]),
                           np.array([180.0]), z, bone, frame, PX)
    assert all(np.isfinite(f[k]).all() for k in ("col_rel", "contra_rel", "axial_rel"))
    assert f["col_rel"][0] == f["contra_rel"][0] == pytest.approx(2.0)  # normal bone: z = 1
    assert np.isnan(axial_balance(z, np.zeros_like(bone), frame))


def _with_soft_tissue(spine: float, kidney: float, soft: float):
    """:func:`_skeleton` without ribs, with a lumbar spine as wide as its window (columns
    90-110) in a body of soft tissue at ``soft``, with kidneys at ``kidney`` (rows 115-132,
    22-38 columns either side of the midline: inside the kidney windows)."""
    z, bone, frame = _skeleton(spine)
    bone[:] = False
    bone[:, 90:111] = True
    z[:, 90:111] = spine
    z[~bone] = soft
    for c in (62, 122):
        z[115:133, c:c + 16] = np.maximum(z[115:133, c:c + 16], kidney)
    return z, bone, np.ones_like(bone), frame


def test_a_superscan_loses_its_kidneys_against_a_bright_spine_that_keeps_them():
    z, bone, body, frame = _with_soft_tissue(spine=1.8, kidney=0.8, soft=0.3)
    bright = kidney_balance(z, body, frame)
    z, bone, body, frame = _with_soft_tissue(spine=1.8, kidney=0.05, soft=0.1)
    superscan = kidney_balance(z, body, frame)
    assert superscan < 0.5 * bright
    assert soft_balance(z, bone, body, PX) == pytest.approx(0.1)


def test_soft_tissue_is_measured_away_from_bone_and_is_nan_without_any():
    z, bone, body, frame = _with_soft_tissue(spine=1.0, kidney=0.8, soft=0.3)
    near = ndimage.binary_dilation(bone, iterations=3)  # blur at the bone's edge, < SOFT_MM
    z[near & ~bone] = 0.9
    assert soft_balance(z, bone, body, PX) == pytest.approx(0.3)
    assert np.isnan(soft_balance(z, np.ones_like(bone), body, PX))
    assert np.isnan(kidney_balance(z, np.zeros_like(body), frame))


def test_the_soft_tissue_columns_need_the_body_mask():
    z, bone, body, frame = _with_soft_tissue(spine=1.0, kidney=0.8, soft=0.3)
    args = (np.array([2.0]), np.array([200.0]), np.array([100.0]), np.array([100.0]), z, bone,
            frame, PX)
    without, with_body = structure_features(*args), structure_features(*args, body)
    assert np.isnan(without["soft_rel"]).all() and np.isnan(without["kidney_rel"]).all()
    assert with_body["soft_rel"][0] == pytest.approx(0.3)
    assert with_body["kidney_rel"][0] > 0.3


@pytest.mark.parametrize("px", [1.2, 2.21, 2.4, 3.3, 4.8])
def test_far_from_bone_is_the_euclidean_distance_transforms_set(px):
    rng = np.random.default_rng(int(px * 10))
    for _ in range(5):
        mask = ndimage.gaussian_filter(rng.random((120, 60)), 3) > 0.52
        edt = ndimage.distance_transform_edt(~mask) * px > 10.0
        np.testing.assert_array_equal(far_from(mask, 10.0, px), edt)
    assert far_from(np.zeros((20, 20), bool), 10.0, 2.4).all()  # no bone: all far
