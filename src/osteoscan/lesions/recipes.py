"""How every bundled lesion model is built: one recipe per model, from a seed.

A :class:`Recipe` names the simulated training data (seed, count, sites: the simulator's
settings), the network's configuration, its training stages and the held-out data its card
figures come from. ``scripts/build_models.py`` (``make models``) runs them in order, one
output folder per stage so that ``--resume`` skips what is done, then ships the result into
``src/osteoscan/assets/lesions/`` with the figures of :mod:`osteoscan.lesions.figures` in
its card. More bundled models are added by appending a recipe.

Since issue 16 the recipes train on the calibrated, varied simulator: studies spread over
:data:`TRAIN_PROFILES` (generated site profiles, domain randomisation), the one selected
quantity (the hotspot U-Net's probability threshold) chosen on :data:`SELECT_PROFILES`, other
generated profiles, and the card figures measured on site_c, a named profile neither of the
others ever saw. Sizes (studies x epochs) fit a full rebuild in about 30 min of one core
(docs/models.md). Seed 0 throughout.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

TRAIN_PROFILES: tuple[str, ...] = tuple(f"profile_{1000 + k}" for k in range(12))
"""Generated site profiles the bundled models train on (``profile_1000``-``profile_1011``)."""
SELECT_PROFILES: tuple[str, ...] = tuple(f"profile_{2000 + k}" for k in range(3))
"""Generated site profiles the bundled models are selected on (never trained or tested on)."""
TEST_SITE = "site_c"
"""The test profile of every bundled model's card: never used for training or selection."""


@dataclass(frozen=True)
class Data:
    """Simulated studies: ``simulate_studies(n, seed, sites=..., difficulty=...)``."""

    n: int
    seed: int = 0
    sites: tuple[str, ...] = TRAIN_PROFILES
    difficulty: str = "default"

    def describe(self) -> str:
        """One line for the card (a run of generated profiles as ``first..last``)."""
        return (f"{self.n} simulated studies ({_sites_text(self.sites)}, {self.difficulty}), "
                f"seeds {self.seed}-{self.seed + self.n - 1}")


def _sites_text(sites: Sequence[str]) -> str:
    if len(sites) > 2 and all(s.startswith("profile_") for s in sites):
        return f"{len(sites)} generated profiles {sites[0]}..{sites[-1]}"
    return ", ".join(sites)


@dataclass(frozen=True)
class Stage:
    """One training stage on the first ``studies`` studies of the recipe's data."""

    studies: int
    epochs: int
    lr: float


@dataclass(frozen=True)
class Recipe:
    """One bundled model.

    Attributes:
        name: the bundled stem (``src/osteoscan/assets/lesions/<name>.*``).
        kind: "hotspot", "regions" or "classifier".
        data: the training data.
        config: network and training settings passed to the trainer.
        stages: training stages, in order (each continues the previous one).
        needs: recipes whose shipped output this one uses (built first).
        held_out: the data the card's figures come from (never seen in training or selection).
        select: the data the recipe's selected quantities are chosen on (the hotspot
            threshold), other profiles than ``data`` and ``held_out``; None when the recipe
            selects nothing (its settings are fixed).
    """

    name: str
    kind: str
    data: Data
    config: dict = field(default_factory=dict)
    stages: tuple[Stage, ...] = ()
    needs: tuple[str, ...] = ()
    held_out: Data = Data(30, 20_000, (TEST_SITE,))
    select: Data | None = None


CHECK_STUDIES = 8
"""The first held-out studies whose figures the card also states (``metrics_subset``): the
default test suite recomputes these in seconds; a pooled figure on 8 studies is too noisy to
be compared with the 30-study CI (the hotspot Dice of the first 8 is 0.036 against 0.203,
CI 0.073-0.369), so each is compared with its own."""

RECIPES: tuple[Recipe, ...] = (
    Recipe("region_unet", "regions", Data(72),
           {"channels": (8, 16, 32, 64), "work_shape": (256, 64)}, (Stage(72, 20, 2e-3),)),
    Recipe("hotspot_unet", "hotspot", Data(120),
           {"channels": (8, 16, 32, 64), "work_shape": (512, 128), "crop": 128, "thin": (0.3, 0.7)},
           (Stage(120, 12, 2e-3), Stage(72, 8, 1e-3)), select=Data(16, 30_000, SELECT_PROFILES)),
    Recipe("lesion_classifier", "classifier", Data(120), {"width": 16}, (Stage(96, 12, 1e-3),),
           needs=("hotspot_unet", "region_unet")),
)
"""Every bundled lesion model, in build order."""


def recipe(name: str) -> Recipe:
    """The recipe of a bundled model by stem."""
    for r in RECIPES:
        if r.name == name:
            return r
    raise KeyError(f"no recipe {name!r}; known: {', '.join(r.name for r in RECIPES)}")


def scaled(r: Recipe, factor: float, epochs: float | None = None) -> Recipe:
    """The same recipe on ``factor`` of its studies (and ``epochs`` of its epochs): the
    end-to-end check that a recipe runs, far cheaper than the full build."""
    ep = factor if epochs is None else epochs
    stages = tuple(Stage(max(2, round(s.studies * factor)), max(1, round(s.epochs * ep)), s.lr)
                   for s in r.stages)
    data = dataclasses.replace(r.data, n=max(2, round(r.data.n * factor)))
    held = dataclasses.replace(r.held_out, n=max(4, round(r.held_out.n * factor)))
    select = r.select and dataclasses.replace(r.select, n=max(2, round(r.select.n * factor)))
    return dataclasses.replace(r, data=data, stages=stages, held_out=held, select=select)


@functools.lru_cache(maxsize=4)
def _simulated(data: Data) -> tuple:
    from osteoscan.lesions.pipeline import simulate_studies

    return tuple(simulate_studies(data.n, data.seed, sites=data.sites, difficulty=data.difficulty))


def studies(data: Data, first: int | None = None) -> list:
    """The simulated studies of ``data`` (the first ``first`` of them; the last four sets
    are kept in memory, so the three held-out figures simulate their studies once)."""
    if first is not None and first < data.n:
        data = dataclasses.replace(data, n=first)
    return list(_simulated(data))


def train_stage(r: Recipe, k: int, train: Sequence, previous, inputs: dict):
    """Train stage ``k`` of ``r`` on ``train``; ``previous`` is stage k-1's model (or None),
    ``inputs`` the shipped models of ``r.needs``."""
    from osteoscan.lesions.training import (
        classifier_samples, fit_classifier, train_regions, train_segmenter,
    )

    st, c = r.stages[k], r.config
    if r.kind == "hotspot":
        return train_segmenter(train, channels=c["channels"], work_shape=c["work_shape"],
                               crop=c["crop"], thin=c["thin"], epochs=st.epochs, lr=st.lr,
                               init=previous,
                               calibrate_on=studies(r.select) if r.select else None)
    if r.kind == "regions":
        return train_regions(train, channels=c["channels"], work_shape=c["work_shape"],
                             epochs=st.epochs, lr=st.lr)
    samples = classifier_samples(train, segmenter=inputs["hotspot_unet"], regions=inputs["region_unet"])
    return fit_classifier(samples, epochs=st.epochs, lr=st.lr, width=c["width"])


def stage_key(r: Recipe, k: int) -> str:
    """A short digest of what stage ``k`` of ``r`` depends on in the recipe (data, settings,
    stages up to k, selection data): ``--resume`` reuses only a stage of the same recipe."""
    import hashlib

    what = repr((r.name, r.data, sorted(r.config.items()), r.stages[:k + 1], r.select))
    return hashlib.sha256(what.encode()).hexdigest()[:8]


def load(r: Recipe, path: str | Path):
    """Load a model of recipe ``r`` from a file stem."""
    from osteoscan.lesions.classifier import LesionClassifier
    from osteoscan.lesions.hotspots import HotspotSegmenter
    from osteoscan.lesions.regions import RegionSegmenter

    cls = {"hotspot": HotspotSegmenter, "regions": RegionSegmenter, "classifier": LesionClassifier}
    return cls[r.kind].load(path)


def figures(r: Recipe, model, held: Sequence | None = None, **kwargs) -> dict:
    """The card figures of ``model`` on the recipe's held-out studies (or ``held``)."""
    from osteoscan.lesions.figures import FIGURES

    return FIGURES[r.name](model, held if held is not None else studies(r.held_out), **kwargs)


def card_figures(r: Recipe, model) -> dict:
    """The card fields of ``model``'s figures: ``held_out``, ``metrics`` (all held-out
    studies) and ``metrics_subset`` (the first :data:`CHECK_STUDIES`)."""
    subset = figures(r, model, studies(r.held_out, CHECK_STUDIES))
    return {"held_out": r.held_out.describe(), "metrics": figures(r, model),
            "metrics_subset": {"studies": CHECK_STUDIES, **subset}}
