"""osteoscan.training: one training loop, run folders, checkpoints with model cards.

Example:
    >>> from osteoscan.training import train, load_checkpoint
    >>> run = train("configs/reference.yaml", "runs/reference")     # doctest: +SKIP
    >>> model, card = load_checkpoint(run)                          # doctest: +SKIP
"""

from __future__ import annotations

from osteoscan._lazy import lazy_getattr

_EXPORTS = {
    "train": "osteoscan.training.trainer",
    "TrainConfig": "osteoscan.config.train",
    "load_config": "osteoscan.config.train",
    "resolve_config": "osteoscan.config.train",
    "ModelCard": "osteoscan.artefacts",
    "save_checkpoint": "osteoscan.training.checkpoint",
    "load_checkpoint": "osteoscan.training.checkpoint",
    "read_card": "osteoscan.artefacts",
    "predict_manifest": "osteoscan.training.predict",
    "predictions_frame": "osteoscan.training.predict",
}

__all__ = list(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
