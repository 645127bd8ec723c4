"""The bundled reference model: small, loadable without pickle, with its figures in the card."""

import numpy as np
import pytest
import torch

from osteoscan.evaluation.statistics import ci_value
from osteoscan.training.checkpoint import REFERENCE_DIR, load_checkpoint

pytestmark = pytest.mark.skipif(not (REFERENCE_DIR / "model.json").is_file(),
                                reason="reference model not built (scripts/build_reference.py)")


def test_reference_card_and_size():
    assert (REFERENCE_DIR / "model.safetensors").stat().st_size <= 25 * 2**20
    model, card = load_checkpoint("reference")
    assert card.classes == ["normal", "metastasis"] and card.positive == "metastasis"
    assert 0.0 < card.threshold < 1.0
    for key in ("test_auc_internal", "test_auc_external", "val_auc"):
        m = card.metrics[key]
        assert m["ci_low"] <= ci_value(m) <= m["ci_high"] and m["n"] > 50, key
    assert card.data["sha256"] and card.training["protocol"] == "external"


def test_reference_predicts_a_simulated_study():
    from osteoscan.simulate import simulate_study
    from osteoscan.training.build import make_pipeline

    model, card = load_checkpoint("reference")
    pipe = make_pipeline(card.preprocess, None)
    x = torch.from_numpy(pipe(simulate_study(5).scan, None))[None]
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1).numpy()
    assert p.shape == (1, 2) and np.isclose(p.sum(), 1.0, atol=1e-5)
