"""Shared simulated studies for the simulator tests (rendered once per session)."""

import pytest

from osteoscan.simulate.study import StudyPlan, render_plan


def render(seed: int, **kw):
    """Render a study keeping the noiseless images (expected, expected_no_lesions)."""
    plan = StudyPlan(patient_seed=seed, patient_id=f"T{seed}", study_id=f"T{seed}-0", **kw)
    return render_plan(plan, keep_expected=True)


@pytest.fixture(scope="session")
def met_renders():
    """Four metastatic studies at the default difficulty."""
    return [render(s, force_label="metastasis") for s in (1, 2, 3, 4)]


@pytest.fixture(scope="session")
def normal_render():
    return render(11, force_label="normal")
