"""Lesion training studies from a dataset manifest (docs/data-format.md).

Three kinds of supervision, by the manifest columns a row has:

* ``"mask"``: ``lesion_masks`` (one uint16 PNG of instance ids per view, ``view:`` prefixes or
  ``_anterior``/``_posterior`` in the name) with labels from ``truth`` (the simulator's truth
  JSON) or, without it, from the polygons covering each instance;
* ``"polygon"``: the LabelMe polygons of the ``annotations`` column;
* ``"box"``: the LabelMe rectangles of the ``boxes`` column (or the bounding boxes of the
  polygons when there is no such column), turned into box-constrained pseudo-masks.

``region_maps`` (uint8 PNGs) are read when present. A row that cannot be read is skipped and
reported; the others go on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from osteoscan.errors import InputError, OsteoscanError
from osteoscan.lesions.training import LesionStudy, from_annotations

log = logging.getLogger(__name__)

SUPERVISION = ("mask", "polygon", "box")


def _view_files(manifest, i: int, column: str) -> dict[str, Path]:
    """``{view: path}`` of a ``;``-separated column of per-view files."""
    out: dict[str, Path] = {}
    for entry in filter(None, (e.strip() for e in manifest.value(i, column).split(";"))):
        view, sep, rel = entry.partition(":")
        if not sep or view not in ("anterior", "posterior"):
            rel = entry
            view = "posterior" if "posterior" in Path(entry).name else "anterior"
        out[view] = manifest.resolve(i, rel.strip(), column)
    return out


def _png(path: Path, dtype) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im).astype(dtype)
    except OSError as exc:
        raise InputError(path, f"cannot read the mask picture ({exc})") from exc


def _labels_from_truth(path: Path) -> dict[int, str]:
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
        return {int(les["id"]): "malignant" if les["malignant"] else "benign" for les in truth["lesions"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a truth file with lesions[id, malignant] ({exc})") from exc


def _mask_study(manifest, i: int, scan, label) -> LesionStudy:
    masks = {v: _png(p, np.int32) for v, p in _view_files(manifest, i, "lesion_masks").items()}
    for view, m in masks.items():
        if m.shape != scan.shape:
            raise InputError(manifest.path, f"row {i + 1}: {view} lesion mask {m.shape} != scan {scan.shape}")
    if "truth" in manifest.frame.columns and manifest.value(i, "truth"):
        labels = _labels_from_truth(manifest.resolve(i, manifest.value(i, "truth"), "truth"))
    else:  # label each instance by the polygon covering most of it
        poly = from_annotations(scan, label.annotations)
        labels = {}
        for view, m in masks.items():
            for lid in np.unique(m[m > 0]):
                under = poly.lesion_masks[view][m == lid]
                ids = under[under > 0]
                labels[int(lid)] = poly.lesion_labels.get(int(np.bincount(ids).argmax()), "benign") if ids.size else "benign"
    return LesionStudy(scan, masks, labels, primary=label.primary)


def _box_annotations(manifest, i: int, scan, label):
    from osteoscan.io.annotations import read_labelme

    if "boxes" not in manifest.frame.columns or not manifest.value(i, "boxes"):
        return label.annotations
    anns = []
    for view, path in _view_files(manifest, i, "boxes").items():
        anns += read_labelme(path, image_shape=scan.shape, view=view)
    return tuple(anns)


def study_from_row(manifest, i: int, supervision: str) -> LesionStudy:
    """One manifest row as a :class:`LesionStudy`.

    Raises:
        InputError: unreadable files; ConfigError: unknown supervision.
    """
    from osteoscan.errors import ConfigError

    if supervision not in SUPERVISION:
        raise ConfigError(f"supervision must be one of {', '.join(SUPERVISION)}, got {supervision!r}")
    scan, label = manifest.load(i)
    if supervision == "mask":
        study = _mask_study(manifest, i, scan, label)
    elif supervision == "box":
        study = from_annotations(scan, _box_annotations(manifest, i, scan, label), supervision="box",
                                 primary=label.primary)
    else:
        study = from_annotations(scan, label.annotations, primary=label.primary)
    if "region_maps" in manifest.frame.columns and manifest.value(i, "region_maps"):
        study.region_maps = {v: _png(p, np.uint8) for v, p in _view_files(manifest, i, "region_maps").items()}
    if "bsi" in manifest.frame.columns and manifest.value(i, "bsi"):
        study.bsi = float(manifest.value(i, "bsi"))
    return study


def studies_from_manifest(path: str | Path, supervision: str = "mask",
                          ) -> tuple[list[LesionStudy], list[tuple[str, str]]]:
    """Every readable row of a manifest as a LesionStudy.

    Returns:
        ``(studies, failures)``; a failure is ``(study_id or row, message)``.
    """
    from osteoscan.io.manifest import read_manifest

    manifest = read_manifest(path)
    studies, failures = [], []
    for i in range(len(manifest)):
        try:
            studies.append(study_from_row(manifest, i, supervision))
        except OsteoscanError as exc:
            failures.append((manifest.value(i, "study_id") or f"row {i + 1}", str(exc)))
            log.warning("skipped %s", exc)
    return studies, failures
