"""The structure-relative context columns (osteoscan.lesions.structure)."""

import numpy as np
import pytest

from osteoscan.lesions.context import BodyFrame
from osteoscan.lesions.structure import (
    axial_balance,
    column_reference,
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
    assert all(np.isfinite(v).all() for v in f.values())
    assert f["col_rel"][0] == f["contra_rel"][0] == pytest.approx(2.0)  # normal bone: z = 1
    assert np.isnan(axial_balance(z, np.zeros_like(bone), frame))
