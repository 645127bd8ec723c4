"""The demo plan: the reference training config plus the sizes of one ``osteoscan demo`` run.

The demo trains the reference recipe itself, not a copy of it: its training config is the
reference config (:data:`REFERENCE_CONFIG`) with the demo's overrides (:data:`DEMO_RUN`, then
the plan's ``train`` overrides). An installed package has no ``configs/`` folder, so the
reference config ships inside the package beside the weights it produced
(``osteoscan/assets/reference/config.yaml``); it is the same file as ``configs/reference.yaml``
(a test checks they are identical, and ``scripts/build_reference.py`` copies it when it ships
new weights).

Example:
    >>> cfg = QUICK.train_config("cohort/manifest.csv")
    >>> cfg.model.name, cfg.preprocess["size"], cfg.optim.epochs
    ('inrac18', [256, 64], 2)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from osteoscan.artefacts.paths import REFERENCE_DIR
from osteoscan.config.core import STRICT_KEYS, NonNegativeInt, PositiveInt, validate
from osteoscan.config.study import Overrides
from osteoscan.config.train import TrainConfig, load_config

REFERENCE_CONFIG = REFERENCE_DIR / "config.yaml"
"""The reference training config, as shipped in the package (= ``configs/reference.yaml``)."""

TRAIN_SITES = ("site_a", "site_b")
EXTERNAL_SITE = "site_c"
"""The demo's simulated cohort: two training sites and one external test site."""

DEMO_RUN = ("name=demo", "seed=0", "data.cache=true", "protocol.kind=external",
            f"protocol.train_sites=[{', '.join(TRAIN_SITES)}]",
            f"protocol.test_sites=[{EXTERNAL_SITE}]", "protocol.val_sites=[]",
            "protocol.val_fraction=0.2", "optim.amp=false")
"""What every demo run sets in the reference config: its name, the external-site protocol on
the demo's sites, a larger validation share (the cohort is small) and no mixed precision (CPU)."""


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of one demo run.

    Attributes:
        n_studies: simulated studies (cycled over the reference config's training and test sites).
        n_analyze: external-site studies analysed with reports.
        n_boot: bootstrap replicates for the CIs.
        difficulty: simulator difficulty.
        train: overrides of the reference training config (``key=value``, or a mapping).
    """

    __pydantic_config__ = STRICT_KEYS
    n_studies: PositiveInt
    n_analyze: PositiveInt
    n_boot: NonNegativeInt
    difficulty: str = "easy"
    train: Overrides = ()

    def train_config(self, manifest: str | Path | None = None,
                     reference: str | Path = REFERENCE_CONFIG) -> TrainConfig:
        """The demo's training config: ``reference`` + :data:`DEMO_RUN` + ``train``, reading
        the cohort from ``manifest`` (validated: a bad override is a ConfigError)."""
        cfg = load_config(reference, [*DEMO_RUN, *self.train])
        if manifest is not None:
            data = dataclasses.replace(cfg.data, manifest=str(manifest))
            cfg = dataclasses.replace(cfg, data=data)
        return cfg

    def with_train(self, *overrides: str) -> DemoPlan:
        """The plan with more training overrides (applied after its own)."""
        return dataclasses.replace(self, train=(*self.train, *overrides))


QUICK = validate(DemoPlan, {"n_studies": 30, "n_analyze": 3, "n_boot": 200, "train": {
    "preprocess": {"size": [256, 64]},
    "optim": {"epochs": 2, "batch_size": 8, "warmup_epochs": 0.0}}})
"""``osteoscan demo --quick``: the smoke version (the end-to-end test)."""

FULL = validate(DemoPlan, {"n_studies": 240, "n_analyze": 8, "n_boot": 1000})
"""``osteoscan demo``: the reference recipe as it is (14 epochs at 384x96)."""
