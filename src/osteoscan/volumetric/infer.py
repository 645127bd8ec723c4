"""Sliding-window inference of a trained 3-D network, with bounded memory.

:class:`Segmenter3D` loads a checkpoint (weights + card), resizes each modality to the card's
spacing one at a time, runs MONAI's ``sliding_window_inference`` (ROI = the training patch,
``sw_batch_size`` 1 by default, Gaussian blending, float32 on the CPU), finds the instances on
the model's grid (:mod:`osteoscan.volumetric.instances`), predicts each metastatic instance's
origin when the card carries an origin model, and maps the semantic and instance labels back
onto the source grid (nearest neighbour). Peak memory for a 512x512x300 CT is measured by
``benchmarks/bench_seg3d.py`` (docs/seg3d.md).

Example:
    >>> seg = Segmenter3D.from_checkpoint("runs/seg3d")     # doctest: +SKIP
    >>> result = seg.predict(case)                         # doctest: +SKIP
    >>> result.semantic.shape == case.shape, result.lesions[0]["cls"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from monai.inferers import sliding_window_inference

from osteoscan.artefacts import ModelCard, seg3d_checkpoint
from osteoscan.errors import ModelError
from osteoscan.training.checkpoint import load_checkpoint
from osteoscan.volumetric.inputs import (
    CLASSES, HU_WINDOW, Case, channel_indices, check_channels, resize, work_image,
)
from osteoscan.volumetric.instances import (
    LESION_THRESHOLD, MIN_VOXELS, OriginModel, cut_instances, feature_names,
    find_instances, patient_origin, semantic_labels,
)
from osteoscan.volumetric.origin import add_origin_features, instance_matrix, patient_probability

CUTS = ("all", "mask")
"""Where the lesion model's ``min_p_lesion`` applies (:class:`Segmenter3D`, ``cut``)."""
ORIGINS = ("mask", "all")
"""Which metastatic instances the patient's origin averages (``origin``; see
:func:`~osteoscan.volumetric.instances.patient_origin`)."""


@dataclass
class Seg3DResult:
    """One volume's prediction.

    Attributes:
        semantic: uint8 (z, y, x) on the source grid: 0 background, 1 benign, 2 metastatic.
        instances: int32 (z, y, x) on the source grid, lesion ids 1..N (0 = none).
        lesions: one dict per instance (id, cls, score, volume_ml, centre_mm, p_lung, ...).
        origin_p_lung: mean P(lung) over the metastatic instances (those kept in the mask
            under the card's ``origin: mask``; NaN: none, or no origin model).
        work: model-grid arrays kept for evaluation (``prob``, ``labels``), when asked.
    """

    semantic: np.ndarray
    instances: np.ndarray
    lesions: list[dict]
    origin_p_lung: float
    work: dict = field(default_factory=dict)


class Segmenter3D:
    """A trained 3-D network with its card, ready for :meth:`predict`."""

    def __init__(self, model: torch.nn.Module, card: ModelCard, *, sw_batch_size: int = 1,
                 overlap: float = 0.25, threshold: float | None = None,
                 min_voxels: int | None = None, origin_over: str | None = None,
                 zeroed: tuple[str, ...] | None = None):
        if card.task != "segmentation3d":
            raise ModelError(f"{card.architecture}: the card's task is {card.task!r}, "
                             "not a 3-D segmentation model (osteoscan seg3d train)")
        self.model, self.card = model.eval(), card
        s = card.settings
        self.channels, self.spacing = s["channels"], float(s["spacing_mm"])
        self.patch = tuple(int(v) for v in s["patch"])
        self.hu_window = tuple(s.get("hu_window", HU_WINDOW))
        self.sw_batch_size, self.overlap = int(sw_batch_size), float(overlap)
        # lesion where 1 - P(background) > threshold, components of >= min_voxels model-grid
        # voxels: chosen on a selection profile by `seg3d select` (card "postprocess"),
        # overridden by the arguments (docs/seg3d.md)
        post = s.get("postprocess") or {}
        self.threshold = float(post.get("threshold", LESION_THRESHOLD) if threshold is None
                               else threshold)
        self.min_voxels = int(post.get("min_voxels", MIN_VOXELS) if min_voxels is None
                              else min_voxels)
        self.min_p_lesion = float(post.get("min_p_lesion", 0.0))
        # what the lesion model's cut removes: "all" (the instances and the mask) or "mask"
        # (the mask only; every instance stays in the ranked detection list, scored by
        # P(real lesion) x P(metastatic | lesion)): chosen by `seg3d select` (docs/seg3d.md)
        self.cut = str(post.get("cut", "all"))
        if self.cut not in CUTS:
            raise ModelError(f"{card.architecture}: postprocess cut {self.cut!r} is not one "
                             f"of {', '.join(CUTS)}")
        # which instances the patient's origin averages: "all" where the card predates the
        # choice (its figures stay reproducible), "mask" from `seg3d select` (docs/seg3d.md)
        self.origin_over = str(post.get("origin", "all") if origin_over is None
                               else origin_over)
        if self.origin_over not in ORIGINS:
            raise ModelError(f"{card.architecture}: postprocess origin {self.origin_over!r} "
                             f"is not one of {', '.join(ORIGINS)}")
        origin, lesion = s.get("origin"), s.get("lesion_model")
        self.origin = OriginModel.from_dict(origin) if origin else None
        self.lesion_model = OriginModel.from_dict(lesion) if lesion else None
        # modalities zeroed at the input (a CT path; by default SPECT for a network trained
        # with it always zeroed, modality dropout 1), and the late-fusion companion
        # (volumetric.fusion.CTPath, loaded by from_checkpoint; docs/seg3d.md "Eighth run")
        if zeroed is None:
            zeroed = ("spect",) if float(s.get("modality_dropout", 0.0)) >= 1.0 else ()
        self.zeroed, self.ct_path = tuple(zeroed), None

    @classmethod
    def from_checkpoint(cls, source: str | Path, **kwargs) -> Segmenter3D:
        """Load ``model.safetensors`` + ``model.json`` from a run or checkpoint folder
        (``"bundled"``: the bundled segmenter, :func:`~osteoscan.artefacts.seg3d_checkpoint`)."""
        from osteoscan.volumetric.fusion import CTPath

        source = seg3d_checkpoint(source)
        model, card = load_checkpoint(source)
        segmenter = cls(model, card, **kwargs)
        values = (card.settings.get("postprocess") or {}).get("ct_path")
        if values:
            segmenter.ct_path = CTPath.load(segmenter, Path(source), values)
        return segmenter

    def work_input(self, case: Case) -> np.ndarray:
        """The network's input on its grid: the case's channels, ``zeroed`` ones set to 0."""
        image = work_image(case, self.channels, self.spacing, self.hu_window)
        for modality in self.zeroed:
            image[list(channel_indices(self.channels, modality))] = 0.0
        return image

    @torch.no_grad()
    def probabilities(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Softmax class probabilities ``(3, z, y, x)`` and the auxiliary heatmap ``(1, ...)``
        (None for single-task networks) of a model-grid image ``(C, z, y, x)``."""
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
        logits = sliding_window_inference(
            x, roi_size=self.patch, sw_batch_size=self.sw_batch_size, predictor=self.model,
            overlap=self.overlap, mode="gaussian", device="cpu")[0]
        k = len(CLASSES)
        prob = torch.softmax(logits[:k], dim=0).numpy()
        heat = torch.sigmoid(logits[k:k + 1]).numpy() if logits.shape[0] > k else None
        return prob, heat

    def predict(self, case: Case, *, keep_work: bool = False) -> Seg3DResult:
        """Segment one case (its modalities on one grid); see :class:`Seg3DResult`. With a
        CT path in the card, its lesions are added where this network marks none."""
        image = self.work_input(case)
        prob, heat = self.probabilities(image)
        ct = self.ct_path.outputs(case) if self.ct_path is not None else None
        return self.finish(case, image, prob, heat, keep_work=keep_work, ct=ct)

    def finish(self, case: Case, image: np.ndarray, prob: np.ndarray, heat: np.ndarray | None,
               *, keep_work: bool = False, ct: tuple | None = None) -> Seg3DResult:
        """Instances, origin and labels on the source grid from the network's output (split
        from :meth:`predict` so that a post-processing sweep runs the network once); ``ct``:
        the CT path's network output (:meth:`~osteoscan.volumetric.fusion.CTPath.outputs`),
        fused in when given."""
        labels, table = self.grid_instances(case, image, prob, heat)
        in_mask = [t["id"] for t in table if t["in_mask"]]
        masked = labels if self.cut == "all" else np.where(np.isin(labels, in_mask), labels, 0)
        semantic = semantic_labels(prob, self.threshold, masked)
        origin = self.patient_origin(table)
        if ct is not None and self.ct_path is not None:
            labels, semantic, table, origin = self.ct_path.fuse(
                case, labels, semantic, table, origin, ct)
        work = {"prob": prob, "labels": labels, "image": image} if keep_work else {}
        return Seg3DResult(
            semantic=resize(semantic[None], case.shape, labels=True)[0].astype(np.uint8),
            instances=resize(labels[None], case.shape, labels=True)[0].astype(np.int32),
            lesions=table, origin_p_lung=origin, work=work)

    def grid_instances(self, case: Case, image: np.ndarray, prob: np.ndarray,
                       heat: np.ndarray | None) -> tuple[np.ndarray, list[dict]]:
        """The instances on the model's grid after the card's post-processing (size,
        lesion model, ``in_mask``), with P(lung) and centres in mm."""
        work_mm = (self.spacing,) * 3
        names = check_channels(self.channels)
        labels, table = find_instances(prob, heat, image, work_mm, names,
                                       self.threshold, self.min_voxels)
        add_origin_features(image, labels, table, names, self.hu_window)
        labels, table = cut_instances(labels, table, self.lesion_model, self.min_p_lesion,
                                      self.cut)
        if self.origin is not None and table:
            p = self.origin.predict_proba(instance_matrix(table, self.origin.names))
            for t, v in zip(table, p, strict=True):
                t["p_lung"] = float(v)
        scale = np.array(case.spacing_mm) * np.array(case.shape) / np.array(labels.shape)
        for t in table:
            t["centre_mm"] = [float(c * s) for c, s in zip(t["centre_vox"], scale, strict=True)]
        return labels, table

    @property
    def origin_patient(self) -> OriginModel | None:
        """The card's patient-level origin model (session 7, docs/seg3d.md), or None: a card
        without it averages the instances' P(lung) as before."""
        values = self.card.settings.get("origin_patient")
        return OriginModel.from_dict(values) if values else None

    def patient_origin(self, table: list[dict]) -> float:
        """The patient's P(lung): the card's patient-level model when it has one, else the
        mean of the instances' P(lung) (:func:`~osteoscan.volumetric.instances.patient_origin`)."""
        model = self.origin_patient
        if model is None:
            return patient_origin(table, self.origin_over)
        return patient_probability(table, model, feature_names(check_channels(self.channels)),
                                   self.origin_over)
