"""``read_cases``: a cohort's studies read when used and held within a byte budget, with the
same arrays as reading every study at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from osteoscan.errors import InputError
from osteoscan.volumetric.inputs import work_image
from osteoscan.workflows.seg3d_cases import case_bytes, read_cases, read_row


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from osteoscan.workflows.seg3d import simulate_cohort

    root = tmp_path_factory.mktemp("cases")
    simulate_cohort(root, 3, seed=11, shape=(16, 32, 32), profiles=("profile_1", "profile_2"))
    return root


def test_fields_come_without_reading_a_volume(cohort):
    cases = read_cases(cohort)
    table = pd.read_csv(cohort / "manifest.csv", dtype=str, keep_default_na=False)
    assert [c.case_id for c in cases] == list(table.study_id)
    assert [c.profile for c in cases] == list(table.profile)
    assert all(isinstance(c.extra["lesion_kinds"], dict) for c in cases)
    assert cases[0]._cache.reads == 0


def test_arrays_equal_reading_the_study_at_once(cohort):
    cases = read_cases(cohort)
    rows = list(pd.read_csv(cohort / "manifest.csv", dtype=str,
                            keep_default_na=False).itertuples())
    for case, row in zip(cases, rows, strict=True):
        whole = read_row(cohort, row)
        for name in ("ct", "spect", "semantic", "instances"):
            np.testing.assert_array_equal(getattr(case, name), getattr(whole, name))
        assert case.spacing_mm == whole.spacing_mm and case.shape == whole.shape
        np.testing.assert_array_equal(work_image(case, "spectct", 8.0),
                                      work_image(whole, "spectct", 8.0))
    assert cases[0]._cache.reads == len(cases)  # each study read once, then held


def test_the_budget_holds_one_study_and_reads_again(cohort):
    cases = read_cases(cohort, budget=1)
    cache = cases[0]._cache
    first = cases[0].ct.copy()
    assert cases[1].ct is not None and list(cache.items) == [1]  # the first was let go
    np.testing.assert_array_equal(cases[0].ct, first)
    assert cache.reads == 3 and len(cache.items) == 1
    roomy = read_cases(cohort, budget=10 * case_bytes(read_row(
        cohort, next(pd.read_csv(cohort / "manifest.csv", dtype=str,
                                 keep_default_na=False).itertuples()))))
    for case in roomy + roomy:
        assert case.semantic is not None
    assert roomy[0]._cache.reads == 3


def test_a_missing_file_is_named_before_anything_is_read(cohort, tmp_path):
    import shutil

    copy = tmp_path / "cohort"
    shutil.copytree(cohort, copy)
    row = next(pd.read_csv(copy / "manifest.csv", dtype=str, keep_default_na=False).itertuples())
    (copy / row.semantic).unlink()
    with pytest.raises(InputError, match="missing") as err:
        read_cases(copy)
    assert row.semantic.split("/")[-1] in str(err.value)
    with pytest.raises(InputError, match="manifest"):
        read_cases(tmp_path / "nowhere")


def test_room_is_made_before_a_read():
    from osteoscan.volumetric.inputs import Case
    from osteoscan.workflows.seg3d_cases import CaseCache

    def case(i):
        return Case(str(i), str(i), (1.0, 1.0, 1.0), ct=np.zeros((10, 10, 10), np.float32))

    size = case_bytes(case(0))
    cache, held_at_load = CaseCache(budget=int(2.5 * size)), []

    def load(i):
        held_at_load.append(sorted(cache.items))
        return case(i)

    for i in range(4):
        cache.get(i, lambda i=i: load(i))
    assert held_at_load == [[], [0], [1], [2]]  # with the new one, never more than two (2.5)
    assert list(cache.items) == [2, 3]
    assert cache.get(2, lambda: load(9)).case_id == "2" and cache.reads == 4
