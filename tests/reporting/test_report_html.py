"""Per-study report, worklist, JSON record: content a reader relies on, not just "a file"."""

from __future__ import annotations

import csv
import importlib.util
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from osteoscan.inference import Prediction
from osteoscan.reporting.figures import gray_rgb, overlay
from osteoscan.reporting.html import render_report, write_index, write_report, write_worklist
from osteoscan.reporting.results import mask_rle, rle_mask, study_record
from osteoscan.types import Hotspot

_spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parents[1] / "_analyze_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


def _prediction(scan, *, hotspots=(), lesions=None, bsi=None, prob=0.83) -> Prediction:
    heat = np.zeros(scan.shape, np.float32)
    heat[90:110, 20:40] = 1.0
    return Prediction(
        study_id=scan.study_id, patient_id=scan.patient_id, probability=prob,
        probabilities={"normal": 1 - prob, "metastasis": prob}, decision="metastasis" if prob >= 0.4 else "normal",
        positive=prob >= 0.4, threshold=0.4, heatmaps={"anterior": heat, "posterior": heat},
        heatmap_class="metastasis", hotspots=list(hotspots), bsi=bsi, lesions=lesions,
        model={"architecture": "convnextv2_atto", "classes": ["normal", "metastasis"], "threshold": 0.4,
               "threshold_rule": "youden", "preprocess": {"views": "stack"}, "metrics": {"val_auc": 0.91}},
        explain={"layer": "stages.-1", "method": "split", "mapping": "stack"}, timings={"forward_gradcam": 0.1})


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def test_report_has_banner_views_heatmaps_provenance_and_model(tmp_path):
    scan = fx.make_scan(patient_id="P<script>x</script>")
    path = write_report(scan, _prediction(scan), tmp_path / "r" / "report.html")
    html = path.read_text()
    parser = _Tags()
    parser.feed(html)
    text = " ".join(parser.text)
    assert "Research use only" in text and "not for clinical decisions" in text
    assert "<script>x" not in html  # patient text is escaped
    srcs = [i["src"] for i in parser.imgs]
    assert len(srcs) == 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert sum("Grad-CAM on the" in i.get("alt", "") for i in parser.imgs) == 2
    assert "0.830" in text and "metastasis" in text and "0.400" in text
    assert "view_code" in text and "R-10214" in text  # how the views were identified
    assert "Tc99m MDP" in text and "1,780" in text or "1.78e+03" in text
    assert "convnextv2_atto" in text and "youden" in text
    assert "no lesion analyzer attached" in text
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp files left
    assert path.stat().st_mode & 0o044 == 0o044  # readable like any output (mkstemp gives 0600)


def test_report_renders_hotspots_regions_and_bsi_when_present(tmp_path):
    scan = fx.make_scan()
    mask = np.zeros(scan.shape, bool)
    mask[97:104, 27:34] = True
    hs = [Hotspot("anterior", 100.0, 30.0, 282.2, "thoracic_spine", 0.91, mask, uptake_ratio=3.2)]
    lesions = type("L", (), {"regions": [{"region": "thoracic_spine", "involved_pct": 4.1, "bsi": 0.13}]})()
    text = render_report(scan, _prediction(scan, hotspots=hs, lesions=lesions, bsi=0.13))
    assert "Bone Scan Index" in text and "0.13 %" in text
    assert "thoracic spine" in text and "thoracic_spine" not in text and "0.91" in text and "3.20" in text and "involved_pct" in text


def test_inverted_gray_and_overlay():
    view = np.zeros((20, 10), np.float32)
    view[5, 5] = 100.0
    view[6, 5] = 10.0
    g = gray_rgb(view)
    assert g[0, 0, 0] == 255 and g[5, 5, 0] == 0 and 0 < g[6, 5, 0] < 255
    heat = np.zeros_like(view)
    heat[5, 5] = 1.0
    o = overlay(view, heat)
    assert (o[0, 0] == 255).all() and not (o[5, 5] == g[5, 5]).all()


def test_rle_round_trip():
    rng = np.random.default_rng(1)
    for m in (rng.random((7, 9)) > 0.6, np.ones((3, 3), bool), np.zeros((2, 5), bool)):
        assert (rle_mask(mask_rle(m)) == m).all()
    assert mask_rle(np.array([[1, 1, 0]], bool))["counts"] == [0, 2, 1]


def test_study_record_is_json_with_hotspots(tmp_path):
    scan = fx.make_scan()
    mask = np.zeros(scan.shape, bool)
    mask[1:3, 1:3] = True
    hs = [Hotspot("posterior", 2.0, 2.0, 23.0, "skull", 0.5, mask)]
    rec = study_record(scan, _prediction(scan, hotspots=hs, bsi=0.2), masks=True, report="reports/x.html")
    back = json.loads(json.dumps(rec))
    assert back["schema"] == "osteoscan.analyze/1" and back["bsi"] == 0.2
    assert back["views"][1]["rule"] == "view_code" and back["gradcam"]["peaks"]["anterior"] == [90, 20]
    h = back["hotspots"][0]
    assert {"view", "row", "col", "area_mm2", "region", "probability"} <= set(h)
    assert rle_mask(h["mask_rle"]).sum() == 4


def test_worklist_sorted_by_probability_with_failures(tmp_path):
    recs = [{"patient_id": f"P{i}", "study_id": f"S{i}", "probability": p, "decision": "x",
             "positive": p > 0.5, "report": f"reports/S{i}.html"} for i, p in enumerate([0.2, 0.9, 0.5])]
    csv_path, html_path = write_worklist(recs, tmp_path, failures=[{"input": "bad.dcm", "error": "bad.dcm: not DICOM"}])
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["study_id"] for r in rows] == ["S1", "S2", "S0"] and rows[0]["rank"] == "1"
    html = html_path.read_text()
    assert html.index("S1") < html.index("S2") < html.index("S0")
    assert "bad.dcm: not DICOM" in html and "Research use only" in html


def test_index_page_links(tmp_path):
    p = write_index(tmp_path / "index.html", "Demo", [{"title": "Outputs", "links": [("Worklist", "a/worklist.html")]}])
    assert 'href="a/worklist.html"' in p.read_text()


@pytest.mark.parametrize("row_filter", [False, True])
@pytest.mark.parametrize("shape", [(40, 24), (40, 24, 3), (40, 24, 4)])
def test_png_bytes_round_trips_gray_rgb_and_rgba_exactly(shape, row_filter):
    import io

    from PIL import Image

    from osteoscan.reporting.figures import png_bytes

    a = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(a, row_filter=row_filter))))
    np.testing.assert_array_equal(back, a)  # channel order kept (OpenCV writes BGR)


def test_gray_u8_is_the_rounded_inverted_window():
    from osteoscan.reporting.figures import gray_u8, window

    rng = np.random.default_rng(3)
    view = rng.poisson(rng.uniform(0, 80, (64, 32))).astype(np.float32)
    view[:5] = 0.0
    expect = np.round(255.0 * (1.0 - window(view))).astype(int)
    assert np.abs(gray_u8(view).astype(int) - expect).max() <= 1  # OpenCV rounds halves to even
    assert np.abs(gray_u8(view, inverted=False).astype(int) - np.round(255.0 * window(view))).max() <= 1
    assert (gray_u8(view)[:5] == 255).all()  # no counts: white on the reading-station scale
    assert (gray_u8(np.zeros((8, 8), np.float32)) == 255).all()


def test_png_bytes_stores_equal_channels_as_gray():
    import io

    from PIL import Image

    from osteoscan.reporting.figures import png_bytes

    g = np.random.default_rng(2).integers(0, 256, (30, 20), dtype=np.uint8)
    img = Image.open(io.BytesIO(png_bytes(np.repeat(g[:, :, None], 3, axis=2))))
    assert img.mode == "L"
    np.testing.assert_array_equal(np.asarray(img), g)


def _png_shape(uri: str) -> tuple[int, int]:
    import base64
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    return img.height, img.width


def test_report_crops_views_to_the_body_and_lists_only_suspicious_hotspots():
    from dataclasses import replace

    scan = fx.make_scan(rows=256, cols=64)
    ant, post = scan.anterior.copy(), scan.posterior.copy()
    ant[150:], post[150:] = 0, 0  # the body ends at row 150: the rest of the field is empty
    scan = replace(scan, anterior=ant, posterior=post)
    mask = np.zeros(scan.shape, bool)
    mask[97:104, 27:34] = True
    hs = [Hotspot("anterior", 100.0, 30.0, 282.2, "thoracic_spine", 0.91, mask, uptake_ratio=3.2),
          Hotspot("anterior", 60.0, 25.0, 40.0, "ribs", 0.04, mask, uptake_ratio=1.1)]
    lesions = type("L", (), {"regions": [], "malignant_count": 1, "threshold": 0.5})()
    text = render_report(scan, _prediction(scan, hotspots=hs, lesions=lesions, bsi=0.13))
    parser = _Tags()
    parser.feed(text)
    shapes = {_png_shape(i["src"]) for i in parser.imgs if i.get("src", "").startswith("data:image/png")}
    gray = [s for s in shapes if s[1] > 16]  # the gray panels (the heat layer is 4x smaller)
    assert gray and all(150 - 10 <= h < 200 and h % 4 == 0 for h, _ in gray), shapes
    body = " ".join(parser.text)
    assert "1 of 2 candidates" in body and "Lesions called malignant" in body
    assert "0.91" in body and "0.04" not in body


def test_the_two_views_of_one_lesion_share_its_number_in_the_hotspot_table():
    from osteoscan.reporting.html import lesion_numbers, shown_hotspots

    scan = fx.make_scan(rows=256, cols=64)
    mask = np.zeros(scan.shape, bool)
    mask[97:104, 27:34] = True
    # anterior 0 <-> posterior 1 is one lesion; anterior 1 and posterior 0 stand alone
    hs = [Hotspot("anterior", 100.0, 30.0, 80.0, "lumbar_spine", 0.95, mask, match=1),
          Hotspot("anterior", 60.0, 20.0, 40.0, "ribs", 0.70, mask),
          Hotspot("posterior", 140.0, 40.0, 50.0, "pelvis", 0.80, mask),
          Hotspot("posterior", 101.0, 30.0, 90.0, "lumbar_spine", 0.60, mask, match=0)]
    pred = _prediction(scan, hotspots=hs)
    shown = shown_hotspots(pred)
    assert [h.probability for h in shown] == [0.95, 0.80, 0.70, 0.60]
    assert lesion_numbers(pred, shown) == [1, 2, 3, 1]
    parser = _Tags()
    parser.feed(render_report(scan, pred))
    assert "Lesion" in parser.text


def test_region_table_reads_in_words_and_percent():
    """The lesion stage's region rows get readable headers and the involvement in percent."""
    from osteoscan.lesions.burden import RegionRow

    scan = fx.make_scan()
    lesions = type("L", (), {"regions": [RegionRow("ribs", 40, 2, 0.0125, 0.12)]})()
    text = render_report(scan, _prediction(scan, lesions=lesions, bsi=0.12))
    for header in ("Candidates examined", "Lesions called malignant", "Involvement (%)",
                   "BSI share (%)"):
        assert f"<th>{header}</th>" in text
    assert "1.25" in text and ">involvement<" not in text
