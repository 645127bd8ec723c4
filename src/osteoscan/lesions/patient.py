"""The hotspot-first detector: candidates -> context -> hotspot malignancy -> the patient.

:class:`HotspotDetector` answers one study with ONE coherent result (a
:class:`osteoscan.lesions.analyzer.LesionResult`):

* every candidate (:mod:`osteoscan.lesions.candidates`) gets the named context vector of
  :mod:`osteoscan.lesions.context` and a malignancy probability from gradient-boosted trees
  (:mod:`osteoscan.lesions.trees`; fitted with scikit-learn, stored without pickle); a
  second stage judges it again beside the first stage's view of the whole patient
  (:mod:`osteoscan.lesions.stacking`, when the detector has ``stage2``);
* its skeletal region comes from a lookup table over body coordinates (``y_body``,
  ``x_body``, view) learned from the simulator's region maps (:class:`RegionLookup`), so the
  region follows the body, not the frame;
* anterior and posterior candidates that are each other's nearest (<= ``PAIR_MM`` after
  alignment) are one lesion (``Hotspot.match``);
* the patient probability is a logistic model of the hotspot set (:data:`PATIENT_FEATURES`:
  top-k probabilities, counts, regions), Platt-calibrated on a held-out site;
* **coherence**: a hotspot's reported probability is capped at the patient's (a lesion cannot
  be malignant in a patient without metastasis); a study decided "normal" has no malignant
  hotspot and a BSI of 0 (its threshold is raised to the decision threshold, above every
  capped probability); a study decided "metastatic" has at least one malignant hotspot
  (those reaching ``hotspot_threshold``, else its most probable lesion);
* BSI (percent) = the expected involved skeletal mass of a study decided metastatic (0 for a
  study decided normal): the sum of every candidate's expected share, from regression trees
  (``bsi_model``, trained on each candidate's true share of the simulator's BSI, or on its
  share per unit area with card ``bsi_target: "per_area"``, :func:`bsi_exposure`) or, for a
  detector without them, from the region rule (P(malignant, capped) x
  ``bsi_weights[region]`` x area / head length squared per distinct lesion;
  :meth:`HotspotDetector.masses`, :mod:`osteoscan.lesions.detector_train`); with the card's
  ``bsi_hotspots: "malignant"`` only the hotspots called malignant (and their A/P partners)
  carry it (docs/lesions.md, "Low counts"); a detector with an ``extent`` model rescales
  those shares to the study's whole extent, which diffuse disease hides from its hotspots
  (:mod:`osteoscan.lesions.study_level`);
* **two domains**: a detector may carry a picture-domain variant (``picture``: the same
  class, trees fitted on screen-export renderings, card ``domain: "picture"``, saved in the
  ``picture/`` subfolder); :meth:`HotspotDetector.analyze` hands it every screen picture
  (:func:`osteoscan.lesions.candidates.is_picture`) and keeps every count study (DICOM NM,
  NIfTI, simulated) for itself (docs/robustness.md, "The picture-domain detector").
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.special import expit

from osteoscan.artefacts import LESION_ASSETS_DIR, atomic_write, atomic_write_text, dumps_json
from osteoscan.errors import ModelError
from osteoscan.lesions.analyzer import LesionAnalyzer, LesionResult, bundled_or_none
from osteoscan.lesions.arrays import (  # noqa: F401  (re-exported: the detector's arrays)
    PAIR_MM,
    StudyArrays,
    bsi_exposure,
    lesion_table,
    study_arrays,
)
from osteoscan.lesions.candidates import is_picture
from osteoscan.lesions.detector_answer import annotated_hotspots, region_rows
from osteoscan.lesions.study_level import (  # noqa: F401  (PATIENT_FEATURES re-exported)
    EXTENT_FEATURES,
    PATIENT_FEATURES,
    extended,
    extent_features,
    patient_features,
)
from osteoscan.lesions.context import FEATURES, REACH_FEATURES, reach_columns
from osteoscan.lesions.structure import STRUCTURE_FEATURES
from osteoscan.lesions.lesion_count import one_per_lesion
from osteoscan.lesions.patches import PATCH_FEATURE
from osteoscan.lesions.region_lookup import RegionLookup
from osteoscan.lesions.stacking import NEAR_BODY, STACK_FEATURES, stack_features
from osteoscan.lesions.trees import Forest, load_forests, save_forests
from osteoscan.skeleton import REGIONS
from osteoscan.types import BoneScan, Hotspot

log = logging.getLogger(__name__)

@dataclass
class HotspotDetector:
    """The fitted detector (module docstring). ``card`` holds every scalar parameter.

    ``forest`` is the first stage (context vector); ``stage2`` (optional) judges each
    candidate again with the patient's context (:mod:`osteoscan.lesions.stacking`);
    ``bsi_model`` (optional) gives each candidate its expected share of the BSI (else the
    card's region weights do, :meth:`masses`)."""

    forest: Forest
    regions: RegionLookup
    card: dict = field(default_factory=dict)
    stage2: Forest | None = None
    bsi_model: Forest | None = None
    patch: object | None = None
    """The patch network (:class:`osteoscan.lesions.patchnet.PatchScorer`) whose probability
    is the first stage's last input (``cnn_p``); None for trees on the context features alone."""
    picture: HotspotDetector | None = None
    """The picture-domain variant that answers screen pictures (module docstring); None:
    this detector answers every study."""
    extent: Forest | None = None
    """The study-level extent model (:mod:`osteoscan.lesions.study_level`) that rescales a study
    decided metastatic to its whole extent; None: the hotspots' BSI as it is."""

    def for_scan(self, scan: BoneScan) -> HotspotDetector:
        """The detector that answers ``scan``: the picture variant for a screen picture
        (:func:`is_picture`), else this one."""
        return self.picture if self.picture is not None and is_picture(scan) else self

    @property
    def decision_threshold(self) -> float:
        """Patient probability at which the study is called metastatic."""
        return float(self.card["decision_threshold"])

    def arrays(self, scan: BoneScan, force: dict[str, np.ndarray] | None = None
               ) -> tuple[StudyArrays, list[Hotspot]]:
        """The scan's candidates as this detector finds them (its pairing distance, count
        band and patches; :func:`study_arrays`, ``force`` included; of the structure columns
        only those it reads, :attr:`structure_read`)."""
        return study_arrays(scan, self.card.get("pair_mm", PAIR_MM), self.card.get("count_band"),
                            patches=self.patch is not None, force=force,
                            reach=bool(self.card.get("bsi_reach")), count_lesions=True,
                            structure=self.structure_read)

    @property
    def structure_read(self) -> tuple[str, ...]:
        """The :data:`STRUCTURE_FEATURES` columns its trees or BSI trees take (only those
        are computed)."""
        names = {*self.context_features, *self.card.get("bsi_features", ())}
        return tuple(k for k in STRUCTURE_FEATURES if k in names)

    def codes(self, arr: StudyArrays) -> np.ndarray:
        """Region code of every candidate (the lookup over body coordinates)."""
        return self.regions.codes(arr)

    @property
    def stack_columns(self) -> list[int]:
        """Columns of :data:`STACK_FEATURES` the second stage and the BSI trees take (the
        card's ``stack_features``; all of them when it names none)."""
        return [STACK_FEATURES.index(n) for n in self.card.get("stack_features", STACK_FEATURES)]

    def stack(self, arr: StudyArrays, p1: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """:func:`stack_inputs` of a study at this detector's neighbourhood radius (the card's
        ``near_body``, else :data:`NEAR_BODY`): every :data:`STACK_FEATURES` column; the
        second stage takes :attr:`stack_columns` of them."""
        return stack_inputs(arr, p1, codes, self.card.get("near_body", NEAR_BODY))

    def stages(self, arr: StudyArrays) -> dict:
        """Every candidate's ``probability`` (the last stage's), ``codes``, and with a second
        stage its ``stack`` features (:data:`STACK_FEATURES`) and first-stage ``p1``."""
        if not len(arr.X):
            return {"probability": np.zeros(0), "codes": np.zeros(0, int),
                    "stack": np.zeros((0, len(STACK_FEATURES)))}
        codes = self.codes(arr)
        X = self.tree_inputs(arr)
        p1 = self.forest.predict_proba(X)
        if self.stage2 is None:
            return {"probability": p1, "codes": codes, "stack": None}
        S = self.stack(arr, p1, codes)
        p = self.stage2.predict_proba(np.hstack([X, S[:, self.stack_columns]]))
        return {"probability": p, "codes": codes, "stack": S, "p1": p1}

    @property
    def context_features(self) -> tuple[str, ...]:
        """The context columns the trees take: the card's ``features`` (``cnn_p`` aside), or
        every :data:`FEATURES` column when the card names none."""
        return tuple(n for n in self.card.get("features", FEATURES) if n != PATCH_FEATURE)

    def _inputs(self, arr: StudyArrays, names: tuple[str, ...]) -> np.ndarray:
        """The context columns ``names`` of ``arr``, then ``cnn_p`` when the detector has a
        patch network (``arr.cnn_p`` if known, else from ``arr.patches``)."""
        X = arr.X if names == FEATURES else arr.X[:, [FEATURES.index(n) for n in names]]
        if self.patch is None:
            return X
        p = arr.cnn_p if arr.cnn_p is not None else self.patch.predict(arr.patches)
        return np.column_stack([X, p])

    def tree_inputs(self, arr: StudyArrays) -> np.ndarray:
        """The first stage's input matrix: the :attr:`context_features` columns (then
        ``cnn_p``, :meth:`_inputs`)."""
        return self._inputs(arr, self.context_features)

    def bsi_inputs(self, arr: StudyArrays) -> np.ndarray:
        """The BSI trees' leading columns: the context columns the card names in
        ``bsi_features``, else the first stage's, so that the BSI trees may read columns the
        malignancy stages leave out."""
        return self._inputs(arr, tuple(self.card.get("bsi_features", self.context_features)))

    def score(self, arr: StudyArrays) -> tuple[np.ndarray, np.ndarray]:
        """Malignancy probability and region code of every candidate."""
        st = self.stages(arr)
        return st["probability"], st["codes"]

    def patient_vector(self, arr: StudyArrays, probs: np.ndarray, codes: np.ndarray
                       ) -> np.ndarray:
        """:data:`PATIENT_FEATURES` of the study's distinct lesions."""
        idx, lp = lesion_table(probs, arr.group)
        names = [REGIONS[int(c)] for c in codes[idx]]
        return patient_features(lp, names, self.card["hotspot_threshold"])

    def patient_probability(self, arr: StudyArrays, probs: np.ndarray, codes: np.ndarray) -> float:
        """Calibrated patient probability from the set of distinct lesions."""
        return self._calibrated(self.patient_vector(arr, probs, codes))

    def _calibrated(self, f: np.ndarray) -> float:
        """The patient model's calibrated probability of the patient vector ``f``."""
        z = float(np.dot(self.card["patient_coef"], (f - np.asarray(self.card["patient_mean"]))
                         / np.asarray(self.card["patient_scale"])) + self.card["patient_intercept"])
        a, b = self.card["platt"]
        return float(expit(a * z + b))  # the logistic without overflow at steep Platt slopes

    def masses(self, arr: StudyArrays, probs: np.ndarray, codes: np.ndarray,
               stack: np.ndarray | None = None) -> np.ndarray:
        """Each candidate's expected share of the BSI (percent) if the study is metastatic.

        With ``bsi_model``: its prediction from the context vector, the stack features and the
        probability, halved when both views are present (each view sees every lesion once).
        Else the region rule: each distinct lesion's P(malignant) x ``bsi_weights[region]`` x
        its larger area / head length squared, on its most probable candidate."""
        out = np.zeros(len(probs))
        if not len(probs):
            return out
        if self.bsi_model is not None and stack is not None:
            cols = [self.bsi_inputs(arr), stack[:, self.stack_columns]]
            if self.card.get("bsi_reach"):
                cols.append(reach_columns(arr.reach))
            per = self.bsi_model.predict(np.hstack([*cols, probs[:, None]]))
            if self.card.get("bsi_target") == "per_area":  # trees of the share per unit area
                per = per * bsi_exposure(arr.X, arr.head_mm)
            return np.maximum(per, 0.0) / max(len(np.unique(arr.view)), 1)
        idx, lp = lesion_table(probs, arr.group)
        area = arr.X[:, FEATURES.index("area_mm2")]
        w = self.card["bsi_weights"]
        for i, q in zip(idx, lp, strict=True):
            a = area[arr.group == arr.group[i]].max()
            out[i] = q * w.get(REGIONS[int(codes[i])], 0.0) * a / arr.head_mm ** 2
        return out

    def decide(self, arr: StudyArrays, probs: np.ndarray, codes: np.ndarray,
               stack: np.ndarray | None = None) -> dict:
        """One coherent answer from the candidates' probabilities (module docstring).

        Returns ``probability``, ``positive``, ``capped`` (each candidate's probability capped
        at the patient's: a lesion cannot be malignant in a patient without metastasis),
        ``threshold`` (at which a capped probability is called malignant), ``lesions`` and
        ``malignant`` (candidate indices of distinct lesions), ``share`` (each candidate's
        share of the BSI were its lesion called malignant, whatever the decision: what
        :func:`~osteoscan.lesions.analyzer.agreeing` sums when another model decides),
        ``mass`` (the shares that count: 0 for a study decided normal), ``bsi`` (their sum)
        and ``counted`` (one candidate of ``malignant`` per lesion of ``arr.joined``: the
        malignant count; all of ``malignant`` without it).
        """
        f = self.patient_vector(arr, probs, codes)
        prob = self._calibrated(f)
        t_h, t_d = self.card["hotspot_threshold"], self.card["decision_threshold"]
        positive = prob >= t_d
        capped = np.minimum(probs, prob)
        idx, lp = lesion_table(capped, arr.group)
        thr = t_h if positive else max(t_h, t_d)
        mal = idx[lp >= thr]
        if positive and not len(mal) and len(idx):  # the lesion that made the decision
            mal, thr = idx[[int(np.argmax(lp))]], float(lp.max())
        share = self.masses(arr, capped, codes, stack)
        mass = share if positive else np.zeros(len(probs))
        if self.card.get("bsi_hotspots") == "malignant":  # the BSI of the called hotspots only
            mass = np.where(np.isin(arr.group, arr.group[mal]), mass, 0.0)
        if positive and self.extent is not None:  # what diffuse disease hides from hotspots
            mass = extended(self.extent, extent_features(
                f, arr.X, arr.view, float(mass.sum()), capped, share), mass)
        counted = mal if arr.joined is None else one_per_lesion(mal, arr.joined, capped)
        return {"probability": prob, "positive": bool(positive), "capped": capped,
                "threshold": float(thr), "lesions": idx, "malignant": mal, "share": share,
                "mass": mass, "bsi": float(mass.sum()), "counted": counted}

    def analyze(self, scan: BoneScan) -> LesionResult:
        """One coherent answer for one study (module docstring; a screen picture is answered
        by the picture variant, :meth:`for_scan`)."""
        if self.for_scan(scan) is not self:
            return self.picture.analyze(scan)
        arr, hotspots = self.arrays(scan)
        if self.patch is not None:
            arr = replace(arr, cnn_p=self.patch.predict(arr.patches))
        st = self.stages(arr)
        codes = st["codes"]
        out = self.decide(arr, st["probability"], codes, st["stack"])
        hotspots = annotated_hotspots(hotspots, arr, out["capped"], codes, st["stack"],
                                      share=out["share"])
        return LesionResult(hotspots=tuple(hotspots), bsi=out["bsi"],
                            probability=out["probability"],
                            lesion_count=len(out["lesions"]), malignant_count=len(out["counted"]),
                            regions=region_rows(codes, out), threshold=out["threshold"])

    def save(self, folder: str | Path) -> None:
        """``hotspot_detector.safetensors`` (trees) + ``.json`` (card, region table); the
        picture variant, if any, into ``folder / PICTURE_DIR``."""
        folder = Path(folder)
        if self.picture is not None:
            self.picture.save(folder / PICTURE_DIR)
        forests = {"": self.forest, "stage2": self.stage2, "bsi": self.bsi_model,
                   "extent": self.extent}
        forests = {k: v for k, v in forests.items() if v is not None}
        atomic_write(folder / "hotspot_detector.safetensors",
                     lambda path: save_forests(path, forests))
        if self.patch is not None:
            self.patch.save(folder / PATCH_STEM)
        card = {**self.card, "features": [*self.context_features,
                                          *([PATCH_FEATURE] if self.patch is not None else [])],
                "patient_features": list(PATIENT_FEATURES),
                "forests": sorted(forests), "region_table": self.regions.table.tolist()}
        if self.stage2 is not None:
            card["stack_features"] = [STACK_FEATURES[k] for k in self.stack_columns]
        if self.extent is not None:
            card["extent_features"] = list(EXTENT_FEATURES)
        atomic_write_text(folder / "hotspot_detector.json", dumps_json(card, default=float))

    @classmethod
    def load(cls, folder: str | Path) -> HotspotDetector:
        """Read a detector written by :meth:`save`.

        Raises:
            ModelError: missing files, or a card that names a feature this code does not
                compute.
        """
        folder = Path(folder)
        try:
            card = json.loads((folder / "hotspot_detector.json").read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"{folder / 'hotspot_detector.json'}: unreadable card ({exc})") from exc
        features = tuple(card.get("features", ()))
        with_patch = features[-1:] == (PATCH_FEATURE,)
        context = features[:-1] if with_patch else features
        if not context or not set(context) | set(card.get("bsi_features", ())) <= set(
                FEATURES) or not set(
                card.get("stack_features", ())) <= set(STACK_FEATURES) or tuple(
                card.get("bsi_reach") or REACH_FEATURES) != REACH_FEATURES:
            raise ModelError(f"{folder}: the detector's features differ from this version's")
        names = card.get("forests", [""])
        if "bsi" not in names and "bsi_weights" not in card:
            raise ModelError(f"{folder}: a detector card of an older version (no BSI model); "
                             "rebuild it with scripts/build_detector.py")
        if "extent" in names and card.get("extent_features") != list(EXTENT_FEATURES):
            raise ModelError(f"{folder}: the extent model's features differ from this version's")
        table = np.asarray(card.pop("region_table", []), dtype=np.uint8)
        if table.shape != RegionLookup.shape():
            raise ModelError(f"{folder}: region table of shape {table.shape}, expected "
                             f"{RegionLookup.shape()}")
        f = load_forests(folder / "hotspot_detector.safetensors", names)
        patch = None
        if with_patch:  # torch only for a detector with a patch network
            from osteoscan.lesions.patchnet import PatchScorer

            patch = PatchScorer.load(folder / PATCH_STEM)
        return cls(f[""], RegionLookup(table), card, f.get("stage2"), f.get("bsi"), patch,
                   _picture_variant(folder / PICTURE_DIR), f.get("extent"))


PATCH_STEM = "hotspot_patch"
"""File stem of the detector's patch network beside its trees (``.safetensors`` + ``.json``)."""
PICTURE_DIR = "picture"
"""Subfolder of a detector's files that holds its picture-domain variant (same format)."""


def _picture_variant(folder: Path) -> HotspotDetector | None:
    """The picture variant saved in ``folder``, or None: none there, or one this code cannot
    use (features changed since it was built: rebuild it with ``build_detector.py
    --picture``); pictures are then answered by the count detector, which still loads."""
    return _detector_or_none(folder, "picture variant disabled, pictures go to the count "
                                     "detector", missing=None)


def _detector_or_none(folder: Path, disabled: str,
                      missing: str | None = "no bundled hotspot detector in %s"
                      ) -> HotspotDetector | None:
    """The detector saved in ``folder``; None when it has none (``missing`` logged at info,
    None: silently) or when this code cannot load it (a warning starting with ``disabled``)."""
    if not (folder / "hotspot_detector.json").is_file():
        if missing:
            log.info(missing, folder)
        return None
    try:
        return HotspotDetector.load(folder)
    except ModelError as exc:
        log.warning("%s: %s", disabled, exc)
        return None


def stack_inputs(arr: StudyArrays, p1: np.ndarray, codes: np.ndarray,
                 near_body: float = NEAR_BODY) -> np.ndarray:
    """:data:`STACK_FEATURES` of a study's candidates from their first-stage probabilities
    (``near_body``: the neighbourhood's radius, :func:`stack_features`)."""
    return stack_features(p1, arr.view, arr.group, codes, arr.X[:, FEATURES.index("y_body")],
                          arr.X[:, FEATURES.index("x_body")], near_body)


def bundled_detector_or_none() -> HotspotDetector | None:
    """The bundled detector (``osteoscan/assets/lesions/hotspot_detector.*``), or None when
    its files are not installed (logged)."""
    return _detector_or_none(LESION_ASSETS_DIR, "hotspot detector disabled")


def bundled_lesion_stage():
    """The best bundled lesion stage: the hotspot-first detector, else the lesion networks
    (``LesionAnalyzer``), else None when neither is installed (what ``Predictor.default()``
    attaches and ``osteoscan lesions evaluate/show`` score by default)."""
    detector = bundled_detector_or_none()
    if detector is not None:
        return detector
    return bundled_or_none()


def load_lesion_stage(folder: str | Path, *, threads: int | None = None):
    """Your own lesion stage from ``folder``: a hotspot-first detector where it holds
    ``hotspot_detector.json`` (a fold of ``osteoscan lesions cv --stage detector``), else the three
    networks (``lesions train``, ``lesions cv --stage cnn``).

    Raises:
        ModelError: a file is missing or invalid.
    """
    if (Path(folder) / "hotspot_detector.json").is_file():
        return HotspotDetector.load(folder)
    return LesionAnalyzer.load(folder, threads=threads)
