"""The detector's patch CNN (cnn_p): patches at a fixed physical scale, out-of-fold training
records, the same feature in training records and in HotspotDetector.analyze, reload."""

from types import SimpleNamespace

import numpy as np
import pytest

from osteoscan.lesions.candidates import ViewMaps
from osteoscan.lesions.context import BodyFrame
from osteoscan.lesions.detector_records import simulated_records, study_record
from osteoscan.lesions.detector_train import fit_detector
from osteoscan.lesions.patches import CHANNELS, PATCH_PX, Z_MIN, view_patches
from osteoscan.lesions.patchnet import PatchScorer, fit_patch_net, with_cnn_p
from osteoscan.lesions.patient import PATCH_FEATURE, HotspotDetector
from osteoscan.simulate.study import simulate_study

SMALL = {"max_iter": 10, "learning_rate": 0.2, "max_leaf_nodes": 8, "min_samples_leaf": 10,
         "early_stopping": False}
TINY = {"epochs": 1, "samples": 256, "batch": 64, "width": 4, "neg_fraction": 0.1}


def test_patches_have_the_same_physical_scale_at_any_pixel_size():
    """A blob (Gaussian, sigma 8 mm) gives the same patch at 2 mm and at 4 mm pixels, 8 px
    wide at half maximum (2 mm per patch pixel), and the mirror channel shows the other side
    of the midline."""
    out = []
    for px in (2.0, 4.0):
        n = int(round(600 / px))
        rr, cc = np.mgrid[:n, :n // 2] * px
        z = 1.0 + 4.0 * np.exp(-((rr - 300) ** 2 + (cc - 100) ** 2) / (2 * 8.0 ** 2))
        ones = np.ones(z.shape, bool)
        maps = ViewMaps(z.astype(np.float32), np.ones_like(z, np.float32), ones, ones, 1.0,
                        (px, px))
        frame = BodyFrame(0.0, 100.0, 0.0, 150.0 / px, 50.0)  # midline at 150 mm
        hot = SimpleNamespace(features={"peak_row": 300 / px, "peak_col": 100 / px})
        p = view_patches([hot], maps, frame)[0].astype(np.float32)
        assert (np.abs(p[1]) < 0.01).all()  # the mirrored point (200 mm) is normal bone
        out.append(p[0])
    np.testing.assert_allclose(out[0], out[1], atol=0.12)
    half = np.exp(out[0][PATCH_PX // 2]) > 3.0  # above half the blob's height, centre row
    assert 8 <= half.sum() <= 10  # 2 x 1.18 x 8 mm = 18.8 mm at 2 mm per pixel


def test_record_patches_match_the_candidates():
    sim = simulate_study(5, site="site_a", force_label="metastasis")
    rec = study_record(sim, patches=True)
    assert rec["patches"].shape == (len(rec["X"]), len(CHANNELS), PATCH_PX, PATCH_PX)
    assert rec["patches"].dtype == np.float16
    assert float(rec["patches"].min()) >= np.log(Z_MIN) - 1e-2
    # the centre of a patch is its candidate's peak: brighter than the patch's mean
    c = PATCH_PX // 2
    centre = rec["patches"][:, 0, c - 1:c + 1, c - 1:c + 1].astype(np.float32).mean(axis=(1, 2))
    assert (centre > rec["patches"][:, 0].astype(np.float32).mean(axis=(1, 2))).mean() > 0.9
    plain = study_record(sim)
    assert "patches" not in plain and np.array_equal(plain["X"], rec["X"])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    cache = tmp_path_factory.mktemp("records")
    train = simulated_records(["site_a"], range(900, 904), cache, patches=True)
    select = simulated_records(["site_b"], range(950, 953), cache, patches=True)
    scorer, train_oof = with_cnn_p(train, folds=2, **TINY)
    return fit_detector(train_oof, select, hgb_params=SMALL, patch=scorer), train, train_oof


def test_training_cnn_p_is_out_of_fold(fitted):
    det, train, train_oof = fitted
    assert all(len(r[PATCH_FEATURE]) == len(r["X"]) for r in train_oof)
    assert all(PATCH_FEATURE not in r for r in train)  # the inputs are not modified
    # out of fold: the shipped network gives other probabilities on its own training studies
    shipped = np.concatenate([det.patch.predict(r["patches"]) for r in train])
    oof = np.concatenate([r[PATCH_FEATURE] for r in train_oof])
    assert not np.allclose(shipped, oof)
    width = len(det.context_features) + 1  # the context columns, then cnn_p
    assert det.forest.predict_proba(np.zeros((1, width))).shape == (1,)


def test_cnn_p_is_the_same_in_records_and_in_analyze(fitted, tmp_path):
    det, _, _ = fitted
    sim = simulate_study(951, site="site_b", force_label="metastasis")
    rec = study_record(sim, patches=True)
    res = det.analyze(sim.scan)
    got = np.array([h.features[PATCH_FEATURE] for h in res.hotspots])
    np.testing.assert_allclose(got, det.patch.predict(rec["patches"]), atol=1e-6)
    det.save(tmp_path)
    again = HotspotDetector.load(tmp_path)
    assert again.card["features"][-1] == PATCH_FEATURE
    assert again.analyze(sim.scan).probability == pytest.approx(res.probability, abs=1e-9)
    assert (tmp_path / "hotspot_patch.safetensors").stat().st_size < 1_000_000


def test_detector_without_patch_net_still_loads(fitted, tmp_path):
    det, _, _ = fitted
    HotspotDetector(det.forest, det.regions, dict(det.card), det.stage2, det.bsi_model).save(tmp_path)
    plain = HotspotDetector.load(tmp_path)  # no hotspot_patch files: trees on FEATURES only
    assert plain.patch is None and not (tmp_path / "hotspot_patch.json").exists()


def test_patch_net_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)
    patches = rng.normal(size=(200, 2, PATCH_PX, PATCH_PX)).astype(np.float16)
    patches[y == 1, 0, 12:20, 12:20] += 3  # a bright centre: learnable
    net = fit_patch_net([{"patches": patches, "y": y}], epochs=3, samples=600, batch=50, width=4,
                        neg_fraction=1.0)
    p = net.predict(patches)
    assert p[y == 1].mean() > p[y == 0].mean()
    net.save(tmp_path / "net")
    np.testing.assert_allclose(PatchScorer.load(tmp_path / "net").predict(patches), p, atol=1e-6)
