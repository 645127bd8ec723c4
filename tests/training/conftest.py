"""Tiny synthetic studies for training tests: a smooth 'skeleton' plus hot spots for
metastatic studies, Poisson counts; small enough for a CPU step in milliseconds."""

import numpy as np
import pytest

from osteoscan.types import BoneScan, StudyLabel, StudySource, ViewSource


def synthetic_study(i: int, *, positive: bool, patient: str, site: str = "A",
                    shape=(128, 32), seed: int = 0) -> tuple[BoneScan, StudyLabel]:
    rng = np.random.default_rng([seed, i])
    rows, cols = shape
    r, c = np.mgrid[0:rows, 0:cols]
    body = 20.0 * np.exp(-((c - cols / 2) / (cols / 5)) ** 2) + 2.0
    if positive:
        for _ in range(3):
            y, x = rng.integers(10, rows - 10), rng.integers(8, cols - 8)
            body = body + 60.0 * np.exp(-((r - y) ** 2 + (c - x) ** 2) / 6.0)
    ant = rng.poisson(body).astype(np.float32)
    post = rng.poisson(body * 0.9).astype(np.float32)
    views = (ViewSource("anterior", "caller", 1.0, "synthetic", "mem"),
             ViewSource("posterior", "caller", 1.0, "synthetic", "mem"))
    scan = BoneScan(ant, post, (2.4, 2.4), patient, f"S{i:03d}", views,
                    StudySource((), "simulated"))
    label = StudyLabel("metastasis" if positive else "normal", site=site)
    return scan, label


def synthetic_cohort(n: int = 16, *, seed: int = 0, sites=("A",)):
    """n studies from n//2 patients (two studies each), alternating labels by patient."""
    out = []
    for i in range(n):
        p = i // 2
        out.append(synthetic_study(i, positive=p % 2 == 1, patient=f"P{p:03d}",
                                   site=sites[p % len(sites)], seed=seed))
    return out


TINY_CONFIG = {
    "name": "tiny",
    "model": {"name": "resnet18", "kwargs": {"tiny": True}},
    "preprocess": {"views": "stack", "size": [64, 32], "align": False},
    "augment": {"p_affine": 0.5, "rotate_deg": 3.0, "translate_px": 2.0},
    "optim": {"epochs": 2, "batch_size": 4, "lr": 0.003, "warmup_epochs": 0.5, "patience": 0,
              "threads": 1},
    "protocol": {"kind": "holdout", "test_fraction": 0.25, "val_fraction": 0.25},
}


@pytest.fixture
def cohort():
    return synthetic_cohort(16)


@pytest.fixture
def tiny_config():
    import copy

    return copy.deepcopy(TINY_CONFIG)


@pytest.fixture
def make_cohort():
    return synthetic_cohort


@pytest.fixture
def make_study():
    return synthetic_study
