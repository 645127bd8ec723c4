"""The lesion stage on simulated scans: ground-truth consistency, end-to-end run, integration."""

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from osteoscan.lesions.analyzer import BUNDLED, LesionAnalyzer
from osteoscan.lesions.bundle import ASSETS
from osteoscan.lesions.burden import bone_scan_index
from osteoscan.lesions.classifier import LesionClassifier
from osteoscan.lesions.hotspots import HotspotSegmenter
from osteoscan.lesions.regions import RegionSegmenter
from osteoscan.lesions.studies import from_simulated
from osteoscan.lesions.training import truth_hotspots
from osteoscan.simulate.study import simulate_study
from osteoscan.skeleton import REGIONS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sim():
    return simulate_study(3, force_label="metastasis")


def test_bsi_of_true_lesions_equals_simulator_ground_truth(sim):
    st = from_simulated(sim)
    by_view = truth_hotspots(st)
    assert sum(len(v) for v in by_view.values()) >= 2
    by_view = {v: [dataclasses.replace(h, probability=float(st.lesion_labels[int(h.features["label_id"])] == "malignant"))
                   for h in hs] for v, hs in by_view.items()}
    bsi, _ = bone_scan_index(by_view, st.region_maps)
    assert sim.bsi > 0
    assert bsi == pytest.approx(sim.bsi, abs=1e-3)


def test_truth_hotspots_matched_through_lesion_ids_and_placed(sim):
    by_view = truth_hotspots(from_simulated(sim))
    ant, post = by_view["anterior"], by_view["posterior"]
    for h in ant:
        if h.match is not None:
            assert post[h.match].features["label_id"] == h.features["label_id"]
            assert post[h.match].match == ant.index(h)
    truth_region = {les.id: les.region for les in sim.lesions}
    agree = [h.region == truth_region[int(h.features["label_id"])] for h in ant + post]
    assert np.mean(agree) >= 0.8


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("lesion_models")
    seg = HotspotSegmenter.build(tiny=True, work_shape=(128, 32))
    seg.card["threshold"] = 0.45  # an untrained net sits near 0.5: make it find something
    seg.save(folder / BUNDLED["segmenter"])
    RegionSegmenter.build(tiny=True, work_shape=(128, 32)).save(folder / BUNDLED["regions"])
    LesionClassifier.build(width=4).save(folder / BUNDLED["classifier"])
    return folder


def test_analyzer_end_to_end_result_is_consistent(sim, tiny_folder):
    result = LesionAnalyzer.load(tiny_folder, threads=1).analyze(sim.scan)
    assert result.hotspots, "the lowered threshold must give hotspots"
    for h in result.hotspots:
        assert h.mask.shape == sim.scan.shape and h.mask.any()
        assert h.region in REGIONS and 0.0 <= h.probability <= 1.0
        assert h.area_mm2 == pytest.approx(h.mask.sum() * 2.4 * 2.4)
    assert result.lesion_count <= len(result.hotspots)
    assert 0.0 <= result.bsi <= 100.0 and 0.0 <= result.probability <= 1.0
    assert set(result.region_maps) == {"anterior", "posterior"}
    doc = json.loads(json.dumps(result.to_dict()))
    assert len(doc["hotspots"]) == len(result.hotspots)
    assert {"view", "row", "col", "area_mm2", "region", "probability"} <= set(doc["hotspots"][0])


def test_predictor_and_report_integration(sim, tiny_folder):
    from osteoscan.inference import Predictor
    from osteoscan.reporting.html import render_report

    spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parents[1] / "_analyze_fixtures.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    card = fx.tiny_card()
    analyzer = LesionAnalyzer.load(tiny_folder, threads=1)
    pred = Predictor(fx.tiny_model(card), card, lesion_analyzer=analyzer, gradcam=False).predict(sim.scan)
    assert pred.hotspots and pred.bsi is not None
    assert pred.hotspots[0].mask.shape == sim.scan.shape
    html = render_report(sim.scan, pred)
    assert "Bone Scan Index" in html
    assert pred.lesions.regions[0].region in html  # the region table is rendered


@pytest.mark.skipif(not (ASSETS / f"{BUNDLED['segmenter']}.safetensors").exists(),
                    reason="bundled lesion models not installed")
def test_bundled_models_on_an_easy_external_scan():
    """Bundled models (trained on generated site profiles, recipes.TRAIN_PROFILES) on a site_c
    scan they never saw (a patient tilted 5.4 degrees with the arms apart): the regions agree
    with the phantom's, and metastases are found (docs/lesions.md gives the measured FROC)."""
    sim = simulate_study(11, force_label="metastasis", difficulty="easy", site="site_c")
    result = LesionAnalyzer.default().analyze(sim.scan)
    bone = sim.region_maps["anterior"] > 0
    agree = (result.region_maps["anterior"][bone] == sim.region_maps["anterior"][bone]).mean()
    assert agree > 0.8
    st = from_simulated(sim)
    truth = np.stack([st.lesion_masks[v] for v in ("anterior", "posterior")])
    hit = {int(i) for h in result.hotspots
           for i in np.unique(truth[0 if h.view == "anterior" else 1][h.mask]) if i}
    malignant = {k for k, v in st.lesion_labels.items() if v == "malignant"}
    assert len(hit & malignant) >= 1
    assert result.bsi > 0


def test_single_view_scan(sim, tiny_folder):
    one = dataclasses.replace(sim.scan, posterior=None)
    result = LesionAnalyzer.load(tiny_folder, threads=1).analyze(one)
    assert set(result.region_maps) == {"anterior"}
    assert all(h.view == "anterior" and h.match is None for h in result.hotspots)
