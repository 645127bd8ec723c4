"""osteoscan.training: one training loop, run folders, checkpoints with model cards.

Example:
    >>> from osteoscan.training import train, load_checkpoint
    >>> run = train("configs/reference.yaml", "runs/reference")     # doctest: +SKIP
    >>> model, card = load_checkpoint(run)                          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "osteoscan.training.trainer",
    "TrainConfig": "osteoscan.training.config",
    "load_config": "osteoscan.training.config",
    "resolve_config": "osteoscan.training.config",
    "ModelCard": "osteoscan.training.checkpoint",
    "save_checkpoint": "osteoscan.training.checkpoint",
    "load_checkpoint": "osteoscan.training.checkpoint",
    "read_card": "osteoscan.training.checkpoint",
    "predict_manifest": "osteoscan.training.predict",
    "predictions_frame": "osteoscan.training.predict",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    # lazy: `import osteoscan.training.config` must not pull in torch
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'osteoscan.training' has no attribute {name!r}")
