"""The Predictor: one bone scan in; probabilities, decision, Grad-CAM heatmaps, hotspots out.

Example:
    >>> import osteoscan as osc                                  # doctest: +SKIP
    >>> scan = osc.load_study("study.dcm")                       # doctest: +SKIP
    >>> result = osc.Predictor.default().predict(scan)           # doctest: +SKIP
    >>> result.probability, result.decision                      # doctest: +SKIP
    (0.91, 'metastasis')

The heatmap is computed in the model's input space and mapped back onto each view
(:mod:`osteoscan.explain.mapping`): with "stack" preprocessing both views share one map;
with "aggregate" preprocessing the one map is drawn on the anterior view and carried onto
the posterior view through the alignment used to build the aggregate.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from osteoscan.artefacts import decide
from osteoscan.artefacts import paths as artefact_paths
from osteoscan.evaluation.io import NEGATIVE_NAMES, label_key
from osteoscan.explain.gradcam import GradCam
from osteoscan.explain.mapping import heatmap_to_views
from osteoscan.preprocessing.geometry import Geometry
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

REFERENCE_DIR = artefact_paths.REFERENCE_DIR
"""Where the bundled reference model lives (defined in :mod:`osteoscan.artefacts.paths`)."""

# NEGATIVE_NAMES (from osteoscan.evaluation.io, one list for evaluation and inference): class
# names read as "no metastasis" when a multi-class card has no positive class.


@dataclass(frozen=True, eq=False)
class Prediction:
    """What the Predictor says about one study.

    Attributes:
        study_id: the scan's study id.
        patient_id: the scan's patient id.
        probability: probability of metastasis, 0..1 (binary: P(positive class);
            multi-class: 1 - P(negative class)).
        probabilities: class name -> probability (softmax; sums to 1).
        decision: the class decided: binary, positive when ``probability >= threshold``;
            multi-class, the most probable class.
        positive: True when the decision is a metastasis class.
        threshold: the model card's operating threshold (None for multi-class).
        heatmaps: view name -> float32 (rows, cols) Grad-CAM in 0..1 ({} when disabled).
        heatmap_class: the class the heatmaps explain.
        hotspots: detected hotspots (empty until a lesion analyzer is attached).
        bsi: Bone Scan Index in % of skeletal mass (None without a lesion analyzer).
        lesions: the lesion analyzer's full result (regions table...), or None.
        model: model card summary (architecture, classes, threshold, source...).
        explain: how the heatmaps were made (layer, method, mapping).
        timings: seconds per stage (preprocess, forward_gradcam, map, lesions).
    """

    study_id: str
    patient_id: str
    probability: float
    probabilities: dict[str, float]
    decision: str
    positive: bool
    threshold: float | None
    heatmaps: dict[str, np.ndarray] = field(default_factory=dict)
    heatmap_class: str = ""
    hotspots: list[Hotspot] = field(default_factory=list)
    bsi: float | None = None
    lesions: Any = None
    model: dict = field(default_factory=dict)
    explain: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def heatmap_peaks(self) -> dict[str, tuple[int, int]]:
        """(row, col) of each view's heatmap maximum."""
        return {v: tuple(int(i) for i in np.unravel_index(int(h.argmax()), h.shape))
                for v, h in self.heatmaps.items()}


def _negative_index(classes: list[str], positive: str | None) -> int:
    if positive in classes and len(classes) == 2:
        return 1 - classes.index(positive)
    for i, name in enumerate(classes):
        if label_key(name) in {label_key(n) for n in NEGATIVE_NAMES}:
            return i
    return 0


def _bundled_lesion_stage() -> Any:
    """The best bundled lesion stage (:func:`osteoscan.lesions.patient.bundled_lesion_stage`)."""
    from osteoscan.lesions.patient import bundled_lesion_stage

    return bundled_lesion_stage()


def _agreeing(lesions: Any, probability: float, positive: bool, hotspots: list,
              bsi: float | None) -> tuple[list, float | None, Any]:
    """The lesion stage's answer made to agree with the image model's decision (one coherent
    answer per study, :func:`osteoscan.lesions.analyzer.agreeing`); another analyzer's result
    type is left as it is."""
    from osteoscan.lesions.analyzer import LesionResult, agreeing

    if not isinstance(lesions, LesionResult):
        return hotspots, bsi, lesions
    out = agreeing(lesions, probability, positive)
    return list(out.hotspots), out.bsi, out


class Predictor:
    """A trained classifier with its model card, ready to analyze scans.

    Args:
        model: the network (eval mode is set here).
        card: its model card (``osteoscan.training.ModelCard`` or an object with the same
            fields: architecture, classes, positive, threshold, preprocess).
        lesion_analyzer: an object with ``.analyze(scan)`` returning a result with
            ``hotspots`` and ``bsi`` (``osteoscan.lesions``), or None.
        gradcam: compute heatmaps (True) or only probabilities (False).
        source: where the weights came from (shown in reports).
        device: torch device.
        cam_layer: dotted module path of the Grad-CAM target layer (default: the card's
            ``explain.gradcam_layer``, else the registry's layer for the architecture, the
            last stage); an earlier stage gives a finer map.
        lesion_decides: the study's probability and decision come from the lesion analyzer
            (its ``probability`` and ``decision_threshold``) instead of the image model, so
            that probability, decision, hotspots and BSI are one pipeline's answer; the
            image model's probability is kept in ``Prediction.model["image_probability"]``.
    """

    def __init__(self, model: torch.nn.Module, card: Any, *, lesion_analyzer: Any = None,
                 gradcam: bool = True, source: str = "", device: str = "cpu",
                 cam_layer: str | None = None, lesion_decides: bool = False) -> None:
        from osteoscan.preprocessing import PreprocessConfig, build_pipeline

        self.model = model.to(device).eval()
        self.card = card
        self.device = device
        self.source = source
        self.lesion_analyzer = lesion_analyzer
        self.lesion_decides = bool(lesion_decides and lesion_analyzer is not None)
        self.classes = list(card.classes)
        self.pre = PreprocessConfig.from_dict(dict(card.preprocess or {}))
        self.pipeline = build_pipeline(self.pre, None)
        self._neg = _negative_index(self.classes, getattr(card, "positive", None))
        self.cam = self._make_cam(cam_layer) if gradcam else None

    def _make_cam(self, layer: str | None = None) -> GradCam:
        from osteoscan.models import model_info, tokens_to_grid

        info = model_info(self.card.architecture)
        reshape = None
        if info.is_transformer:
            name, model = self.card.architecture, self.model
            reshape = lambda t: tokens_to_grid(model, name, t)  # noqa: E731
        card_layer = (getattr(self.card, "explain", None) or {}).get("gradcam_layer")
        self.cam_layer = layer or card_layer or info.gradcam_layer
        return GradCam(self.model, self.cam_layer, reshape=reshape)

    @classmethod
    def from_path(cls, source: str | Path, *, lesions: bool = True, **kwargs: Any) -> Predictor:
        """Load a run folder, checkpoint folder, ``model.safetensors`` or ``model.json``.

        Like :meth:`default`, the predictor gets the best bundled lesion stage (hotspots,
        skeletal regions, BSI; docs/lesions.md) when it is installed, so that
        ``predict(scan).lesions`` is filled: the hotspot-first detector, else the lesion
        networks. This model decides the study, and the lesion stage's answer is made to
        agree with its decision (:func:`osteoscan.lesions.analyzer.agreeing`). Opt out with
        ``lesions=False`` (image-level probability and Grad-CAM only), or pass your own
        ``lesion_analyzer=...``.

        Args:
            source: the model to load.
            lesions: attach the bundled lesion stage (ignored when ``lesion_analyzer`` is
                given; None there also opts out).
            **kwargs: the other :class:`Predictor` arguments.

        Raises:
            ModelError: nothing loadable there.
        """
        from osteoscan.training import load_checkpoint

        if "lesion_analyzer" not in kwargs:
            kwargs["lesion_analyzer"] = _bundled_lesion_stage() if lesions else None
        model, card = load_checkpoint(source)
        return cls(model, card, source=str(source), **kwargs)

    @classmethod
    def default(cls, **kwargs: Any) -> Predictor:
        """The bundled reference model (``src/osteoscan/assets/reference``) with the bundled
        hotspot-first detector deciding the study (docs/lesions.md); without the detector's
        files, the bundled lesion stage is attached and the image model decides.

        Raises:
            ModelError: the reference weights are not installed.
        """
        ref = artefact_paths.require_reference()
        if "lesion_analyzer" not in kwargs and kwargs.get("lesions", True):
            kwargs["lesion_analyzer"] = _bundled_lesion_stage()  # osteoscan.lesions
            # the detector decides the study; the lesion networks do not
            kwargs.setdefault("lesion_decides",
                              hasattr(kwargs["lesion_analyzer"], "decision_threshold"))
        return cls.from_path(ref, **kwargs)

    def _target(self, logits: torch.Tensor) -> list[int]:
        """Class each heatmap explains: the positive class (binary) or the most probable
        metastasis class (multi-class)."""
        if self.card_is_binary:
            return [self.classes.index(self.card.positive)] * len(logits)
        masked = logits.clone()
        masked[:, self._neg] = -torch.inf
        return masked.argmax(dim=1).tolist()

    @property
    def card_is_binary(self) -> bool:
        """True for a two-class card with a positive class."""
        return len(self.classes) == 2 and getattr(self.card, "positive", None) in self.classes

    def predict(self, scan: BoneScan) -> Prediction:
        """Analyze one scan.

        Args:
            scan: the study (both views, or one).

        Returns:
            :class:`Prediction`.
        """
        t0 = time.perf_counter()
        x, geometry = self._prepare(scan)
        t1 = time.perf_counter()
        if self.cam is not None:
            out = self.cam(x, self._target)
            logits, cam, target = out.logits, out.heatmaps[0], out.targets[0]
            method = out.method
        else:
            with torch.no_grad():
                logits = self.model(x).float()
            cam, target, method = None, self._target(logits)[0], ""
        t2 = time.perf_counter()
        heatmaps = heatmap_to_views(cam, geometry, scan) if cam is not None else {}
        t3 = time.perf_counter()
        hotspots, bsi, lesions = self._lesions(scan)
        t4 = time.perf_counter()
        probs = torch.softmax(logits[0], dim=0).numpy().astype(float)
        return self._result(scan, probs, heatmaps, target, hotspots, bsi, lesions, method,
                            geometry, {"preprocess": t1 - t0, "forward_gradcam": t2 - t1,
                                       "map": t3 - t2, "lesions": t4 - t3})

    def _prepare(self, scan: BoneScan) -> tuple[torch.Tensor, Geometry]:
        prepared = self.pipeline.prepare(scan)  # its geometry record serves the heatmap mapping
        arr = self.pipeline.finish(prepared, None)
        x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None].to(self.device)
        return x, prepared.geometry

    def _lesions(self, scan: BoneScan) -> tuple[list[Hotspot], float | None, Any]:
        if self.lesion_analyzer is None:
            return [], None, None
        res = self.lesion_analyzer.analyze(scan)
        return list(getattr(res, "hotspots", [])), getattr(res, "bsi", None), res

    def _result(self, scan: BoneScan, probs: np.ndarray, heatmaps: dict, target: int,
                hotspots: list, bsi: float | None, lesions: Any, method: str,
                geometry: Geometry, timings: dict) -> Prediction:
        prob = float(1.0 - probs[self._neg])
        thr = getattr(self.card, "threshold", None) if self.card_is_binary else None
        summary = self.summary()
        if self.lesion_decides and lesions is not None and self.card_is_binary:
            routed = getattr(self.lesion_analyzer, "for_scan", None)  # picture variant
            answered = routed(scan) if routed else self.lesion_analyzer
            variant = ", picture variant" if answered is not self.lesion_analyzer else ""
            card = getattr(answered, "card", None) or {}
            for key, what in (("site_adaptation", "refitted with"),  # osteoscan lesions adapt
                              ("site_calibration", "site threshold from")):  # ... calibrate
                if (card.get(key) or {}).get("normals"):
                    variant += f", {what} {card[key]['normals']} site normals"
                    summary[key] = card[key]
            summary.update(image_probability=float(probs[self.classes.index(self.card.positive)]),
                           decided_by=f"lesion analyzer (hotspot-first detector{variant})")
            pos = self.classes.index(self.card.positive)
            thr = float(answered.decision_threshold)
            probs = np.zeros(len(self.classes))
            probs[pos], probs[1 - pos] = lesions.probability, 1.0 - lesions.probability
        if self.card_is_binary:
            prob = float(probs[self.classes.index(self.card.positive)])
        # the threshold that decided the lesion stage's answer decides the study's
        rule = replace(self.card, threshold=thr) if self.lesion_decides else self.card
        decision = str(decide(rule, np.asarray(probs)[None])[0])
        if not self.lesion_decides and self.card_is_binary:
            hotspots, bsi, lesions = _agreeing(lesions, prob, decision != self.classes[self._neg],
                                               hotspots, bsi)
        return Prediction(
            study_id=scan.study_id, patient_id=scan.patient_id, probability=prob,
            probabilities={c: float(p) for c, p in zip(self.classes, probs)},
            decision=decision, positive=decision != self.classes[self._neg],
            threshold=None if thr is None else float(thr), heatmaps=heatmaps,
            heatmap_class=self.classes[target], hotspots=hotspots, bsi=bsi, lesions=lesions,
            model=summary,
            explain={"layer": getattr(self, "cam_layer", ""), "method": method,
                     "mapping": geometry.mode, "input_size": list(geometry.input_hw)},
            timings=timings,
        )

    def summary(self) -> dict:
        """Model card facts shown in reports and JSON."""
        c = self.card
        return {
            "architecture": c.architecture, "classes": self.classes,
            "positive": getattr(c, "positive", None), "threshold": getattr(c, "threshold", None),
            "threshold_rule": getattr(c, "threshold_rule", ""),
            "preprocess": dict(getattr(c, "preprocess", {}) or {}),
            "metrics": dict(getattr(c, "metrics", {}) or {}),
            "data": dict(getattr(c, "data", {}) or {}),
            "created": getattr(c, "created", ""), "source": self.source,
            "notes": getattr(c, "notes", ""),
        }
