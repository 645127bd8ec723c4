"""The hotspot-first detector on a user's annotated cohort (``osteoscan lesions cv --stage detector``).

The candidates of a study (:func:`osteoscan.lesions.patient.study_arrays`) do not depend on
any fitted model, so each study is reduced once to a *cohort record* (:func:`cohort_record`)
and every fold fits and scores on records; the scans are not kept.

Definitions (docs/lesions.md, "Cross-validating the detector"):

* **Lesion box.** Each annotated lesion on each view has a box in view pixels: the box drawn
  (LabelMe rectangles and polygons, mapped from the picture) or, without one, the bounding box
  of its outline (simulated lesions). A candidate's peak pixel is *in* the box when the
  pixel's square overlaps the box (:func:`peaks_in_boxes`).
* **Candidate truth.** A candidate is positive when its peak is in the box of a malignant
  lesion on its view (also when it is in a benign box too: the malignant one wins); a peak in
  benign boxes only, or in no box, is negative (:func:`candidate_truth`). Unannotated hotspots
  are negatives because a user's annotations mark the lesions a reader called: an uptake
  nobody boxed was read as not a lesion, or as not worth naming.
* **Lesion score.** An annotated box scores the highest probability (the detector's last
  stage, not capped at the patient's) among the candidates whose peak is in it
  (:func:`box_scores`). A box that holds no candidate's peak scores the candidate forced at its
  hottest pixel (:func:`forced_candidates`: the candidates found again with that extra seed,
  features and stages as for any candidate; its region stays ``undetected``); 0 only when
  even that seed makes no hotspot (its pixel not above the local bone background). Forced
  candidates serve these box scores only: never the candidate truth, the fitting or the
  patient probability.
* **Patient score.** The fold detector's calibrated patient probability, as ``analyze`` gives
  it; ``predicted`` uses the fold detector's own decision threshold.

Fitting (:func:`fit_fold`) goes through :func:`osteoscan.lesions.detector_train.fit_variants`
(the one training path), design ``stack_bsi``, with the bundled detector's region table,
count band and BSI trees (a cohort has no BSI truth), calibrated on the training folds'
out-of-fold probabilities:

* ``init="scratch"``: both tree stages and the patient model from the cohort alone, on the
  context columns the bundled detector takes (its records carry those);
* ``init="bundled"``: the rule ``CVSettings.bundled_rule`` (default
  :data:`BUNDLED_RULE`, ``"stage2"``, docs/lesions.md "The rule on a site the bundle was not
  fitted to"): ``"patient"`` keeps both bundled tree stages and refits only the patient model
  and its calibration;
  ``"none"`` uses the bundled detector untouched (within noise of ``"patient"`` on the tuning
  profile ``profile_14``: 0.009 and 0.003 of patient AUC higher, p 0.16 and 0.19);
  ``"stage2"`` keeps the bundled first stage and fits a cohort second stage on top
  of its probabilities (the bundled judgement is an input of the cohort forest, the trees'
  counterpart of a warm start) and the patient model.

**Domain.** A cohort of screen pictures (most studies captures or exports,
:func:`osteoscan.lesions.candidates.is_picture`) starts from the bundled picture-domain
variant, as ``analyze`` would answer those studies; any other cohort from the count detector
(:func:`cohort_base`; a mixed cohort is named in a warning: one fold detector has one set of
trees).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from osteoscan.errors import ConfigError
from osteoscan.lesions.candidates import is_picture
from osteoscan.lesions.cohort import box_text, lesion_box, picture_box, study_positive
from osteoscan.lesions.detector_train import arrays, calibrate, fit_patient, fit_variants
from osteoscan.lesions.patient import HotspotDetector
from osteoscan.lesions.studies import LesionStudy
from osteoscan.skeleton import REGIONS

logger = logging.getLogger(__name__)

BUNDLED_RULES = ("stage2", "patient", "none")
BUNDLED_RULE = "stage2"
"""What ``--init bundled`` keeps of the bundled detector: its first tree stage, with a second
stage, the patient model and calibration fitted on the cohort (docs/lesions.md, "The rule on
a site the bundle was not fitted to": on an independent phantom it lifted the out-of-fold
patient AUC from 0.703 with ``patient`` to 0.932, and cost at most 0.011 elsewhere, within
the rule written before those runs)."""

TINY_HGB = {"max_iter": 20, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 5,
            "l2_regularization": 1.0, "early_stopping": False, "max_bins": 15}
"""Small forests for smoke runs and tests (``--tiny``). Few bins: with sample weights,
scikit-learn finds each bin edge by a weighted percentile of its own (about 13 s per fit on the
shared machine at the default 255 bins, whatever the number of rows)."""


def cohort_base(base: HotspotDetector, studies: Sequence[LesionStudy]) -> HotspotDetector:
    """The detector a cohort starts from: ``base``'s picture-domain variant when more than
    half of the studies are screen pictures and ``base`` has one, else ``base`` (module
    docstring, "Domain")."""
    pictures = sum(is_picture(st.scan) for st in studies)
    chosen = base.picture if base.picture is not None and 2 * pictures > len(studies) else base
    if 0 < pictures < len(studies):
        domain = "picture" if chosen is not base else "count"
        logger.warning("the cohort mixes %d screen pictures with %d count studies: every fold "
                       "starts from the %s-domain detector", pictures, len(studies) - pictures,
                       domain)
    return chosen


def peaks_in_boxes(view: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                   box_view: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Bool (candidates, boxes): candidate i's peak pixel (``rows``, ``cols``; ``view`` 0
    anterior, 1 posterior) overlaps box j (``x0, y0, x1, y1`` in pixel edges, on view
    ``box_view[j]``). Pixel (r, c) covers [c, c + 1) x [r, r + 1)."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    r, c = np.asarray(rows, float)[:, None], np.asarray(cols, float)[:, None]
    x0, y0, x1, y1 = (boxes[None, :, k] for k in range(4))
    same = np.asarray(view)[:, None] == np.asarray(box_view)[None, :]
    return same & (c < x1) & (c + 1 > x0) & (r < y1) & (r + 1 > y0)


def candidate_truth(inside: np.ndarray, malignant: np.ndarray) -> np.ndarray:
    """1 for a candidate whose peak is in a malignant box (``inside`` from
    :func:`peaks_in_boxes`, ``malignant`` per box), else 0."""
    return (inside & np.asarray(malignant, bool)[None, :]).any(axis=1).astype(int)


def box_scores(inside: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per box: the highest probability among the candidates whose peak is in it (0 for none),
    and the index of that candidate (-1 for none)."""
    masked = np.where(inside, np.asarray(probs, float)[:, None], -1.0)
    best = masked.argmax(axis=0) if len(masked) else np.full(inside.shape[1], -1)
    found = inside.any(axis=0)
    score = np.where(found, masked.max(axis=0) if len(masked) else 0.0, 0.0)
    return score, np.where(found, best, -1)


def _peaks(hotspots) -> tuple[np.ndarray, np.ndarray]:
    """Peak row and column of each candidate."""
    return (np.array([h.features["peak_row"] for h in hotspots], float),
            np.array([h.features["peak_col"] for h in hotspots], float))


def _lesions(st: LesionStudy) -> list[dict]:
    """One entry per annotated lesion and view: its box and label (as ``lesions_oof.csv``)."""
    burden = sum(1 for lab in st.lesion_labels.values() if lab == "malignant")
    out = []
    for view in ("anterior", "posterior"):
        masks = st.lesion_masks.get(view)
        for lid in (sorted(int(i) for i in np.unique(masks) if i > 0) if masks is not None else []):
            box = lesion_box(st, lid, masks == lid)
            out.append({"view": view, "box": box, "label": st.lesion_labels.get(lid, "benign"),
                        "burden": burden, "picture_box": picture_box(st, view, box)})
    return out


def cohort_record(st: LesionStudy, base: HotspotDetector) -> dict:
    """Everything the folds need from one study: the candidates as arrays (found as
    ``base`` finds them: its count band), their truth and region codes (``base``'s region
    table), their peaks, and the annotated lesions."""
    arr, hotspots = base.arrays(st.scan)
    rows, cols = _peaks(hotspots)
    lesions = _lesions(st)
    box_view = np.array([int(les["view"] == "posterior") for les in lesions], int)
    inside = peaks_in_boxes(arr.view, rows, cols, box_view, [les["box"] for les in lesions])
    malignant = np.array([les["label"] == "malignant" for les in lesions], bool)
    return {"X": arr.X, "view": arr.view, "group": arr.group, "head_mm": np.float64(arr.head_mm),
            "y": candidate_truth(inside, malignant), "region": base.codes(arr),
            "label": np.int64(study_positive(st)), "inside": inside, "lesions": lesions,
            "peak": np.column_stack([rows, cols]).reshape(-1, 2),
            "forced": forced_candidates(st, base, lesions, box_view, inside),
            "study_id": st.scan.study_id, "patient_id": st.patient_id}


def forced_candidates(st: LesionStudy, base: HotspotDetector, lesions: list[dict],
                      box_view: np.ndarray, inside: np.ndarray) -> dict | None:
    """The candidates of the study found again with a forced seed at the hottest pixel of every
    box that holds no detected peak (:func:`osteoscan.lesions.candidates.box_peaks`), features
    computed as for any candidate: ``X``, ``view``, ``group``, ``head_mm`` and ``inside``
    (peaks in those boxes only: the forced candidates). None when every box holds a peak.
    Used for those boxes' lesion scores only, never for truth or the patient probability."""
    missing = ~inside.any(axis=0)
    if not missing.any():
        return None
    force = {v: np.array([les["box"] for les, m in zip(lesions, missing, strict=True)
                          if m and les["view"] == v], float).reshape(-1, 4)
             for v in ("anterior", "posterior")}
    arr, hotspots = base.arrays(st.scan, force)
    rows, cols = _peaks(hotspots)
    boxes = [les["box"] for les in lesions]
    return {"X": arr.X, "view": arr.view, "group": arr.group, "head_mm": np.float64(arr.head_mm),
            "inside": peaks_in_boxes(arr.view, rows, cols, box_view, boxes) & missing[None, :]}


def cohort_records(studies: Sequence[LesionStudy], base: HotspotDetector) -> list[dict]:
    """:func:`cohort_record` of every study."""
    return [cohort_record(st, base) for st in studies]


def fit_fold(train: list[dict], init: str, base: HotspotDetector, *, seed: int = 0,
             rule: str = BUNDLED_RULE, tiny: bool = False) -> HotspotDetector:
    """The fold's detector from the training folds' records (module docstring)."""
    fits_trees = init == "scratch" or rule == "stage2"
    if fits_trees and not any(int(r["y"].sum()) for r in train):
        hint = ("; --bundled-rule patient keeps the bundled trees and fits none"
                if init == "bundled" else "; --init bundled --bundled-rule patient fits none")
        raise ConfigError("no detected candidate lies in a malignant annotation in the training "
                          f"folds: the detector cannot learn what is malignant{hint}")
    params = TINY_HGB if tiny else None
    if fits_trees:
        det = fit_variants(train, None, seed=seed, hgb_params=params, variants=("stack_bsi",),
                           base=None if init == "scratch" else base,
                           bsi_model=base.bsi_model,
                           context_features=base.context_features)["stack_bsi"]
    else:
        det = HotspotDetector(base.forest, base.regions, dict(base.card), base.stage2,
                              base.bsi_model, base.patch)
        if rule == "patient":
            probs = [det.score(arrays(r))[0] for r in train]
            fit_patient(det, train, probs, seed)
            calibrate(det, train, probs=probs)
    keep = {k: base.card[k] for k in ("count_band", "count_band_source", "pair_mm") if k in base.card}
    det.card.update(keep, init=init, bundled_rule=rule if init == "bundled" else None,
                    cohort_studies=len(train))
    return det


def score_fold(det: HotspotDetector, records: list[dict], k: int) -> tuple[list[dict], list[dict]]:
    """Rows of ``lesions_oof.csv`` and ``studies_oof.csv`` for the held-out ``records``."""
    lesions, studies = [], []
    for rec in records:
        arr = arrays(rec)
        st = det.stages(arr)
        p = det.patient_probability(arr, st["probability"], st["codes"])
        score, best = box_scores(rec["inside"], st["probability"])
        regions = [REGIONS[int(st["codes"][b])] if b >= 0 else "undetected" for b in best]
        if rec.get("forced") is not None:  # boxes without a detected peak: their forced candidate
            fst = det.stages(arrays(rec["forced"]))
            fscore, fbest = box_scores(rec["forced"]["inside"], fst["probability"])
            score = np.where(best >= 0, score, fscore)  # region stays "undetected"
        for les, s, r in zip(rec["lesions"], score, regions, strict=True):
            lesions.append({"study": rec["study_id"], "patient": rec["patient_id"], "view": les["view"],
                            "box": box_text(les["box"]), "label": les["label"], "probability": float(s),
                            "fold": k, "region": r, "burden": les["burden"],
                            "picture_box": les["picture_box"]})
        studies.append({"study_id": rec["study_id"], "patient_id": rec["patient_id"],
                        "label": "metastasis" if rec["label"] else "normal", "prob_metastasis": p,
                        "predicted": "metastasis" if p >= det.decision_threshold else "normal",
                        "fold": k})
    return lesions, studies
