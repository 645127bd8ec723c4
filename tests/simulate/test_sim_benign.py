"""Benign findings: the symmetric normal joints drawn with the uptake balance."""

import numpy as np
import pytest

from osteoscan.simulate import simulate_study


def _joints(study):
    return [les for les in study.lesions if les.kind == "normal_joint"]


def test_normal_joints_come_in_mirrored_pairs_of_nearly_equal_spots():
    """Each joint is a spot on the right and one at the mirrored place of the left joint
    (the patient's left lies at larger x in the anterior orientation; the two joints' heights
    differ with the body's tilt), with size and excess within 5 %."""
    pairs = 0
    for seed in range(12):
        joints = _joints(simulate_study(seed, force_label="normal", uptake_balance=True))
        assert len(joints) % 2 == 0
        for right, left in zip(joints[::2], joints[1::2], strict=True):
            assert right.host.replace("right", "left") == left.host and not right.malignant
            assert left.contrast - 1 == pytest.approx(right.contrast - 1, rel=0.06)
            assert left.radius_mm == pytest.approx(right.radius_mm, rel=0.06)
            assert left.centre_mm[0] > right.centre_mm[0]
            assert abs(left.centre_mm[1] - right.centre_mm[1]) < 40
            pairs += 1
    assert pairs >= 12  # a Poisson mean of 2 per patient


def test_they_appear_only_with_the_uptake_balance_and_in_both_classes():
    """The default rendering is unchanged (no normal joints: the home test sites stay the
    same studies); with the balance, metastatic patients carry them too."""
    assert not any(_joints(simulate_study(s, force_label="normal")) for s in range(6))
    assert any(_joints(simulate_study(s, force_label="metastasis", uptake_balance=True))
               for s in range(6))
    a = simulate_study(5, force_label="normal")
    b = simulate_study(5, force_label="normal")
    assert np.array_equal(a.scan.anterior, b.scan.anterior)
