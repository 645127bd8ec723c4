"""ScanDataset: the prepared stage is cached and gives the same items as the uncached pipeline."""

from __future__ import annotations

import numpy as np

from osteoscan.data.dataset import ScanDataset
from osteoscan.data.table import StudyTable, table_from_studies
from osteoscan.preprocessing import AugmentConfig, PreprocessConfig, build_pipeline
from osteoscan.simulate import simulate_study


def _table() -> StudyTable:
    return table_from_studies([simulate_study(i, site="site_a") for i in range(3)])


def test_cached_prepared_items_equal_the_plain_pipeline():
    table = _table()
    pipe = build_pipeline(PreprocessConfig(size=(128, 32)), AugmentConfig(p_thin=0.5))
    targets = np.zeros(len(table), np.int64)
    ds = ScanDataset(table, np.arange(len(table)), targets, pipe, seed=5)
    plain = ScanDataset(table, np.arange(len(table)), targets, lambda s, r: pipe(s, r), seed=5)
    assert ds.staged and not plain.staged
    ds.warm_cache()
    assert len(ds._cache) == len(table)
    for epoch in range(2):
        ds.set_epoch(epoch)
        plain.set_epoch(epoch)
        for i in range(len(ds)):
            np.testing.assert_array_equal(ds[i][0].numpy(), plain[i][0].numpy())
