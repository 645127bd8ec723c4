"""Predictor: probabilities, decision at the card threshold, heatmaps on both views, hooks."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import osteoscan as osc
from osteoscan.errors import ModelError
from osteoscan.inference import Prediction, Predictor
from osteoscan.types import Hotspot

_spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parent / "_analyze_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", ["resnet18", "deit_base", "swin_base"])
def test_predict_cnn_and_transformers(arch):
    card = fx.tiny_card(arch)
    pred = Predictor(fx.tiny_model(card), card).predict(fx.make_scan())
    assert isinstance(pred, Prediction)
    assert 0.0 <= pred.probability <= 1.0
    assert sum(pred.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert pred.probability == pytest.approx(pred.probabilities["metastasis"])
    assert pred.decision == ("metastasis" if pred.probability >= 0.5 else "normal")
    assert set(pred.heatmaps) == {"anterior", "posterior"}
    for h in pred.heatmaps.values():
        assert h.shape == (256, 64) and h.dtype == np.float32
        assert 0.0 <= h.min() and h.max() <= 1.0
    assert pred.explain["method"] == "split"
    assert pred.hotspots == [] and pred.bsi is None


def test_threshold_decides_and_multiclass_uses_argmax():
    scan = fx.make_scan()
    card = fx.tiny_card(threshold=0.0)
    model = fx.tiny_model(card)
    assert Predictor(model, card, gradcam=False).predict(scan).decision == "metastasis"
    card.threshold = 1.0
    pred = Predictor(model, card, gradcam=False).predict(scan)
    assert pred.decision == "normal" and not pred.positive and pred.heatmaps == {}
    card3 = fx.tiny_card(classes=("normal", "adeno", "non_adeno"))
    pred3 = Predictor(fx.tiny_model(card3), card3).predict(scan)
    assert pred3.decision == max(pred3.probabilities, key=pred3.probabilities.get)
    assert pred3.probability == pytest.approx(1 - pred3.probabilities["normal"])
    assert pred3.heatmap_class in ("adeno", "non_adeno") and pred3.threshold is None


def test_from_path_round_trip(tmp_path):
    fx.save_tiny(tmp_path / "run")
    pred = Predictor.from_path(tmp_path / "run", lesions=False).predict(fx.make_scan())
    assert pred.model["architecture"] == "resnet18"
    assert pred.model["source"].endswith("run")
    assert pred.lesions is None


def test_from_path_attaches_the_bundled_lesion_stage_unless_opted_out(tmp_path):
    """Issue 13 item 6: from_path(run) silently returned no hotspots. The stage attached is
    the best bundled one, the hotspot-first detector (issue 16: the demo's report, made with
    the demo's own image model, drew the lesion networks' 3,300 mm² skull outline), and the
    run's own model decides the study."""
    from osteoscan.lesions.analyzer import ASSETS
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    if bundled_detector_or_none() is None or not any(ASSETS.glob("*.safetensors")):
        pytest.skip("bundled lesion models not installed")
    fx.save_tiny(tmp_path / "run")
    with_lesions = Predictor.from_path(tmp_path / "run")
    assert isinstance(with_lesions.lesion_analyzer, HotspotDetector)
    assert not with_lesions.lesion_decides
    assert with_lesions.predict(fx.make_scan()).lesions is not None
    assert Predictor.default(lesions=False).lesion_analyzer is None
    assert Predictor.from_path(tmp_path / "run", lesions=False).lesion_analyzer is None
    assert Predictor.from_path(tmp_path / "run", lesion_analyzer=None).lesion_analyzer is None


def test_default_without_reference_is_a_clear_model_error(monkeypatch, tmp_path):
    import osteoscan.artefacts.paths as inf

    monkeypatch.setattr(inf, "REFERENCE_DIR", tmp_path / "missing")
    with pytest.raises(ModelError, match="reference model is missing"):
        Predictor.default()


def test_lesion_analyzer_hook_fills_hotspots_and_bsi():
    class FakeAnalyzer:
        def analyze(self, scan):
            mask = np.zeros(scan.shape, bool)
            mask[97:104, 27:34] = True
            hs = Hotspot("anterior", 100.0, 30.0, 49 * 5.76, "ribs", 0.8, mask)
            return type("R", (), {"hotspots": [hs], "bsi": 0.42, "regions": None})()

    card = fx.tiny_card()
    pred = Predictor(fx.tiny_model(card), card, lesion_analyzer=FakeAnalyzer()).predict(fx.make_scan())
    assert len(pred.hotspots) == 1 and pred.bsi == pytest.approx(0.42)


def test_public_api_names():
    assert osc.Predictor is Predictor and osc.Prediction is Prediction
    assert callable(osc.write_report)


@pytest.mark.skipif(not (Path(__file__).parents[1] / "src/osteoscan/assets/reference/model.json").is_file(),
                    reason="bundled reference model not installed")
def test_default_reference_on_a_simulated_study():
    from osteoscan.simulate.study import simulate_study

    study = simulate_study(4, force_label="metastasis")
    pred = Predictor.default(lesion_analyzer=None).predict(study.scan)
    assert 0.0 <= pred.probability <= 1.0 and pred.threshold is not None
    assert pred.heatmaps["anterior"].shape == study.scan.shape
    assert pred.explain["method"] == "split"
    assert pred.explain["layer"] == "layer3"  # named by the reference card (finer than layer4)


def test_cam_layer_comes_from_the_argument_then_the_card_then_the_registry():
    card = fx.tiny_card("resnet18")
    model = fx.tiny_model(card)
    scan = fx.make_scan()
    assert Predictor(model, card).cam_layer == "layer4"
    card.explain = {"gradcam_layer": "layer3"}
    assert Predictor(model, card).predict(scan).explain["layer"] == "layer3"
    pred = Predictor(model, card, cam_layer="layer2")
    assert pred.cam_layer == "layer2" and pred.predict(scan).heatmaps["anterior"].shape == scan.shape


def test_single_view_scan_gets_one_heatmap_and_a_report(tmp_path):
    import dataclasses

    from osteoscan.reporting.html import write_report
    from osteoscan.types import ViewSource

    scan = fx.make_scan()
    single = dataclasses.replace(scan, posterior=None,
                                 views=(ViewSource("anterior", "single_view", 0.3, "one view, no tags", "x.png"),))
    card = fx.tiny_card()
    pred = Predictor(fx.tiny_model(card), card).predict(single)
    assert set(pred.heatmaps) == {"anterior"}
    html = write_report(single, pred, tmp_path / "r.html").read_text()
    assert "single_view" in html and html.count("<figure>") == 2


def _lesion_result(p_hot=(0.95, 0.7, 0.2)):
    """A CNN-stage LesionResult: three anterior hotspots in the ribs' region map, BSI > 0."""
    from osteoscan.lesions.analyzer import LesionResult
    from osteoscan.lesions.burden import bone_scan_index, region_table
    from osteoscan.skeleton import REGION_CODE

    scan = fx.make_scan()
    rmap = np.zeros(scan.shape, np.uint8)
    rmap[60:200, 10:54] = REGION_CODE["ribs"]
    hs = []
    for k, p in enumerate(p_hot):
        mask = np.zeros(scan.shape, bool)
        mask[70 + 40 * k:77 + 40 * k, 27:34] = True
        hs.append(Hotspot("anterior", 73.0 + 40 * k, 30.0, 49 * 5.76, "ribs", p, mask))
    by_view = {"anterior": hs}
    bsi, fr = bone_scan_index(by_view, {"anterior": rmap}, threshold=0.5)
    return LesionResult(hotspots=tuple(hs), bsi=bsi, probability=0.99, lesion_count=3,
                        malignant_count=2, regions=tuple(region_table(by_view, fr, 0.5)),
                        region_maps={"anterior": rmap}, threshold=0.5)


def test_agreeing_lesions_follow_the_study_decision():
    from osteoscan.lesions.analyzer import agreeing

    res = _lesion_result()
    assert res.bsi > 0 and res.malignant_count == 2
    normal = agreeing(res, 0.3, positive=False)  # the image model said normal at p = 0.3
    assert normal.malignant_count == 0 and normal.bsi == 0.0
    assert max(h.probability for h in normal.hotspots) <= 0.3 and normal.threshold > 0.3
    assert all(r.malignant == 0 and r.bsi == 0.0 for r in normal.regions)
    low = agreeing(res, 0.6, positive=True)  # metastatic at p = 0.6: capped, 2 lesions >= 0.5
    assert low.malignant_count == 2 and 0 < low.bsi <= res.bsi + 1e-9
    assert [h.probability for h in low.hotspots] == [0.6, 0.6, 0.2]
    # metastatic, but no lesion reaches the hotspot threshold: the most probable one is malignant
    weak = agreeing(_lesion_result((0.45, 0.3, 0.2)), 0.6, positive=True)
    assert weak.malignant_count == 1 and weak.bsi > 0 and weak.threshold == 0.45
    same = agreeing(res, 1.0, positive=True)
    assert same.malignant_count == res.malignant_count and same.bsi == pytest.approx(res.bsi)


def test_image_model_decision_and_lesion_stage_never_contradict():
    """One coherent answer per study (issue 16): with the image model deciding, a study it calls
    normal shows no malignant lesion and BSI 0; one it calls metastatic shows at least one."""
    class Fixed:
        def analyze(self, scan):
            return _lesion_result()

    scan, card = fx.make_scan(), fx.tiny_card(threshold=1.0)  # always normal
    pred = Predictor(fx.tiny_model(card), card, lesion_analyzer=Fixed()).predict(scan)
    assert pred.decision == "normal" and pred.bsi == 0.0 and pred.lesions.malignant_count == 0
    assert all(h.probability <= pred.probability for h in pred.hotspots)
    card = fx.tiny_card(threshold=0.0)  # always metastatic
    pred = Predictor(fx.tiny_model(card), card, lesion_analyzer=Fixed()).predict(scan)
    assert pred.positive and pred.lesions.malignant_count >= 1 and pred.bsi > 0


def test_agreeing_sums_the_detector_bsi_shares_of_the_lesions_called():
    """With the hotspot-first detector's result (hotspots carrying ``bsi_share``, no region
    maps), a study the image model calls metastatic gets the BSI of the lesions it now calls
    malignant, even where the detector found the study normal (before: a malignant lesion
    beside a BSI of 0); the same decision as the detector's keeps the detector's BSI."""
    from osteoscan.lesions.analyzer import agreeing
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.simulate.study import simulate_study

    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("no bundled hotspot detector installed")
    scan = simulate_study(31, site="site_a", force_label="metastasis").scan
    res = det.analyze(scan)
    assert res.bsi > 0 and all("bsi_share" in h.features for h in res.hotspots)
    same = agreeing(res, 1.0, positive=True)
    assert same.malignant_count == res.malignant_count and same.bsi == pytest.approx(res.bsi)
    assert sum(r.bsi for r in same.regions) == pytest.approx(same.bsi)
    normal = agreeing(res, 0.2, positive=False)
    assert normal.bsi == 0.0 and normal.malignant_count == 0
    found_normal = dataclasses.replace(res, bsi=0.0, malignant_count=0, threshold=1.0,
                                       probability=0.1)
    forced = agreeing(found_normal, 0.7, positive=True)  # the image model: metastatic
    top = max(res.hotspots, key=lambda h: h.probability)
    lesion = [top] + [h for h in res.hotspots if h.view != top.view
                      and top.match is not None and h is res.by_view[h.view][top.match]]
    assert forced.malignant_count >= 1
    assert forced.bsi >= sum(h.features["bsi_share"] for h in lesion) - 1e-9 > 0
    # the region table counts lesions as the headline does (one lesion's pieces once)
    assert sum(r.malignant for r in same.regions) == same.malignant_count
    assert sum(r.malignant for r in forced.regions) == forced.malignant_count
