"""osteoscan.io: readers that turn files into domain objects (numpy + metadata, never tensors).

* :func:`load_study`: DICOM NM whole body (multi- or single-frame, any transfer syntax
  pydicom decodes), Secondary Capture, PNG/JPEG/TIFF exports, or a folder holding one study.
* :func:`read_labelme`, :func:`read_mask`, :func:`annotations_to_mask`: lesion annotations.
* :func:`read_manifest`, :func:`write_manifest`: the dataset manifest (docs/data-format.md).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_study": "osteoscan.io.study",
    "read_labelme": "osteoscan.io.annotations",
    "read_mask": "osteoscan.io.annotations",
    "annotations_to_mask": "osteoscan.io.annotations",
    "DEFAULT_LABEL_MAP": "osteoscan.io.annotations",
    "Manifest": "osteoscan.io.manifest",
    "read_manifest": "osteoscan.io.manifest",
    "write_manifest": "osteoscan.io.manifest",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    # lazy, so that `from osteoscan.io import load_study` does not import pandas
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'osteoscan.io' has no attribute {name!r}")
