"""Tiny synthetic SPECT/CT cases (no simulator): a bone block with spherical lesions.

Metastases are hot on SPECT and sclerotic (lung: lytic) on CT; benign lesions are cold-ish
and small. Small enough for a tiny network to learn in a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.volumetric.inputs import Case


def make_case(seed: int, shape=(24, 32, 32), spacing=(4.0, 4.0, 4.0), n_lesions=3,
              primary: str | None = "lung") -> Case:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    ct = np.full(shape, -50.0, np.float32)
    bone = (abs(y - shape[1] // 2) < shape[1] // 3) & (abs(x - shape[2] // 2) < shape[2] // 4)
    ct[bone] = 300.0
    spect = np.where(bone, 10.0, 2.0).astype(np.float32)
    semantic = np.zeros(shape, np.uint8)
    instances = np.zeros(shape, np.int32)
    for k in range(n_lesions):
        malignant = primary is not None and k != n_lesions - 1
        r = rng.uniform(2.0, 3.0)
        c = [rng.uniform(r + 1, n - r - 2) for n in shape]
        c[1] = shape[1] // 2 + rng.uniform(-3, 3)
        c[2] = shape[2] // 2 + rng.uniform(-3, 3)
        ball = ((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) <= r * r
        ball &= instances == 0
        instances[ball] = k + 1
        semantic[ball] = 2 if malignant else 1
        spect[ball] = 40.0 if malignant else 14.0
        ct[ball] = (-10.0 if primary == "lung" else 900.0) if malignant else 600.0
    spect = rng.poisson(spect * 5).astype(np.float32)
    ct = ct + rng.normal(0, 20, shape).astype(np.float32)
    return Case(f"case{seed}", f"pat{seed}", spacing, ct=ct, spect=spect, semantic=semantic,
                instances=instances, primary=primary, profile="synthetic")


@pytest.fixture
def cases():
    return [make_case(s, primary="lung" if s % 2 else "other") for s in range(4)]
