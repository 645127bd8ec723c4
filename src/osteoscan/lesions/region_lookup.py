"""Skeletal region of a hotspot from its body coordinates (torch-free).

A table over (view, ``y_body``, ``x_body``) in 0.1-unit cells holds the majority simulator
region of the training candidates' peaks; cells never seen take the nearest seen cell. The
region follows the body (:mod:`osteoscan.lesions.context` body coordinates), not the frame.
Stored in the detector's card (``region_table``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from osteoscan.skeleton import REGIONS

GRID_Y = (-0.5, 10.0, 0.1)
GRID_X = (-3.0, 3.0, 0.1)
"""(start, stop, step) of the region lookup's body-coordinate grid."""


@dataclass
class RegionLookup:
    """Region code per (view, y_body, x_body) cell; cells never seen take the nearest seen one."""

    table: np.ndarray  # uint8 (2, ny, nx)

    @staticmethod
    def _cells(y, x):
        iy = np.clip(((np.asarray(y) - GRID_Y[0]) / GRID_Y[2]).astype(int), 0, _n(GRID_Y) - 1)
        ix = np.clip(((np.asarray(x) - GRID_X[0]) / GRID_X[2]).astype(int), 0, _n(GRID_X) - 1)
        return iy, ix

    @classmethod
    def fit(cls, view: np.ndarray, y: np.ndarray, x: np.ndarray, code: np.ndarray) -> RegionLookup:
        """Majority region per cell of training points (``view``: 0 anterior, 1 posterior)."""
        votes = np.zeros((2, _n(GRID_Y), _n(GRID_X), len(REGIONS)), dtype=np.int64)
        iy, ix = cls._cells(y, x)
        np.add.at(votes, (np.asarray(view, int), iy, ix, np.asarray(code, int)), 1)
        votes[..., 0] = 0  # background never wins where a bone was seen
        table = votes.argmax(-1).astype(np.uint8)
        for v in range(2):  # fill unseen cells from the nearest seen cell
            if table[v].any():
                _, (ri, ci) = ndimage.distance_transform_edt(table[v] == 0, return_indices=True)
                table[v] = table[v][ri, ci]
        for v in range(2):  # a view never seen borrows the other view's table
            if not table[v].any():
                table[v] = table[1 - v]
        return cls(table)

    @classmethod
    def from_records(cls, records) -> RegionLookup:
        """:meth:`fit` on training records' candidates (their ``view``, body coordinates and
        simulator ``region``; :mod:`osteoscan.lesions.detector_records`)."""
        from osteoscan.lesions.context import FEATURES

        X = np.concatenate([r["X"] for r in records])
        return cls.fit(np.concatenate([r["view"] for r in records]),
                       X[:, FEATURES.index("y_body")], X[:, FEATURES.index("x_body")],
                       np.concatenate([r["region"] for r in records]))

    def codes(self, arr) -> np.ndarray:
        """Region code of every candidate of a study's arrays (``X``, ``view``)."""
        from osteoscan.lesions.context import FEATURES

        y, x = arr.X[:, FEATURES.index("y_body")], arr.X[:, FEATURES.index("x_body")]
        return np.where(arr.view == 0, self(0, y, x), self(1, y, x)).astype(int)

    @staticmethod
    def shape() -> tuple[int, int, int]:
        """Shape of the table: (views, y cells, x cells)."""
        return 2, _n(GRID_Y), _n(GRID_X)

    def __call__(self, view: int, y, x) -> np.ndarray:
        iy, ix = self._cells(y, x)
        return self.table[view][iy, ix]


def _n(grid) -> int:
    return int(round((grid[1] - grid[0]) / grid[2]))
