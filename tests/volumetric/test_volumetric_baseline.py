"""The learning-free hot-spot reference."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.volumetric.baseline import HotSpotBaseline

from .conftest import make_case


def test_hot_spots_in_bone_find_the_hot_lesions_only():
    case = make_case(3, primary="other")  # metastases 4x bone uptake, the benign one 1.4x
    result = HotSpotBaseline(ratio=2.5).predict(case, keep_work=True)
    hit = np.unique(case.instances[result.instances > 0])
    mets = {int(i) for i in np.unique(case.instances[case.semantic == 2])}
    assert set(hit[hit > 0].tolist()) == mets
    assert 1 <= len(result.lesions) <= len(mets) and np.isnan(result.origin_p_lung)  # may touch
    assert result.work["prob"].shape == (3, *case.shape)
    assert all(t["score"] > 2.5 for t in result.lesions)


def test_the_baseline_needs_both_modalities():
    case = make_case(1)
    case.spect = None
    with pytest.raises(ValueError, match="needs CT and SPECT"):
        HotSpotBaseline().predict(case)
