"""Multi-arm studies: several models/ablations under one protocol, one comparison.

Two steps that hand over files (layout in docs/results-layout.md):

1. *run* (:func:`run_study`): every arm is the study's shared training config plus the arm's
   overrides, trained through ``osteoscan.training`` (imported lazily: it needs torch) with
   the same data, folds, seeds and preprocessing; the out-of-fold predictions land in
   ``DIR/arms/<arm>/predictions/fold-<k>.csv`` (a hold-out is ``fold-0``) and, with an
   external site, ``external.csv``.
2. *aggregate* (:func:`aggregate_folder`): reads only those prediction files and writes the
   comparison: per evaluation set (``internal`` = pooled out-of-fold predictions,
   ``external``), mean +/- SD over folds, pooled figures with patient-bootstrap CIs, DeLong
   p-values against the best arm (highest pooled AUC) with Holm's correction, a ROC overlay,
   CSV/Markdown/LaTeX tables and report.html. ``osteoscan compare --render-only DIR`` is
   this step alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from osteoscan.artefacts import atomic_write_text
# the study schema lives in osteoscan.config.study; Arm, load_study and parse_study are
# re-exported for the callers of the run step
from osteoscan.config.study import Arm, Study, arm_config, load_study, parse_study  # noqa: F401
from osteoscan.csvsafe import neutralise_frame, restore_frame
from osteoscan.errors import InputError, OsteoscanError
from osteoscan.evaluation.io import (
    Predictions,
    model_decisions,
    read_manifest_columns,
    read_predictions,
)

logger = logging.getLogger(__name__)

FOLD_METRICS = ("auc", "accuracy", "balanced_accuracy", "sensitivity", "specificity", "f1")


# ------------------------------------------------------------------------------- run step
def _default_trainer(cfg, out_dir: Path, studies=None) -> Path:
    """Adapter to the training stage's API: ``osteoscan.training.trainer.train``."""
    try:
        from osteoscan.training.trainer import train
    except ImportError as exc:  # the training stage is not installed/ready
        raise OsteoscanError(f"osteoscan.training is unavailable ({exc})") from exc
    return Path(train(cfg, out_dir, studies=studies))


def shared_studies(cfg) -> list | None:
    """Simulate the cohort once so that every arm trains on the very same studies.

    Returns None when the data come from a manifest (each arm reads the same file).
    """
    sim = cfg.data.simulate
    if cfg.data.manifest or sim.n <= 0:
        return None
    from osteoscan.simulate import simulate_cohort

    kwargs: dict = {"seed": sim.seed}
    if sim.sites:
        kwargs["sites"] = tuple(sim.sites)
    if sim.difficulty:
        kwargs["difficulty"] = sim.difficulty
    return list(simulate_cohort(sim.n, **kwargs))


def write_study_manifest(cfg, studies: list | None, dest: Path) -> Path | None:
    """Save the study table (site, primary, lesion_count...) as ``dest`` for subgroups."""
    if studies is not None:
        from osteoscan.data.table import table_from_studies

        frame = table_from_studies(studies).frame
    elif cfg.data.manifest:
        frame = restore_frame(pd.read_csv(cfg.data.manifest, dtype=str))
    else:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, neutralise_frame(frame).to_csv(index=False))
    return dest


def collect_run_predictions(run_dir: Path, dest: Path, protocol: str = "kfold") -> list[Path]:
    """Copy a training run's test predictions into ``dest`` as fold-<k>.csv / external.csv.

    Training writes ``predictions_test.csv`` per split (k-fold: under ``fold<k>/``) and
    ``predictions_val.csv``. k-fold: each fold's test file is fold-<k>; an external-site
    protocol: the test file is ``external.csv`` and the validation file (internal validation,
    also used for early stopping and the threshold, hence optimistic) is fold-0; any other
    protocol: the test file is fold-0. The pooled ``predictions_oof.csv`` is not copied.
    """
    import re

    dest.mkdir(parents=True, exist_ok=True)
    found = []
    for path in sorted(run_dir.rglob("predictions_*.csv")):
        rel = path.relative_to(run_dir).as_posix().lower()
        kind = path.stem.removeprefix("predictions_")
        match = re.search(r"fold[-_]?(\d+)/", rel)
        if kind == "test" and protocol == "external":
            name = "external.csv"
        elif kind == "test":
            name = f"fold-{int(match.group(1)) if match else 0}.csv"
        elif kind == "val" and protocol == "external":
            name = "fold-0.csv"
        else:
            continue
        shutil.copyfile(path, dest / name)
        found.append(dest / name)
    if not found:
        raise OsteoscanError(f"{run_dir}: training wrote no predictions_test.csv")
    return found


def run_study(
    study: Study,
    out: str | Path,
    *,
    trainer: Callable | None = None,
    on_step: Callable[[int, int, str], None] | None = None,
) -> dict[str, str]:
    """Train every arm on the same studies and gather its predictions under ``out/arms``.

    Args:
        study: the parsed study.
        out: the study folder.
        trainer: ``trainer(cfg, run_dir, studies) -> run_dir`` (default: osteoscan.training).
        on_step: progress callback ``(done, total, label)``.

    Returns:
        arm name -> error message, for the arms that failed (the others go on).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = trainer or _default_trainer
    _write_resolved_study(study, out / "study.yaml")
    first = arm_config(study, study.arms[0])
    studies = shared_studies(first)
    write_study_manifest(first, studies, out / "manifest.csv")
    failed: dict[str, str] = {}
    for i, arm in enumerate(study.arms):
        if on_step:
            on_step(i, len(study.arms), f"training {arm.name}")
        arm_dir = out / "arms" / arm.name
        try:
            cfg = arm_config(study, arm)
            run_dir = trainer(cfg, arm_dir / "run", studies)
            collect_run_predictions(Path(run_dir), arm_dir / "predictions", cfg.protocol.kind)
        except OsteoscanError as exc:
            logger.error("arm %s failed: %s", arm.name, exc)
            failed[arm.name] = str(exc)
    if on_step:
        on_step(len(study.arms), len(study.arms), "done")
    atomic_write_text(out / "failed.yaml", yaml.safe_dump(failed))
    return failed


def _write_resolved_study(study: Study, path: Path) -> None:
    arms = [
        {"name": a.name, "overrides": list(a.overrides), "description": a.description}
        for a in study.arms
    ]
    tree = {
        "name": study.name,
        **study.base,
        "arms": arms,
        "tiny": list(study.tiny),
        "evaluation": study.evaluation,
    }
    atomic_write_text(path, yaml.safe_dump(tree, sort_keys=False))


# ------------------------------------------------------------------------- aggregate step
def read_arm_folder(arms_dir: Path) -> dict[str, dict[str, list[Predictions]]]:
    """arm -> {"internal": [fold predictions...], "external": [predictions]} from files."""
    arms: dict[str, dict[str, list[Predictions]]] = {}
    if not arms_dir.is_dir():
        raise InputError(arms_dir, "no arms/ folder (expected arms/<arm>/predictions/fold-<k>.csv)")
    for arm_dir in sorted(p for p in arms_dir.iterdir() if p.is_dir()):
        pred_dir = arm_dir / "predictions"
        folds = sorted(pred_dir.glob("fold-*.csv"), key=lambda p: int(p.stem.split("-")[1]))
        sets: dict[str, list[Predictions]] = {}
        if folds:
            sets["internal"] = [read_predictions(p) for p in folds]
        if (pred_dir / "external.csv").is_file():
            sets["external"] = [read_predictions(pred_dir / "external.csv")]
        if sets:
            arms[arm_dir.name] = sets
    if not arms:
        raise InputError(arms_dir, "no prediction files found under arms/<arm>/predictions/")
    return arms


def pool(folds: list[Predictions]) -> Predictions:
    """Concatenate per-fold predictions (out-of-fold: each study once)."""
    first = folds[0]
    for f in folds[1:]:
        if f.class_names != first.class_names:
            raise InputError(f.source, f"classes {f.class_names} differ from {first.class_names}")
    pooled = Predictions(
        np.concatenate([f.study_id for f in folds]),
        np.concatenate([f.patient_id for f in folds]),
        np.concatenate([f.y for f in folds]),
        np.vstack([f.prob for f in folds]),
        first.class_names,
        str(Path(first.source).parent),
        pd.concat([f.extra for f in folds], ignore_index=True),
    )
    if len(set(pooled.study_id)) != pooled.n:
        raise InputError(first.source, "a study appears in several folds' test predictions")
    return pooled


def fold_summary(folds: list[Predictions]) -> dict[str, dict]:
    """Mean and SD (ddof=1) over folds of the point figures (binary: the model's own calls
    when the files have a ``predicted`` column, else threshold 0.5; multi-class: argmax)."""
    from osteoscan.evaluation.metrics import point_metrics

    per = []
    for f in folds:
        calls = model_decisions(f)
        thr = 0.5 if calls is None else np.where(calls, -np.inf, np.inf)
        per.append(point_metrics(f.y, f.prob if not f.is_binary else f.score, threshold=thr))
    out = {}
    for name in FOLD_METRICS:
        values = np.array([p.get(name, np.nan) for p in per], dtype=float)
        out[name] = {
            "mean": float(np.nanmean(values)) if np.isfinite(values).any() else None,
            "sd": float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else None,
            "values": values.tolist(),
        }
    return out


def load_manifest_for(folder: Path, pred: Predictions) -> pd.DataFrame | None:
    """``folder/manifest.csv`` aligned to ``pred`` (subgroups), when present."""
    path = folder / "manifest.csv"
    return read_manifest_columns(path, pred) if path.is_file() else None
