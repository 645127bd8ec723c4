"""Late fusion of a CT path: lesions found from CT alone, added where the primary network
marks none (docs/seg3d.md, "Eighth run").

A SPECT/CT network trained with both channels follows the SPECT: a lytic metastasis that is
cold on SPECT gets a lesion probability near 0 although its CT signal is there, and the same
network trained with modality dropout marks it from CT alone (seventh run). The CT path is a
second 3-D network (any ``seg3d`` checkpoint; its SPECT channels zeroed at the input when it
has any) with its own post-processing: lesion threshold, smallest instance, smallest
P(real lesion) of its card's lesion model, and a CT-side evidence cut, the mean HU of the
instance minus the mean HU of the bone (> 150 HU) in a one-voxel shell around it
(``max_contrast_hu``: only instances at least that much darker than the bone around them,
i.e. lucent ones, are kept; None: no cut). Its instances that touch no voxel of the
primary output's mask are added to the primary's instances (ids after the primary's), mask
and lesion table (``source: "ct_path"``); the primary's instances are never changed.

The primary card records the path (``settings["postprocess"]["ct_path"]``: the companion's
folder, relative to the primary's, and these values; :meth:`CTPath.to_dict`), chosen on a
selection cohort by :func:`osteoscan.volumetric.postprocess.select_ct_path`;
:meth:`Segmenter3D.from_checkpoint <osteoscan.volumetric.infer.Segmenter3D.from_checkpoint>`
loads it, and ``seg3d predict`` / ``evaluate`` then fuse.

Example:
    >>> fused = Segmenter3D.from_checkpoint("runs/stage5-fused")   # doctest: +SKIP
    >>> [t["source"] for t in fused.predict(case).lesions]          # doctest: +SKIP
    ['primary', 'primary', 'ct_path']
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.errors import ModelError
from osteoscan.volumetric.inputs import Case, modalities, resize
from osteoscan.volumetric.instances import patient_origin, semantic_labels

BONE_HU = 150.0
"""CT bone, as the training's bone negatives define it (``--negatives bone``)."""
FOLDER = "ct_path"
"""Where ``seg3d select --ct-path`` writes the companion checkpoint, inside the primary's."""


@dataclass
class CTPath:
    """A CT-path network (a :class:`~osteoscan.volumetric.infer.Segmenter3D` whose
    ``threshold``, ``min_voxels``, ``min_p_lesion`` and ``zeroed`` are the path's
    post-processing, its lesion-model cut applied everywhere) and the CT evidence cut."""

    net: object
    max_contrast_hu: float | None = None
    folder: str = FOLDER

    @classmethod
    def of(cls, net, *, threshold: float, min_voxels: int, min_p_lesion: float = 0.0,
           max_contrast_hu: float | None = None, folder: str = FOLDER) -> CTPath:
        """A path over a copy of ``net`` with these values (``net`` is left as it is)."""
        net = copy.copy(net)
        net.threshold, net.min_voxels = float(threshold), int(min_voxels)
        net.min_p_lesion, net.cut, net.ct_path = float(min_p_lesion), "all", None
        net.zeroed = ("spect",) if "spect" in modalities(net.channels) else ()
        return cls(net, None if max_contrast_hu is None else float(max_contrast_hu), folder)

    def to_dict(self) -> dict:
        """The card's record (``settings["postprocess"]["ct_path"]``)."""
        return {"model": self.folder, "zeroed": list(self.net.zeroed),
                "threshold": self.net.threshold, "min_voxels": self.net.min_voxels,
                "min_p_lesion": self.net.min_p_lesion, "max_contrast_hu": self.max_contrast_hu}

    @classmethod
    def load(cls, primary, source: Path, values: dict) -> CTPath:
        """The path a primary card records (``values``), its checkpoint read from
        ``source / values["model"]``.

        Raises:
            ModelError: the companion is missing, has a CT path of its own, or works on
                another grid than the primary (fusion is voxel-wise on the model grid).
        """
        folder = Path(source) / str(values.get("model", FOLDER))
        if not (folder / "model.json").is_file():
            raise ModelError(f"{source}: the card's ct_path names {folder}, which holds no "
                             "model.json (copy the whole selected folder)")
        net = type(primary).from_checkpoint(folder)
        if net.ct_path is not None or net.spacing != primary.spacing:
            raise ModelError(f"{folder}: a CT path must have no CT path of its own and work at "
                             f"the primary's spacing ({primary.spacing:g} mm), not "
                             f"{net.spacing:g} mm")
        path = cls.of(net, threshold=values["threshold"], min_voxels=values["min_voxels"],
                      min_p_lesion=values.get("min_p_lesion", 0.0),
                      max_contrast_hu=values.get("max_contrast_hu"), folder=folder.name)
        path.net.zeroed = tuple(values.get("zeroed", path.net.zeroed))
        return path

    def outputs(self, case: Case) -> tuple:
        """The path's network output on a case: (input image, probabilities, heatmap, the
        CT in HU on the model grid), made once per case so that a post-processing sweep
        does not resample the CT again for every setting."""
        image = self.net.work_input(case)
        hu = resize(np.asarray(case.ct, np.float32)[None], image.shape[1:])[0]
        return (image, *self.net.probabilities(image), hu)

    def instances(self, case: Case, ct: tuple) -> tuple[np.ndarray, list[dict]]:
        """The path's instances after its post-processing, each with ``ct_contrast_hu``;
        those failing the CT evidence cut are dropped (ids left as they are)."""
        image, prob, heat, hu = ct
        labels, table = self.net.grid_instances(case, image, prob, heat)
        if not table:
            return labels, table
        boxes = ndimage.find_objects(labels)
        for t in table:
            t["ct_contrast_hu"] = bone_contrast(hu, labels, t["id"], boxes[t["id"] - 1])
        if self.max_contrast_hu is not None:
            # a NaN contrast (no bone around the instance) fails the cut: not a bone lesion
            table = [t for t in table if t["ct_contrast_hu"] <= self.max_contrast_hu]
        return labels, table

    def fuse(self, case: Case, labels: np.ndarray, semantic: np.ndarray, table: list[dict],
             origin: float, ct: tuple) -> tuple[np.ndarray, np.ndarray, list[dict], float]:
        """The primary's model-grid instances, mask and lesion table with the path's
        instances added where the primary's mask has no lesion voxel; the patient's origin
        stays the primary's, from the added lesions only when the primary has none."""
        if ct[1].shape[1:] != labels.shape:
            raise ModelError(f"{case.case_id}: the CT path's grid {ct[1].shape[1:]} is not the "
                             f"primary's {labels.shape}")
        ct_labels, ct_table = self.instances(case, ct)
        ids = [t["id"] for t in ct_table]
        touch = np.atleast_1d(ndimage.maximum(semantic > 0, ct_labels, ids)) if ids else []
        ct_semantic = semantic_labels(ct[1], self.net.threshold, ct_labels)
        labels, semantic = labels.copy(), semantic.copy()
        added, n = [], int(labels.max())
        for t, hit in zip(ct_table, touch, strict=True):
            region = (ct_labels == t["id"]) & (labels == 0)
            if hit or not region.any():
                continue
            n += 1
            labels[region], semantic[region] = n, ct_semantic[region]
            added.append({**t, "id": n, "source": "ct_path", "in_mask": True})
        if math.isnan(origin) and added:
            origin = patient_origin(added, "all")
        return labels, semantic, [*table, *added], origin


def bone_contrast(hu: np.ndarray, labels: np.ndarray, i: int, box: tuple) -> float:
    """Mean HU of instance ``i`` minus the mean HU of the CT bone (> :data:`BONE_HU`) in a
    one-voxel shell around it that no other instance covers (NaN without such bone).

    Written here, not from the instance features: those take the contrast against the whole
    shell (fat and muscle included) in a clipped window, not against the bone around it."""
    box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
    inside = labels[box] == i
    shell = ndimage.binary_dilation(inside) & (labels[box] == 0) & (hu[box] > BONE_HU)
    if not shell.any():
        return float("nan")
    return float(hu[box][inside].mean() - hu[box][shell].mean())

