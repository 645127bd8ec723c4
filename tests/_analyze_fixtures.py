"""Shared helpers for the analyze/report tests: tiny models with cards, small scans.

Not a test module (no ``test_`` prefix); imported by path from the tests that need it.
"""

from __future__ import annotations

import numpy as np
import torch

from osteoscan.models import create_model
from osteoscan.training.checkpoint import ModelCard, save_checkpoint
from osteoscan.types import Acquisition, BoneScan, StudySource, ViewSource

SIZE = (128, 32)


def tiny_card(arch: str = "resnet18", *, views: str = "stack", classes=("normal", "metastasis"),
              threshold: float | None = 0.5) -> ModelCard:
    chans = 2 if views == "stack" else 1
    positive = "metastasis" if len(classes) == 2 else None
    return ModelCard(
        architecture=arch,
        model_kwargs={"num_classes": len(classes), "in_chans": chans, "img_size": list(SIZE), "tiny": True},
        classes=list(classes), positive=positive, threshold=threshold if positive else None,
        threshold_rule="youden", preprocess={"views": views, "size": list(SIZE)},
        metrics={"val_auc": 0.9}, data={"n_train": 12},
    )


def tiny_model(card: ModelCard, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    kw = dict(card.model_kwargs)
    return create_model(card.architecture, **kw).eval()


def save_tiny(tmp_dir, arch: str = "resnet18", **kw):
    card = tiny_card(arch, **kw)
    return save_checkpoint(tmp_dir, tiny_model(card), card)


def make_scan(seed: int = 0, *, rows: int = 256, cols: int = 64, spot: tuple[int, int] | None = (100, 30),
              study_id: str = "1.2.3.4", patient_id: str = "P001") -> BoneScan:
    rng = np.random.default_rng(seed)
    body = np.zeros((rows, cols), np.float32)
    body[10:rows - 10, 12:cols - 12] = 20.0
    body[10:40, 20:cols - 20] = 35.0  # skull
    if spot is not None:
        body[spot[0] - 3:spot[0] + 4, spot[1] - 3:spot[1] + 4] = 120.0
    ant = rng.poisson(body).astype(np.float32)
    post = rng.poisson(body * 1.1).astype(np.float32)
    views = (ViewSource("anterior", "view_code", 1.0, "ViewCodeSequence R-10206 (antero-posterior)", "/data/wb.dcm", 0),
             ViewSource("posterior", "view_code", 1.0, "ViewCodeSequence R-10214 (postero-anterior)", "/data/wb.dcm", 1))
    return BoneScan(ant, post, (2.4, 2.4), patient_id, study_id, views,
                    StudySource(("/data/wb.dcm",), "dicom-nm", "ACME", "Gamma 1"),
                    Acquisition(total_counts=(float(ant.sum()), float(post.sum())), scan_length_mm=1780.0,
                                radiopharmaceutical="Tc99m MDP", injected_mbq=740.0))
