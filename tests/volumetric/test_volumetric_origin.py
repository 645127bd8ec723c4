"""Origin features, the patient-level origin model, and old cards (docs/seg3d.md, session 7)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from osteoscan.preprocessing.volumes import hu_window
from osteoscan.volumetric.inputs import TRABECULAR_WINDOW
from osteoscan.volumetric.instances import OriginModel, feature_names, find_instances
from osteoscan.volumetric.origin import (
    PATIENT_FEATURES, add_origin_features, fit_second_stage, instance_matrix,
    patient_features, patient_probability,
)

NAMES = ("spect", "ct", "ct_trabecular")
BASE = feature_names(NAMES)


def _volume():
    """Bone at 250 HU with a lytic focus (40 HU) at the left edge and a sclerotic one
    (900 HU) in the middle, through the model's windows; both lesions metastatic."""
    hu = np.full((10, 12, 20), 250.0, np.float32)
    hu[4:7, 5:8, 0:3] = 40.0
    hu[4:7, 5:8, 9:12] = 900.0
    image = np.stack([np.ones_like(hu), hu_window(hu, (500.0, 2000.0)),
                      hu_window(hu, TRABECULAR_WINDOW)])
    prob = np.zeros((3, *hu.shape), np.float32)
    prob[0] = 1.0
    for box in ((slice(4, 7), slice(5, 8), slice(0, 3)), (slice(4, 7), slice(5, 8), slice(9, 12))):
        prob[(slice(None), *box)] = np.array([0.1, 0.1, 0.8])[:, None, None, None]
    return image, prob


def test_origin_features_read_lysis_sclerosis_and_position_from_the_ct_windows():
    image, prob = _volume()
    labels, table = find_instances(prob, None, image, (5.0,) * 3, NAMES)
    add_origin_features(image, labels, table, NAMES, (500.0, 2000.0))
    lytic, dense = (t["origin_features"] for t in table)
    assert (lytic["ct_low_fraction"], lytic["ct_high_fraction"]) == (1.0, 0.0)
    assert (dense["ct_low_fraction"], dense["ct_high_fraction"]) == (0.0, 1.0)
    assert lytic["lateral"] > 0.8 and dense["lateral"] < 0.1
    # the bone window alone gives the same shares (the trabecular one is only finer)
    add_origin_features(image[:2], labels, table, NAMES[:2], (500.0, 2000.0))
    assert table[0]["origin_features"]["ct_low_fraction"] == 1.0
    # no CT: the shares are 0, the position stays
    add_origin_features(image[:1], labels, table, NAMES[:1], (500.0, 2000.0))
    assert table[1]["origin_features"]["ct_high_fraction"] == 0.0


def _inst(low: float, high: float, kept: bool = True, cls: str = "metastatic") -> dict:
    features = [0.0] * len(BASE)
    features[0] = np.log(2.0)  # log_volume_ml
    return {"cls": cls, "in_mask": kept, "features": features,
            "origin_features": {"ct_low_fraction": low, "ct_high_fraction": high,
                                "lateral": 0.5, "y_fraction": 0.5}}


def test_patient_features_aggregate_the_instances_the_origin_uses():
    table = [_inst(0.8, 0.1), _inst(0.0, 0.9), _inst(0.9, 0.0, kept=False),
             _inst(1.0, 0.0, cls="benign")]
    row = dict(zip(PATIENT_FEATURES, patient_features(table, BASE), strict=True))
    assert row["log_count"] == pytest.approx(np.log1p(2))  # kept metastatic ones only
    assert row["lytic_share"] == 0.5 and row["mean_ct_low_fraction"] == pytest.approx(0.4)
    assert row["mean_log_volume_ml"] == pytest.approx(np.log(2.0))
    every = dict(zip(PATIENT_FEATURES, patient_features(table, BASE, "all"), strict=True))
    assert every["log_count"] == pytest.approx(np.log1p(3))
    assert patient_features([_inst(1, 0, cls="benign")], BASE) is None


def test_an_old_card_gets_the_instance_vector_as_it_was():
    t = _inst(0.5, 0.5)
    t["features"] = list(np.arange(len(BASE), dtype=float))
    assert instance_matrix([t], BASE)[0].tolist() == t["features"]
    # position by position, whatever the card calls them (earlier cards' names stay valid)
    assert instance_matrix([t], ["a", "b"])[0].tolist() == t["features"]
    extra = instance_matrix([t], [*BASE, "ct_low_fraction"])[0]
    assert extra[-1] == 0.5 and extra[:-1].tolist() == t["features"]


def _studies(n: int = 12) -> list[tuple[list[dict], str]]:
    """Lung patients with lytic-looking instances, the others sclerotic; one false
    positive per patient."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        lung = k % 2 == 0
        table = []
        for _ in range(3):
            low = rng.uniform(0.5, 1.0) if lung else rng.uniform(0.0, 0.4)
            table.append({**_inst(low, 1 - low), "id": len(table) + 1, "score": 0.8,
                          "p_benign": 0.1, "real": True, "hits_met": True})
        fp = {**_inst(0.3, 0.3), "id": 4, "score": 0.6, "p_benign": 0.3, "real": False,
              "hits_met": False}
        fp["features"] = [1.0] * len(BASE)
        out.append(([*table, fp], "lung" if lung else "other"))
    return out


def test_fit_second_stage_patient_model_round_trips_through_the_card(tmp_path):
    settings = {"postprocess": {"min_p_lesion": 0.5, "cut": "all", "origin": "mask"}}
    summary = fit_second_stage(settings, _studies(), BASE, kind="patient")
    assert summary["patients"] == 12 and summary["instances"] == 36
    assert {"origin", "lesion_model", "origin_patient"} <= set(settings)
    card = tmp_path / "model.json"
    card.write_text(json.dumps(settings))
    model = OriginModel.from_dict(json.loads(card.read_text())["origin_patient"])
    assert model.names == list(PATIENT_FEATURES)
    lytic = [_inst(0.9, 0.05), _inst(0.8, 0.1)]
    blastic = [_inst(0.05, 0.9), _inst(0.1, 0.8)]
    assert patient_probability(lytic, model, BASE) > 0.5 > patient_probability(blastic, model,
                                                                                BASE)
    assert np.isnan(patient_probability([], model, BASE))
    # refitting another kind removes the patient model; instance_plus names the new features
    fit_second_stage(settings, _studies(), BASE, kind="instance_plus")
    assert "origin_patient" not in settings
    assert settings["origin"]["features"][-1] == "y_fraction"
    with pytest.raises(ValueError, match="origin model"):
        fit_second_stage(settings, _studies(), BASE, kind="tree")


def _segmenter(**settings):
    from osteoscan.models import create_model
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.training import Seg3DSettings, card_for

    s = Seg3DSettings(architecture="mtunet3d", channels="spectct2w", patch=(16, 16, 16),
                      widths=(4, 8))
    card = card_for(s, {}, 1)
    card.settings.update(settings)
    return Segmenter3D(create_model(s.architecture, **s.model_kwargs()), card)


def test_segmenter_uses_the_patient_model_and_old_cards_keep_the_mean():
    settings = {"postprocess": {"origin": "mask"}}
    fit_second_stage(settings, _studies(), BASE, kind="patient")
    table = [{**_inst(0.9, 0.05), "p_lung": 0.2}, {**_inst(0.8, 0.1), "p_lung": 0.4}]
    new = _segmenter(origin=settings["origin"], origin_patient=settings["origin_patient"])
    assert new.patient_origin(table) == pytest.approx(patient_probability(
        table, OriginModel.from_dict(settings["origin_patient"]), BASE))
    assert new.patient_origin(table) > 0.5
    old = _segmenter(origin=settings["origin"])  # a card of the earlier runs
    assert old.origin_patient is None and old.patient_origin(table) == pytest.approx(0.3)
