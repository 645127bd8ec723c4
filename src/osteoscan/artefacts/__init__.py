"""Artefacts: the files osteoscan writes and reads back, without torch.

- :mod:`~osteoscan.artefacts.files`: the one atomic writer (bytes, text, JSON, or a callback
  for libraries that write to a path) and the one JSON sanitiser.
- :mod:`~osteoscan.artefacts.card`: the model card (one schema, validated on read) and the
  class-decision rule.
- :mod:`~osteoscan.artefacts.paths`: bundled assets, run folders and checkpoint resolution.

This package sits below training, lesions, inference, reporting and the simulator; it
imports only :mod:`osteoscan.errors`, numpy and the standard library (layer rule:
docs/architecture.md).
"""

from osteoscan.artefacts.card import (
    CARD_FORMAT,
    ModelCard,
    decide,
    read_card,
    read_card_file,
    read_card_values,
    write_card,
)
from osteoscan.artefacts.files import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    dumps_json,
    to_jsonable,
)
from osteoscan.artefacts.paths import (
    ASSETS_DIR,
    CARD_NAME,
    LESION_ASSETS_DIR,
    REFERENCE_DIR,
    SEG3D_DIR,
    WEIGHTS_NAME,
    final_card,
    fold_card,
    has_reference,
    require_reference,
    resolve_checkpoint,
    run_cards,
    seg3d_checkpoint,
)

__all__ = [
    "ASSETS_DIR", "CARD_FORMAT", "CARD_NAME", "LESION_ASSETS_DIR", "REFERENCE_DIR", "SEG3D_DIR",
    "WEIGHTS_NAME",
    "ModelCard", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text",
    "decide", "dumps_json", "final_card", "fold_card", "has_reference", "read_card",
    "read_card_file", "read_card_values", "require_reference", "resolve_checkpoint", "run_cards",
    "seg3d_checkpoint",
    "to_jsonable",
    "write_card",
]
