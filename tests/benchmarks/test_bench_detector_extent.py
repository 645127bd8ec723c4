"""``benchmarks/bench_detector.py --n-extent``: the bundle's recipe fits the extent model on
fresh training-site studies and saves it with the detector (a tiny run)."""

import json

from osteoscan.lesions.patient import HotspotDetector


def test_a_fit_with_n_extent_saves_an_extent_model(tmp_path):
    from benchmarks.bench_detector import main

    save, out = tmp_path / "det", tmp_path / "result.json"
    code = main(["--train", "site_a", "--n-train", "6", "--select", "site_b", "--n-select", "6",
                 "--test", "site_c", "--n-test", "4", "--n-extent", "8", "--extent-seed",
                 "960000", "--no-baseline", "--timing", "0", "--count-band", "none",
                 "--cache", str(tmp_path / "cache"), "--save", str(save), "--out", str(out)])
    assert code == 0 and json.loads(out.read_text())["config"]["n_train"] == 6
    card = json.loads((save / "hotspot_detector.json").read_text())
    assert "extent" in card["forests"]
    assert HotspotDetector.load(save).extent is not None
