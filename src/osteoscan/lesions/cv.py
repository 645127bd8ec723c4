"""Cross-validating the lesion stage on a user's own annotated cohort (``osteoscan lesions cv``).

Folds are grouped by patient and stratified by the study's label
(:func:`osteoscan.data.splits.kfold_splits`, scikit-learn's ``StratifiedGroupKFold``). Two
stages can be cross-validated (``CVSettings.stage``), with the same folds and output files:

* ``"detector"`` (default; the hotspot-first detector ``Predictor.default()`` ships): in each
  fold the detector is fitted on the other folds' studies, from the bundled detector or from
  scratch (:mod:`osteoscan.lesions.detector_cv`: candidate truth, the score of an annotated
  box, the ``bundled`` rule), and every held-out box and study is scored;
* ``"cnn"`` (the three networks): in each fold they are trained on the other folds through the
  one training loop (:func:`osteoscan.lesions.pipeline.fit_stage`), starting from the bundled
  models (``init="bundled"``, fine-tuning) or from scratch, and the held-out studies are
  scored: every annotated lesion by the fold's classifier (its outline as drawn; lesion
  level), every study by the whole fold stage (hotspot U-Net, regions, classifier, noisy-OR
  patient probability; patient level), as on a new study without annotations.

Layout of the output folder::

    DIR/cv.json                      settings, the study -> fold assignment
    DIR/folds/fold-<k>/models/       the fold's models: three networks (cnn, LesionAnalyzer.load)
                                     or a hotspot detector (detector, HotspotDetector.load)
    DIR/models/                      detector stage: the final detector, fitted on every study
    DIR/folds/fold-<k>/lesions.csv   its held-out lesions; studies.csv its held-out studies
    DIR/lesions_oof.csv              study, patient, view, box, label, probability, fold, region,
                                     burden, picture_box (screen captures: the box on the picture)
    DIR/studies_oof.csv              the predictions format (docs/results-layout.md): osteoscan evaluate
    DIR/summary.json                 lesion_auc, patient_auc (patient-bootstrap CIs), ...

A fold whose two CSV files exist is skipped with ``resume=True``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import atomic_write_json, to_jsonable
from osteoscan.csvsafe import restore_frame
from osteoscan.errors import ConfigError
from osteoscan.evaluation.statistics import auc_ci, bootstrap_block
from osteoscan.lesions.compare import BURDEN_GROUPS
from osteoscan.lesions.cohort import box_text, lesion_box, picture_box, study_positive
from osteoscan.lesions.detector_cv import BUNDLED_RULE, BUNDLED_RULES
from osteoscan.lesions.studies import LesionStudy
from osteoscan.lesions.training import truth_hotspots
from osteoscan.training.predict import write_predictions

log = logging.getLogger(__name__)

INITS = ("bundled", "scratch")
STAGES = ("detector", "cnn")
DEFAULT_STAGE = "detector"
"""The stage ``lesions cv`` cross-validates by default: the one ``Predictor.default()`` ships,
which also scored higher on the tuning profile (docs/lesions.md, "Which stage")."""
STUDY_COLUMNS = ["study_id", "patient_id", "label", "prob_metastasis", "predicted", "fold"]
LESION_COLUMNS = ["study", "patient", "view", "box", "label", "probability", "fold", "region", "burden",
                  "picture_box"]


@dataclass(frozen=True)
class CVSettings:
    """What a cross-validation run does (written to ``cv.json``; ``resume`` checks it).

    Attributes:
        folds: number of patient-grouped folds.
        init: "bundled" (start from the bundled models) or "scratch".
        stage: "detector" (the hotspot-first detector, :mod:`osteoscan.lesions.detector_cv`) or
            "cnn" (the three networks).
        bundled_rule: what ``init="bundled"`` keeps of the bundled detector
            (:data:`osteoscan.lesions.detector_cv.BUNDLED_RULES`).
        seed: fold and training seed.
        seg_epochs, region_epochs, clf_epochs: epochs of the three networks per fold (cnn).
        tiny: tiny networks or forests (scratch networks only; smoke runs and tests).
        threshold: lesion and study probability called malignant / metastatic.
        n_boot: patient-bootstrap replicates of the CIs.
    """

    folds: int = 5
    init: str = "bundled"
    stage: str = DEFAULT_STAGE
    bundled_rule: str = BUNDLED_RULE
    seed: int = 0
    seg_epochs: int = 12
    region_epochs: int = 12
    clf_epochs: int = 15
    tiny: bool = False
    threshold: float = 0.5
    n_boot: int = 2000

    def __post_init__(self):
        if self.init not in INITS:
            raise ConfigError(f"--init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.stage not in STAGES:
            raise ConfigError(f"--stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        if self.bundled_rule not in BUNDLED_RULES:
            raise ConfigError(f"--bundled-rule must be one of {', '.join(BUNDLED_RULES)}, "
                              f"got {self.bundled_rule!r}")
        if self.folds < 2:
            raise ConfigError(f"--folds must be >= 2, got {self.folds}")


def assign_folds(studies: Sequence[LesionStudy], folds: int, seed: int) -> np.ndarray:
    """Fold index per study: patient-grouped, stratified by :func:`study_positive`."""
    return fold_index([study_positive(st) for st in studies], [st.patient_id for st in studies],
                      folds, seed)


def fold_index(positive: Sequence[int], patients: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold index per study from its label and patient (patient-grouped, stratified)."""
    from osteoscan.data.splits import kfold_splits

    if len(set(patients)) < folds:
        raise ConfigError(f"--folds {folds} needs at least {folds} patients; the cohort has "
                          f"{len(set(patients))}")
    out = np.full(len(patients), -1)
    for k, split in enumerate(kfold_splits([str(int(v)) for v in positive], list(patients), k=folds,
                                           val_fraction=0.0, seed=seed)):
        out[split.test] = k
    return out


def lesion_rows(analyzer, st: LesionStudy, fold: int) -> list[dict]:
    """One row per annotated lesion of ``st`` (both views), scored by ``analyzer``'s classifier."""
    maps = st.region_maps if st.region_maps is not None else analyzer.regions.predict(st.scan)
    hs = [h for v in truth_hotspots(st, maps).values() for h in v]
    probs = analyzer.classifier.predict(st.scan, hs)
    burden = sum(1 for lab in st.lesion_labels.values() if lab == "malignant")
    rows = []
    for h, p in zip(hs, probs, strict=True):
        lid = int(h.features["label_id"])
        box = lesion_box(st, lid, h.mask)
        rows.append({"study": st.scan.study_id, "patient": st.patient_id, "view": h.view,
                     "box": box_text(box), "label": st.lesion_labels.get(lid, "benign"),
                     "probability": float(p), "fold": fold, "region": h.region, "burden": burden,
                     "picture_box": picture_box(st, h.view, box)})
    return rows


def _fold_dir(out: Path, k: int) -> Path:
    return out / "folds" / f"fold-{k}"


def _save_fold(out: Path, k: int, lesions: list[dict], rows: list[dict]) -> None:
    write_predictions(pd.DataFrame(lesions, columns=LESION_COLUMNS), _fold_dir(out, k) / "lesions.csv")
    write_predictions(pd.DataFrame(rows, columns=STUDY_COLUMNS), _fold_dir(out, k) / "studies.csv")


def run_fold(studies: Sequence[LesionStudy], fold: np.ndarray, k: int, settings: CVSettings,
             out: Path, progress: Callable | None = None) -> None:
    """CNN stage: train on the folds other than ``k``, score fold ``k``; write its CSVs and models."""
    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.bundle import ASSETS
    from osteoscan.lesions.pipeline import fit_stage, save_stage

    train = [st for st, f in zip(studies, fold, strict=True) if f != k]
    test = [st for st, f in zip(studies, fold, strict=True) if f == k]
    # a fresh copy per fold (fine-tuning changes it in place); the caller's torch threads stay
    init = LesionAnalyzer.load(ASSETS, threads=None) if settings.init == "bundled" else None
    analyzer = fit_stage(train, init=init, seg_epochs=settings.seg_epochs,
                         region_epochs=settings.region_epochs, clf_epochs=settings.clf_epochs,
                         tiny=settings.tiny and init is None, seed=settings.seed + k,
                         progress=progress)
    save_stage(analyzer, _fold_dir(out, k) / "models")
    lesions, rows = [], []
    for st in test:
        lesions += lesion_rows(analyzer, st, k)
        p = float(analyzer.analyze(st.scan).probability)
        rows.append({"study_id": st.scan.study_id, "patient_id": st.patient_id,
                     "label": "metastasis" if study_positive(st) else "normal", "prob_metastasis": p,
                     "predicted": "metastasis" if p >= settings.threshold else "normal", "fold": k})
    _save_fold(out, k, lesions, rows)


def run_detector_fold(records: Sequence[dict], fold: np.ndarray, k: int, settings: CVSettings,
                      out: Path, base) -> None:
    """Detector stage: fit on the folds other than ``k`` (:func:`osteoscan.lesions.detector_cv.fit_fold`),
    save the fold's detector (``HotspotDetector.save``), score fold ``k``, write its CSVs."""
    from osteoscan.lesions.detector_cv import fit_fold, score_fold

    train = [r for r, f in zip(records, fold, strict=True) if f != k]
    test = [r for r, f in zip(records, fold, strict=True) if f == k]
    det = fit_fold(train, settings.init, base, seed=settings.seed + k, rule=settings.bundled_rule,
                   tiny=settings.tiny)
    det.save(_fold_dir(out, k) / "models")
    _save_fold(out, k, *score_fold(det, test, k))


def _read_fold(out: Path, k: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    paths = [_fold_dir(out, k) / name for name in ("lesions.csv", "studies.csv")]
    if not all(p.is_file() for p in paths):
        return None
    ids = {"study": str, "patient": str, "study_id": str, "patient_id": str, "box": str, "picture_box": str}
    return tuple(restore_frame(pd.read_csv(p, dtype=ids, keep_default_na=False)) for p in paths)


def _plan(ids: Sequence[str], positive: Sequence[int], patients: Sequence[str], settings: CVSettings,
          out: Path, resume: bool) -> np.ndarray:
    """The fold of each study; with ``resume``, the one recorded in ``cv.json`` (checked)."""
    fold = fold_index(positive, patients, settings.folds, settings.seed)
    plan = {"settings": asdict(settings), "folds": {i: int(f) for i, f in zip(ids, fold, strict=True)}}
    if resume and (out / "cv.json").is_file():
        old = json.loads((out / "cv.json").read_text(encoding="utf-8"))
        if old != to_jsonable(plan):
            raise ConfigError(f"{out / 'cv.json'}: written for other studies or settings; "
                              "use a new --out or drop --resume")
    atomic_write_json(out / "cv.json", plan)
    return fold


def bundled_detector():
    """The bundled hotspot detector (the detector stage's start, region table and BSI trees)."""
    from osteoscan.errors import ModelError
    from osteoscan.lesions.patient import bundled_detector_or_none

    det = bundled_detector_or_none()
    if det is None:
        raise ModelError("the bundled hotspot detector is not installed (osteoscan/assets/lesions/"
                         "hotspot_detector.*): use --stage cnn")
    return det


def cross_validate(studies: Sequence[LesionStudy], out: str | Path, settings: CVSettings, *,
                   resume: bool = False, on_fold: Callable[[int, int], None] | None = None,
                   progress: Callable | None = None) -> dict:
    """Cross-validate the lesion stage on ``studies``; write the folder (module docstring).

    Args:
        studies: annotated studies (:func:`osteoscan.lesions.data.studies_from_manifest`).
        out: output folder.
        settings: folds, stage, init, epochs, seed.
        resume: keep the folds already written (same studies and settings only).
        on_fold: ``on_fold(done, folds)`` after each fold.
        progress: ``progress(network, epoch, epochs, loss)`` during training (cnn).

    Returns:
        The summary (also ``summary.json``).

    Raises:
        ConfigError: too few studies or patients for the folds, no annotated lesion, or a
            ``resume`` into a folder made with other settings.
        ModelError: ``stage="detector"`` without the bundled detector installed.
    """
    if not any(st.lesion_labels for st in studies):
        raise ConfigError("no annotated lesion in the studies: nothing to cross-validate")
    # too few patients for the folds: said before any study is reduced or trained on
    fold_index([study_positive(st) for st in studies], [st.patient_id for st in studies],
               settings.folds, settings.seed)
    if settings.stage == "detector":
        from osteoscan.lesions.detector_cv import cohort_base, cohort_records

        base = cohort_base(bundled_detector(), studies)
        return cross_validate_records(cohort_records(studies, base), out, settings, resume=resume,
                                      on_fold=on_fold, base=base)
    out = Path(out)
    fold = _plan([st.scan.study_id for st in studies], [study_positive(st) for st in studies],
                 [st.patient_id for st in studies], settings, out, resume)
    return _run_folds(out, fold, settings, resume, on_fold,
                      lambda k: run_fold(studies, fold, k, settings, out, progress))


def cross_validate_records(records: Sequence[dict], out: str | Path, settings: CVSettings, *,
                           resume: bool = False, on_fold: Callable[[int, int], None] | None = None,
                           base=None, final: bool = True) -> dict:
    """The detector stage of :func:`cross_validate` on cohort records
    (:func:`osteoscan.lesions.detector_cv.cohort_records`; the scans need not be kept);
    ``base``: the bundled detector (default); ``final``: also fit the final detector on every
    study (``DIR/models``)."""
    from osteoscan.lesions.detector_cv import fit_fold

    out, base = Path(out), base or bundled_detector()
    fold = _plan([r["study_id"] for r in records], [int(r["label"]) for r in records],
                 [r["patient_id"] for r in records], settings, out, resume)
    summary = _run_folds(out, fold, settings, resume, on_fold,
                         lambda k: run_detector_fold(records, fold, k, settings, out, base))
    if final and not (resume and (out / "models" / "hotspot_detector.json").is_file()):
        # the final detector: every study, the same rule; summary.json estimates how it does
        fit_fold(list(records), settings.init, base, seed=settings.seed, rule=settings.bundled_rule,
                 tiny=settings.tiny).save(out / "models")
    return summary


def _run_folds(out: Path, fold: np.ndarray, settings: CVSettings, resume: bool,
               on_fold: Callable | None, run: Callable[[int], None]) -> dict:
    """Run (or, with ``resume``, keep) every fold, then write the out-of-fold tables and the summary."""
    parts = []
    for k in range(int(fold.max()) + 1):
        if not (resume and _read_fold(out, k) is not None):
            run(k)
        # the figures come from the files as written (6 decimals): a fresh run and a resumed one
        # give the same summary, and it matches `osteoscan evaluate DIR/studies_oof.csv`
        parts.append(_read_fold(out, k))
        if on_fold:
            on_fold(k + 1, int(fold.max()) + 1)
    lesions = pd.concat([p[0] for p in parts], ignore_index=True)
    study_frame = pd.concat([p[1] for p in parts], ignore_index=True)
    write_predictions(lesions, out / "lesions_oof.csv")
    write_predictions(study_frame, out / "studies_oof.csv")
    summary = summarise(lesions, study_frame, settings)
    atomic_write_json(out / "summary.json", summary)
    return summary


def _rate(name: str, hit: np.ndarray, of: np.ndarray):
    """A weight-matrix statistic (osteoscan.evaluation.statistics): share of ``of`` that ``hit``."""
    hit, of = hit.astype(float), of.astype(float)
    return lambda w: {name: (w @ (hit * of)) / np.maximum(w @ of, 1e-12)}


def _block(y: np.ndarray, p: np.ndarray, patients: np.ndarray, settings: CVSettings) -> dict:
    """Lesion AUC with its patient-bootstrap CI, plus lesion and malignant counts."""
    block = auc_ci(y, p, patients, n_boot=settings.n_boot, seed=settings.seed)
    return {**block, "n_malignant": int(y.sum())}


def summarise(lesions: pd.DataFrame, studies: pd.DataFrame, settings: CVSettings) -> dict:
    """The figures of ``summary.json`` from the out-of-fold tables (docs/lesions.md)."""
    y = (lesions["label"] == "malignant").to_numpy().astype(int)
    p = lesions["probability"].to_numpy(float)
    pid = lesions["patient"].astype(str).to_numpy()
    called = p >= settings.threshold
    rates = {}
    for name, hit, of in (("lesion_sensitivity", called, y == 1), ("lesion_specificity", ~called, y == 0)):
        rates.update(bootstrap_block(_rate(name, hit, of), pid, n_boot=settings.n_boot, seed=settings.seed))
    burden = lesions["burden"].to_numpy(int)
    ys = (studies["label"] == "metastasis").to_numpy().astype(int)
    yes = (studies["predicted"] == "metastasis").to_numpy()  # each fold model's own call
    spid = studies["patient_id"].astype(str).to_numpy()
    for name, hit, of in (("patient_sensitivity", yes, ys == 1),
                          ("patient_specificity", ~yes, ys == 0)):
        rates.update(bootstrap_block(_rate(name, hit, of), spid, n_boot=settings.n_boot,
                                     seed=settings.seed))
    return {
        "lesion_auc": _block(y, p, pid, settings),
        "patient_auc": auc_ci(ys, studies["prob_metastasis"].to_numpy(float),
                              studies["patient_id"].astype(str).to_numpy(),
                              n_boot=settings.n_boot, seed=settings.seed),
        **rates,
        "threshold": settings.threshold,
        "by_burden": {g: _block(y[m], p[m], pid[m], settings) for g, lo, hi in BURDEN_GROUPS
                      for m in [(burden >= lo) & (burden <= hi)]},
        "by_region": {r: _block(y[m], p[m], pid[m], settings) for r in sorted(set(lesions["region"]))
                      for m in [(lesions["region"] == r).to_numpy()]},
        "n_lesions": int(len(lesions)), "n_malignant": int(y.sum()), "n_studies": int(len(studies)),
        "n_patients": int(studies["patient_id"].nunique()),
        "settings": asdict(settings),
    }
