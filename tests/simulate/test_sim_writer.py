"""Files written by the simulator: DICOM per site style, manifest, LabelMe, masks, determinism."""

import csv
import hashlib
import json

import numpy as np
import pydicom
import pytest
from PIL import Image

from osteoscan.io import load_study, read_labelme
from osteoscan.simulate import SITES, simulate_study, write_cohort, write_study
from osteoscan.simulate.writer import MANIFEST_COLUMNS

REQUIRED = ("patient_id", "study_id", "image", "label", "site", "primary", "lesion_count",
            "annotations", "split", "multiclass_label", "bsi", "difficulty", "n_benign",
            "superscan")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One metastatic study per site, written with write_study."""
    out = tmp_path_factory.mktemp("sim")
    studies = {site: simulate_study(30 + k, site=site, force_label="metastasis")
               for k, site in enumerate(sorted(SITES))}
    rows = {site: write_study(st, out, seed=0) for site, st in studies.items()}
    return out, studies, rows


@pytest.mark.parametrize("site", sorted(SITES))
def test_every_file_loads_with_the_right_views(written, site):
    out, studies, rows = written
    st, row = studies[site], rows[site]
    scan = load_study(out / row["image"])
    assert [v.view for v in scan.views] == ["anterior", "posterior"]
    np.testing.assert_array_equal(scan.anterior, st.scan.anterior)
    np.testing.assert_array_equal(scan.posterior, st.scan.posterior)  # mirrored back correctly
    assert scan.spacing_mm == pytest.approx((SITES[site].spacing_mm,) * 2)
    assert scan.patient_id == st.patient_id
    assert scan.source.vendor == SITES[site].manufacturer
    expected_rule = {"site_a": "pixels", "site_b": "keyword", "site_c": "view_code"}[site]
    assert scan.views[1].rule == expected_rule


def test_dicom_tags_follow_the_site_style(written):
    out, _, rows = written
    a = pydicom.dcmread(out / rows["site_a"]["image"])
    assert a.SOPClassUID == "1.2.840.10008.5.1.4.1.1.20" and a.Modality == "NM"
    assert int(a.NumberOfFrames) == 2 and a.FrameIncrementPointer == 0x00540020
    assert list(a.ImageType) == ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    assert "ViewCodeSequence" not in a.DetectorInformationSequence[0]
    assert a.DetectorInformationSequence[1].StartAngle == 180
    assert a.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical == "Tc99m MDP"
    assert float(a.PixelSpacing[0]) == 2.4 and int(a.ScanLength) > 1000
    c = pydicom.dcmread(out / rows["site_c"]["image"])
    first = c.DetectorInformationSequence[0].ViewCodeSequence[0]
    assert first.CodeMeaning == "postero-anterior"  # posterior frame stored first
    files = sorted((out / rows["site_b"]["image"]).glob("*.dcm"))
    descs = sorted(pydicom.dcmread(f).SeriesDescription for f in files)
    assert descs == ["WB ANT", "WB POST"]
    # the posterior frame is stored as acquired: mirrored relative to BoneScan
    post = c.pixel_array[0]
    st_c = written[1]["site_c"]
    np.testing.assert_array_equal(post, st_c.scan.posterior[:, ::-1])


def test_labelme_round_trip_through_io(written):
    out, studies, rows = written
    st, row = studies["site_a"], rows["site_a"]
    files = row["annotations"].split(";")
    assert [f.rsplit("_", 1)[1] for f in files] == ["anterior.json", "posterior.json"]
    for view, f in zip(("anterior", "posterior"), files):
        anns = read_labelme(out / f, image_shape=st.scan.shape, view=view)
        mine = [a for a in st.label.annotations if a.view == view]
        assert len(anns) == len(mine) > 0
        for got, want in zip(anns, mine):
            assert got.view == view and got.label == want.label
            np.testing.assert_allclose(np.array(got.points), np.array(want.points), atol=0.01)
    boxes = json.loads((out / row["boxes"].split(";")[0]).read_text())
    assert {s["shape_type"] for s in boxes["shapes"]} == {"rectangle"}


def test_masks_and_region_maps_written(written):
    out, studies, rows = written
    st, row = studies["site_b"], rows["site_b"]
    for view, f in zip(("anterior", "posterior"), row["lesion_masks"].split(";")):
        arr = np.asarray(Image.open(out / f))
        np.testing.assert_array_equal(arr, st.lesion_masks[view])
    for view, f in zip(("anterior", "posterior"), row["region_maps"].split(";")):
        np.testing.assert_array_equal(np.asarray(Image.open(out / f)), st.region_maps[view])
    truth = json.loads((out / row["truth"]).read_text())
    assert truth["bsi"] == st.bsi and len(truth["lesions"]) == len(st.lesions)


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_cohort_is_deterministic_and_manifest_complete(tmp_path):
    kw = dict(seed=3, sites=("site_a", "site_b", "site_c"))
    m1 = write_cohort(tmp_path / "a", 4, **kw)
    m2 = write_cohort(tmp_path / "b", 4, workers=2, **kw)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    rows = list(csv.DictReader(m1.open()))
    assert len(rows) == 4 and tuple(rows[0]) == MANIFEST_COLUMNS
    assert set(REQUIRED) <= set(rows[0])
    for r in rows:
        assert (m1.parent / r["image"]).exists()
        assert all((m1.parent / p).exists() for p in r["annotations"].split(";"))
        assert r["label"] in ("normal", "metastasis") and r["split"] == ""
        assert (int(r["lesion_count"]) > 0) == (r["label"] == "metastasis")
    assert not list(tmp_path.rglob("*.tmp"))
    m3 = write_cohort(tmp_path / "c", 4, seed=4, sites=("site_a",))
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")
    assert m2.name == "manifest.csv"


def test_manifest_reads_through_io(tmp_path):
    from osteoscan.io import read_manifest

    m = write_cohort(tmp_path, 2, seed=1, sites=("site_c",))
    man = read_manifest(m)
    scan, label = man.load(0)
    assert scan.has_both_views and label.label in ("normal", "metastasis")


def test_gallery_png(written, tmp_path):
    from osteoscan.simulate.gallery import save_gallery

    _, studies, _ = written
    out = save_gallery([studies["site_a"]], tmp_path / "g.png", dpi=40)
    img = np.asarray(Image.open(out).convert("L"))
    assert img.shape[0] > img.shape[1] > 50 and img.min() < 60 and img.max() > 240


@pytest.mark.slow
def test_pixel_rule_views_right_on_many_site_a_studies(tmp_path):
    """site_a files carry no view tags: load_study must get every view right from pixels."""
    m = write_cohort(tmp_path, 40, seed=9, sites=("site_a",), difficulty="hard")
    for r in csv.DictReader(m.open()):
        scan = load_study(tmp_path / r["image"])
        truth = json.loads((tmp_path / r["truth"]).read_text())
        assert scan.views[0].rule == "pixels" and scan.patient_id == truth["patient_id"]
        ref = pydicom.dcmread(tmp_path / r["image"]).pixel_array  # anterior frame first
        np.testing.assert_array_equal(scan.anterior, ref[0])
