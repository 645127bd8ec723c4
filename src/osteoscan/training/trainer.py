"""One training loop: a config in, a run folder out.

Run folder layout (docs/training.md)::

    RUN/config.resolved.yaml   the config after overrides
    RUN/log.csv                epoch, train_loss, val_loss, val_auc, lr, time_s
    RUN/best/                  model.safetensors + model.json (best validation epoch)
    RUN/last/                  the same for the last epoch + state.safetensors/state.json (resume)
    RUN/predictions_val.csv    the best model on the validation studies
    RUN/predictions_test.csv   ... and on the test studies
    (k-fold: RUN/fold0/ ... each as above, plus RUN/predictions_oof.csv and RUN/summary.json)

Example:
    >>> from osteoscan.training import train
    >>> run = train("configs/reference.yaml", "runs/reference")   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from osteoscan.artefacts import atomic_write_text, dumps_json, fold_card, read_card_file
from osteoscan.config.train import TrainConfig, load_config, save_config
from osteoscan.csvsafe import restore_frame
from osteoscan.data.dataset import ScanDataset, encode_targets
from osteoscan.data.splits import Split, make_splits
from osteoscan.data.table import StudyTable, table_from_manifest, table_from_studies
from osteoscan.errors import ConfigError
from osteoscan.training import distributed as dist_
from osteoscan.training.fit import Fit, FitContext
from osteoscan.training.metrics import auc_score
from osteoscan.training.predict import write_predictions

logger = logging.getLogger(__name__)


def train(
    config: TrainConfig | str | Path, out: str | Path | None = None, *,
    overrides: list[str] | None = None, resume: bool = False, init: str | None = None,
    studies: Any = None, progress: bool = False, stop_after_epoch: int | None = None,
) -> Path:
    """Train under the config's patient-level protocol and write a run folder.

    Args:
        config: a :class:`TrainConfig` or a YAML path.
        out: run folder (default ``runs/<config name>``).
        overrides: ``key=value`` strings applied on top of a YAML config.
        resume: continue from ``last/`` (epoch, optimizer, scheduler, RNG) where present.
        init: initial weights, overriding ``model.init`` ("reference", "imagenet-lite0",
            "timm", a run folder or a weights file).
        studies: in-memory studies (SimulatedStudy objects or (BoneScan, StudyLabel) pairs)
            used instead of ``data.manifest`` / ``data.simulate``.
        progress: show rich progress bars (the CLI turns this on).
        stop_after_epoch: stop (as if killed) after this epoch; used to test resuming.

    Returns:
        The run folder.
    """
    cfg = config if isinstance(config, TrainConfig) else load_config(config, overrides)
    if init is not None:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init=init))
    info = dist_.setup()
    if cfg.optim.threads:
        torch.set_num_threads(cfg.optim.threads)
    out = Path(out or Path("runs") / cfg.name)
    table = load_table(cfg, studies)
    labels = table.labels(cfg.data.label_column)
    targets = encode_targets(labels, cfg.data.classes, cfg.data.label_column)
    splits = _splits(cfg, table, labels)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.resolved.yaml")
    ctx = FitContext(cfg, table, targets, info, progress, stop_after_epoch, resume)
    if len(splits) == 1:
        Fit(ctx, splits[0], out).run()
    else:
        for split in splits:
            Fit(ctx, split, out / split.name).run()
        if info.is_main and stop_after_epoch is None:
            pool_folds(cfg, out, [s.name for s in splits])
    dist_.barrier(info)
    dist_.cleanup(info)
    return out


def load_table(cfg: TrainConfig, studies: Any = None) -> StudyTable:
    """The studies a config names: in-memory, a manifest, or a simulated cohort."""
    if studies is not None:
        return table_from_studies(studies)
    if cfg.data.manifest:
        return table_from_manifest(cfg.data.manifest)
    sim = cfg.data.simulate
    if sim.n > 0:
        from osteoscan.simulate import simulate_cohort

        kwargs: dict[str, Any] = {"seed": sim.seed}
        if sim.sites:
            kwargs["sites"] = tuple(sim.sites)
        if sim.difficulty:
            kwargs["difficulty"] = sim.difficulty
        logger.info("simulating %d studies in memory", sim.n)
        return table_from_studies(simulate_cohort(sim.n, **kwargs), compact=True)
    raise ConfigError("data: give data.manifest or data.simulate.n > 0")


def _splits(cfg: TrainConfig, table: StudyTable, labels: np.ndarray) -> list[Split]:
    p = cfg.protocol
    known = labels != ""
    if not known.all():
        raise ConfigError(
            f"data.label_column: {int((~known).sum())} studies in {Path(table.source).name} "
            f"have no {cfg.data.label_column!r}"
        )
    return make_splits(
        p.kind, labels=labels, groups=table.frame["patient_id"].astype(str).to_numpy(),
        sites=table.column("site"), split_column=table.column("split"),
        test_fraction=p.test_fraction, val_fraction=p.val_fraction, folds=p.folds,
        train_sites=p.train_sites, test_sites=p.test_sites, seed=p.seed, val_sites=p.val_sites,
    )


def pool_folds(cfg: TrainConfig, out: Path, folds: list[str]) -> Path:
    """Pool each fold's test predictions into ``predictions_oof.csv`` and write
    ``summary.json`` (per-fold and pooled out-of-fold AUC)."""
    frames = []
    for name in folds:
        f = restore_frame(pd.read_csv(out / name / "predictions_test.csv",
                                      dtype={"study_id": str, "patient_id": str}))
        frames.append(f.assign(fold=name))
    pooled = pd.concat(frames, ignore_index=True)
    write_predictions(pooled, out / "predictions_oof.csv")
    summary = {"folds": {}, "pooled": _frame_auc(cfg, pooled)}
    for name, f in zip(folds, frames):
        summary["folds"][name] = read_card_file(fold_card(out, name)).metrics
    atomic_write_text(out / "summary.json", dumps_json(summary, default=float))
    return out / "predictions_oof.csv"


def _frame_auc(cfg: TrainConfig, frame: pd.DataFrame) -> dict:
    classes = list(cfg.data.classes)
    y = encode_targets(frame["label"].astype(str).to_numpy(), classes, "label")
    if "prob_metastasis" in frame and len(classes) == 2:
        p = frame["prob_metastasis"].to_numpy()
        prob = np.column_stack([1 - p, p]) if classes.index(cfg.data.positive) == 1 else np.column_stack([p, 1 - p])
    else:
        prob = frame[[f"prob_{c}" for c in classes]].to_numpy()
    positive = classes.index(cfg.data.positive) if len(classes) == 2 else None
    return {"auc": auc_score(y, prob, positive), "n": int(len(frame))}

