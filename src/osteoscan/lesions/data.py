"""Lesion training studies from a dataset manifest (docs/data-format.md).

Three kinds of supervision, by the manifest columns a row has:

* ``"mask"``: ``lesion_masks`` (one uint16 PNG of instance ids per view, ``view:`` prefixes or
  ``_anterior``/``_posterior`` in the name) with labels from ``truth`` (the simulator's truth
  JSON) or, without it, from the polygons covering each instance;
* ``"polygon"``: the LabelMe polygons of the ``annotations`` column;
* ``"box"``: the LabelMe rectangles of the ``boxes`` column (or the bounding boxes of the
  polygons when there is no such column), turned into box-constrained pseudo-masks;
* ``"auto"``: ``"mask"`` for a row with ``lesion_masks``, else ``"polygon"`` (rectangles
  become box masks): what a folder of screen captures with LabelMe boxes needs.

LabelMe files drawn on a whole screen capture are mapped into view coordinates by the reader
(docs/ingest.md); a label map (``"4: Malignant": malignant``) names the labels, and every
name missing from it is reported at once, before any image is read.

``region_maps`` (uint8 PNGs) are read when present. A row that cannot be read is skipped and
reported; the others go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from osteoscan.errors import InputError, OsteoscanError
from osteoscan.lesions.studies import LesionStudy, from_annotations

log = logging.getLogger(__name__)

SUPERVISION = ("auto", "mask", "polygon", "box")


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


def _box_annotations(manifest, i: int, scan, label, label_map):
    from osteoscan.io.annotations import read_labelme

    if "boxes" not in manifest.frame.columns or not manifest.value(i, "boxes"):
        return label.annotations
    anns = []
    for view, path in _view_files(manifest, i, "boxes").items():
        anns += read_labelme(path, image_shape=scan.shape, view=view, picture=scan.source.picture,
                             label_map=label_map)
    return tuple(anns)


def study_from_row(manifest, i: int, supervision: str, label_map: Mapping[str, str] | None = None
                   ) -> LesionStudy:
    """One manifest row as a :class:`LesionStudy` (``meta["annotations"]``: the outlines read,
    in view coordinates).

    Raises:
        InputError: unreadable files; ConfigError: unknown supervision.
    """
    from osteoscan.errors import ConfigError

    if supervision not in SUPERVISION:
        raise ConfigError(f"supervision must be one of {', '.join(SUPERVISION)}, got {supervision!r}")
    scan, label = manifest.load(i, label_map=label_map)
    if supervision == "auto":
        supervision = "mask" if manifest.value(i, "lesion_masks") else "polygon"
    if supervision == "mask":
        study = _mask_study(manifest, i, scan, label)
    elif supervision == "box":
        study = from_annotations(scan, _box_annotations(manifest, i, scan, label, label_map),
                                 supervision="box", primary=label.primary)
    else:
        study = from_annotations(scan, label.annotations, primary=label.primary)
    if "region_maps" in manifest.frame.columns and manifest.value(i, "region_maps"):
        study.region_maps = {v: _png(p, np.uint8) for v, p in _view_files(manifest, i, "region_maps").items()}
    if "bsi" in manifest.frame.columns and manifest.value(i, "bsi"):
        study.bsi = float(manifest.value(i, "bsi"))
    study.meta.update(annotations=label.annotations, label=label.label, site=label.site)
    return study


def resolve_label_map(manifest, label_map: str | Path | Mapping[str, str] | None
                      ) -> Mapping[str, str] | None:
    """A label map (YAML path or mapping) checked against every annotation file of the manifest.

    Raises:
        InputError: naming the map file (or the manifest), listing every unknown label name.
    """
    from osteoscan.io.annotations import read_label_map

    if label_map is None:
        return None
    where = label_map if isinstance(label_map, (str, Path)) else manifest.path
    mapping = read_label_map(label_map) if isinstance(label_map, (str, Path)) else dict(label_map)
    unknown = manifest.unknown_labels(mapping)
    if unknown:
        listed = "; ".join(f"{name!r} (e.g. in {file})" for name, file in sorted(unknown.items()))
        raise InputError(where, f"{len(unknown)} label name(s) not in the label map: {listed}; "
                                "map each to malignant, benign or ignore")
    return mapping


def studies_from_manifest(path: str | Path, supervision: str = "auto", *,
                          label_map: str | Path | Mapping[str, str] | None = None,
                          ) -> tuple[list[LesionStudy], list[tuple[str, str]]]:
    """Every readable row of a manifest as a LesionStudy: the one loader of a user's cohort
    (``lesions train --data``, ``lesions evaluate --data``, ``lesions cv``).

    Args:
        path: the manifest CSV (images: DICOM, pictures or screen captures).
        supervision: one of :data:`SUPERVISION`.
        label_map: a YAML file or mapping, label name -> malignant/benign/ignore; checked
            against every annotation file first (all unknown names in one error).

    Returns:
        ``(studies, failures)``; a failure is ``(study_id or row, message)``. Each study's
        ``meta`` holds ``annotations`` (view coordinates), ``label`` and ``site``.

    Raises:
        InputError: an unreadable manifest or label map, or unknown label names.
    """
    from osteoscan.io.manifest import read_manifest

    manifest = read_manifest(path)
    mapping = resolve_label_map(manifest, label_map)
    studies, failures = [], []
    for i in range(len(manifest)):
        try:
            studies.append(study_from_row(manifest, i, supervision, mapping))
        except OsteoscanError as exc:
            failures.append((manifest.value(i, "study_id") or f"row {i + 1}", str(exc)))
            log.warning("skipped %s", exc)
    return studies, failures
