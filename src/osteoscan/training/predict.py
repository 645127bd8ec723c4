"""Predictions: a model over studies -> the predictions CSV others read (docs/training.md).

Columns: ``study_id``, ``patient_id``, ``label`` (when the source has labels),
``prob_<class>`` and ``predicted``. A binary model whose positive class is "metastasis"
writes only ``prob_metastasis`` (P(metastasis)); any other model writes one ``prob_<class>``
column per class (summing to 1). ``predicted`` is the positive class when
P(positive) >= the card's threshold (binary), else the arg-max class.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from osteoscan.artefacts import atomic_write, decide
from osteoscan.csvsafe import neutralise_frame
from osteoscan.errors import OsteoscanError
from osteoscan.training.checkpoint import ModelCard, load_checkpoint

logger = logging.getLogger(__name__)


def probability_columns(card: ModelCard) -> list[str]:
    """The ``prob_*`` columns a model writes."""
    if card.is_binary and card.positive == "metastasis":
        return ["prob_metastasis"]
    return [f"prob_{c}" for c in card.classes]


def predictions_frame(
    card: ModelCard, study_id: np.ndarray, patient_id: np.ndarray, prob: np.ndarray,
    label: np.ndarray | None = None,
) -> pd.DataFrame:
    """The predictions table for studies with probabilities ``prob`` (n, classes)."""
    frame = pd.DataFrame({"study_id": np.asarray(study_id, str), "patient_id": np.asarray(patient_id, str)})
    if label is not None:
        frame["label"] = label
    cols = probability_columns(card)
    if len(cols) == 1:
        frame[cols[0]] = prob[:, card.classes.index(card.positive)]
    else:
        for k, col in enumerate(cols):
            frame[col] = prob[:, k]
    frame["predicted"] = decide(card, prob) if len(prob) else []
    return frame


def write_predictions(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a predictions table as CSV, atomically (text cells neutralised against formula
    injection; :func:`osteoscan.evaluation.io.read_predictions` restores them)."""
    path = Path(path)
    safe = neutralise_frame(frame)
    atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, float_format="%.6f"))
    return path


@dataclass
class PredictResult:
    """Outcome of :func:`predict_manifest`.

    Attributes:
        frame: the predictions written.
        failed: (study_id or row, reason) for every study that could not be predicted.
        path: the CSV written.
    """

    frame: pd.DataFrame
    failed: list[tuple[str, str]] = field(default_factory=list)
    path: Path | None = None


def predict_manifest(
    model_source: str | Path, manifest: str | Path, out: str | Path, *,
    label_column: str | None = None, batch_size: int = 8, workers: int | None = None,
    on_study: Callable[[int], None] | None = None, redactor: Any = None,
) -> PredictResult:
    """Predict every study of a manifest and write the predictions CSV.

    Bad studies (unreadable files, wrong shapes) are skipped and listed in ``failed``.

    Args:
        model_source: anything :func:`~osteoscan.training.checkpoint.load_checkpoint` accepts.
        manifest: a manifest CSV (docs/data-format.md).
        out: the CSV to write.
        label_column: manifest column with true labels (default: the card's label column,
            else "label"); the ``label`` column is written only when it exists.
        batch_size: studies per forward pass.
        workers: DataLoader processes that load and preprocess the next batches while the
            model runs on this one (default: 1 on machines with 2 or more cores, else 0).
        on_study: progress hook called with the number of studies done.
        redactor: an :class:`osteoscan.io.redact.Redactor` (no-PHI mode): the ids written
            are its pseudonyms, date columns are dropped; None writes the manifest's ids.

    Returns:
        A :class:`PredictResult`.
    """
    from torch.utils.data import DataLoader

    from osteoscan.data.table import table_from_manifest
    from osteoscan.training.build import make_pipeline

    model, card = load_checkpoint(model_source)
    table = table_from_manifest(manifest)
    column = label_column or card.training.get("label_column", "label")
    labels = table.column(column)
    if workers is None:  # daemonic processes (pool workers) cannot start a loader process
        daemon = multiprocessing.current_process().daemon
        workers = 1 if (os.cpu_count() or 1) >= 2 and not daemon else 0
    loader = DataLoader(_Studies(table, make_pipeline(card.preprocess, None)),
                        batch_size=batch_size, num_workers=workers, collate_fn=list)
    kept, probs, failed = [], [], []
    for items in loader:
        batch, ok = _check_batch(table, items, failed)
        if ok:
            probs.append(_forward(model, torch.stack(batch)))
            kept.extend(ok)
        if on_study:
            on_study(len(items))
    prob = np.concatenate(probs) if probs else np.zeros((0, len(card.classes)))
    f = table.frame.iloc[kept]
    frame = predictions_frame(card, f["study_id"].to_numpy(), f["patient_id"].to_numpy(), prob,
                              None if labels is None else labels[kept])
    if redactor is not None:
        frame = redactor.table(frame)
    return PredictResult(frame, failed, write_predictions(frame, out))


class _Studies(torch.utils.data.Dataset):
    """Table rows as ``(row, image or None, error)``: a bad study is reported, not raised, so
    one unreadable file does not stop the loader (and its worker)."""

    def __init__(self, table, pipeline):
        self.table, self.pipeline = table, pipeline

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str]:
        try:  # a tensor crosses from a loader worker through shared memory, an array is pickled
            return i, torch.from_numpy(self.pipeline(self.table.load(i), None)), ""
        except (OsteoscanError, ValueError, OSError) as exc:
            return i, None, str(exc)


def _check_batch(table, items: list, failed: list) -> tuple[list[torch.Tensor], list[int]]:
    batch, ok = [], []
    for i, image, error in items:
        sid = str(table.frame["study_id"].iloc[i])
        if image is None:
            logger.warning("study %s: skipped (%s)", sid, error)
            failed.append((sid, error))
            continue
        batch.append(image)
        ok.append(i)
    shapes = {b.shape for b in batch}
    if len(shapes) > 1:  # the pipeline resizes, so this means a broken study
        raise OsteoscanError(f"studies {[table.frame['study_id'].iloc[i] for i in ok]}: "
                             f"preprocessing gave different shapes {sorted(shapes)}")
    return batch, ok


@torch.no_grad()
def _forward(model: torch.nn.Module, batch: torch.Tensor) -> np.ndarray:
    device = next(model.parameters()).device
    logits = model(batch.to(device=device, dtype=torch.float32))
    return torch.softmax(logits.float(), dim=1).cpu().numpy()
