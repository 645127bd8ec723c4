"""The picture-domain variant of the hotspot detector (docs/robustness.md, "The picture-domain
detector"): which studies are pictures, routing, save/load, the Predictor's threshold, the
matched false-positive calibration, and the bundled variant."""

import json
from dataclasses import replace

import numpy as np
import pytest

from osteoscan.io import load_study
from osteoscan.lesions.augment import augment_scan
from osteoscan.lesions.candidates import is_picture
from osteoscan.lesions.context import FEATURES
from osteoscan.lesions.patient import PICTURE_DIR, HotspotDetector
from osteoscan.simulate.study import simulate_study
from osteoscan.simulate.variants import Variant, render_variants, screen_export, write_variant_dicom
from tests.lesions.test_detector_patient import _hand_detector


@pytest.fixture(scope="module")
def renderings(tmp_path_factory):
    """One simulated patient read back from its DICOM NM and from its 8-bit PNG export."""
    tmp = tmp_path_factory.mktemp("picture")
    v = Variant(1.5e6, 2.4)
    st = render_variants(910001, [v], site="profile_9001", force_label="metastasis")[v]
    pic = tmp / "export.png"
    pic.write_bytes(screen_export(st))
    return {"dcm": load_study(write_variant_dicom(st, tmp / "dcm", seed=1)),
            "png": load_study(pic), "sim": st}


def test_readers_say_which_studies_are_pictures(renderings):
    assert is_picture(renderings["png"])
    assert not is_picture(renderings["dcm"]) and not is_picture(renderings["sim"].scan)
    st = renderings["sim"]
    exported = augment_scan(st.scan, np.random.default_rng(0), "export", st.bone_mask)
    assert is_picture(exported) and exported.spacing_mm is None
    assert exported.anterior.max() <= 255 and exported.shape == st.scan.shape


def _pair():
    """A count detector and a picture variant that answer differently (other leaf)."""
    det, pic = _hand_detector(0.5, -1.0, leaf=-4.0), _hand_detector(0.6, -1.0, leaf=3.0)
    pic.card["domain"] = "picture"
    return replace(det, picture=pic), det, pic


def test_a_picture_goes_to_the_picture_variant_and_a_dicom_stays(renderings):
    both, alone, pic = _pair()
    png, dcm = renderings["png"], renderings["dcm"]
    assert both.for_scan(png) is pic and both.for_scan(dcm) is both
    got, want = both.analyze(png), pic.analyze(png)
    assert got.probability == want.probability and got.bsi == want.bsi
    assert got.probability != alone.analyze(png).probability
    # a count study: bit-identical to the detector without a picture variant
    a, b = both.analyze(dcm), alone.analyze(dcm)
    assert a.probability == b.probability and a.bsi == b.bsi
    assert [h.probability for h in a.hotspots] == [h.probability for h in b.hotspots]


def test_the_picture_variant_is_saved_and_loaded_beside_the_trees(renderings, tmp_path):
    both, _, pic = _pair()
    both.save(tmp_path)
    card = json.loads((tmp_path / PICTURE_DIR / "hotspot_detector.json").read_text())
    assert card["domain"] == "picture"
    back = HotspotDetector.load(tmp_path)
    assert back.picture is not None and back.picture.card["domain"] == "picture"
    png = renderings["png"]
    assert back.analyze(png).probability == pytest.approx(pic.analyze(png).probability, abs=1e-12)
    alone = HotspotDetector.load(tmp_path / PICTURE_DIR)
    assert alone.picture is None


def test_a_stale_picture_variant_leaves_the_count_detector_working(renderings, tmp_path):
    """After a change of the candidate features the picture card no longer matches: the
    count detector still loads and answers pictures too, until the variant is rebuilt."""
    both, alone, _ = _pair()
    both.save(tmp_path)
    path = tmp_path / PICTURE_DIR / "hotspot_detector.json"
    card = json.loads(path.read_text())
    card["features"] = [*card["features"][:-1], "a_feature_this_code_lacks"]
    path.write_text(json.dumps(card))
    back = HotspotDetector.load(tmp_path)
    assert back.picture is None
    png = renderings["png"]
    assert back.analyze(png).probability == pytest.approx(alone.analyze(png).probability,
                                                          abs=1e-12)


def test_predictor_decides_at_the_threshold_of_the_detector_that_answered(renderings):
    """p = sigmoid(4 x 0.5 - 1.15) = 0.70 for every study: above the reference card's own
    threshold (0.44), below the count detector's 0.90, above the picture variant's 0.60."""
    from osteoscan.inference import Predictor

    det, pic = _hand_detector(0.90, -1.15, leaf=0.0), _hand_detector(0.60, -1.15, leaf=0.0)
    both = replace(det, picture=pic)
    pred = Predictor.default(lesion_analyzer=both, lesion_decides=True, gradcam=False)
    on_dcm, on_png = pred.predict(renderings["dcm"]), pred.predict(renderings["png"])
    assert on_dcm.probability == pytest.approx(0.70, abs=0.01)
    assert on_dcm.threshold == pytest.approx(0.90) and not on_dcm.positive
    assert on_png.threshold == pytest.approx(0.60) and on_png.positive
    assert on_dcm.bsi == 0.0 and on_png.bsi > 0
    assert "picture variant" in on_png.model["decided_by"]
    assert "picture" not in on_dcm.model["decided_by"]


def test_calibrate_keeps_the_false_positive_rate_at_most_the_cap():
    from osteoscan.lesions.context import FEATURES
    from osteoscan.lesions.detector_train import arrays, calibrate

    det = _hand_detector(0.5, 0.0, leaf=0.0)
    rng = np.random.default_rng(0)
    top = np.r_[rng.uniform(0.3, 1.0, 50), rng.uniform(0.0, 0.7, 50)]  # overlapping scores
    records = [{"X": np.zeros((1, len(FEATURES))), "view": np.zeros(1, int),
                "group": np.zeros(1, int), "head_mm": np.array(200.0),
                "label": np.array(int(i < 50))} for i in range(100)]
    probs = [np.array([t]) for t in top]
    calibrate(det, records, probs=probs)
    free = det.card["decision_threshold"]
    calibrate(det, records, probs=probs, max_fpr=0.02)
    capped = det.card["decision_threshold"]
    p = np.array([det.patient_probability(arrays(r), q, det.codes(arrays(r)))
                  for r, q in zip(records, probs, strict=True)])
    y = np.arange(100) < 50
    assert capped > free
    assert (p[~y] >= capped).mean() <= 0.02 < (p[~y] >= free).mean()
    assert det.card["max_fpr"] == 0.02


def test_bundled_picture_variant_shares_the_feature_code(renderings):
    """When the bundle ships a picture variant: its card names the domain, its features are
    this code's columns (the load checks them; it may take other columns than the count
    detector: its own recipe, scripts/build_detector.py), the count detector's card does not
    change, and a DICOM gets the same answer as from the bundle without the variant."""
    from osteoscan.artefacts import LESION_ASSETS_DIR
    from osteoscan.lesions.patient import bundled_detector_or_none

    if not (LESION_ASSETS_DIR / PICTURE_DIR / "hotspot_detector.json").is_file():
        pytest.skip("no bundled picture variant")
    det = bundled_detector_or_none()
    assert det is not None and det.picture is not None
    assert det.picture.card["domain"] == "picture" and "domain" not in det.card
    assert set(det.picture.card["features"]) <= set(FEATURES)
    size = sum(p.stat().st_size for p in LESION_ASSETS_DIR.rglob("*") if p.is_file())
    assert size <= 25e6
    dcm, png = renderings["dcm"], renderings["png"]
    a, b = det.analyze(dcm), replace(det, picture=None).analyze(dcm)
    assert a.probability == b.probability and a.bsi == b.bsi
    assert det.analyze(png).probability == det.picture.analyze(png).probability


def test_simulated_study_is_a_count_study():
    scan = simulate_study(5, site="site_a").scan
    assert not is_picture(scan)
