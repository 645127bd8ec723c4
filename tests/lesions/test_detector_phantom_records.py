"""Training records of studies read from a manifest (an independent phantom's cohort):
osteoscan.lesions.detector_records.manifest_record / manifest_records."""

import numpy as np
import pytest

from osteoscan.lesions.detector_records import _area_contribution
from tests.lesions.conftest import SMALL


def test_the_bsi_is_spread_over_the_metastases_by_their_mean_area():
    a = np.zeros((20, 20), np.int32)
    a[0:2, 0:5] = 1    # 10 pixels
    a[5:11, 0:5] = 2   # 30 pixels
    a[15:20, 15:20] = 3  # benign: gets nothing
    p = np.zeros_like(a)
    p[0:2, 0:5] = 1    # 10
    p[5:11, 0:5] = 2   # 30
    share = _area_contribution({"anterior": a, "posterior": p}, {1, 2}, 2.0)
    assert share == pytest.approx({1: 0.5, 2: 1.5})
    assert _area_contribution({"anterior": a}, set(), 2.0) == {}
    # a metastasis the masks do not hold: no area, no share, and nothing divides by zero
    assert _area_contribution({"anterior": np.zeros((4, 4), np.int32)}, {7}, 1.0) == {}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, fitted):
    """A two-study simulated cohort written as files (DICOM, masks, manifest), and the small
    fitted detector whose region lookup labels its candidates."""
    from osteoscan.simulate.writer import write_cohort

    out = tmp_path_factory.mktemp("phantom")
    manifest = write_cohort(out, 2, seed=31, prevalence=1.0, studies_per_patient=1.0)
    return manifest, fitted[0]


def test_a_manifest_study_is_labelled_like_the_simulator_labels_it(cohort, tmp_path):
    """The same study as a manifest record and as a simulator record: the same candidates,
    labels and lesion ids; the regions come from the detector's lookup; each view's BSI
    shares add up to at most the true BSI, and to all of it where every metastasis is hit."""
    import osteoscan as osc
    from osteoscan.lesions.data import study_from_row
    from osteoscan.lesions.detector_records import manifest_record, study_record
    from osteoscan.simulate.writer import cohort_plan, render_plan

    manifest, det = cohort
    m = osc.read_manifest(manifest)
    area = np.full(20, 0.01)
    for i in range(len(m.frame)):
        st = study_from_row(m, i, "mask")
        rec = manifest_record(st, det.codes, area)
        assert rec["label"] == 1 and rec["bsi"] == pytest.approx(st.bsi)
        assert set(rec["malignant_ids"]) == {k for k, v in st.lesion_labels.items()
                                             if v == "malignant"}
        assert rec["y"].sum() > 0 and set(rec["truth_id"][rec["y"] > 0]) <= set(
            rec["malignant_ids"])
        assert np.array_equal(rec["region"], det.codes(_arrays(rec)))
        for v in (0, 1):
            found = rec["bsi_share"][rec["view"] == v].sum()
            assert 0 < found <= rec["bsi"] + 1e-9
        assert rec["region_area"].tolist() == area.tolist()
    # the simulator's own record of the first study (the files hold its pixels exactly):
    # the same candidates and truth
    sim = render_plan(cohort_plan(0, seed=31, sites=("site_a",), difficulty=0.5,
                                  prevalence=1.0, studies_per_patient=1.0)).study
    ref = study_record(sim)
    rec = manifest_record(study_from_row(m, 0, "mask"), det.codes, area)
    for k in ("X", "y", "truth_id", "hit_id", "mask_ids", "malignant_ids", "group", "view"):
        assert np.array_equal(ref[k], rec[k]), k


def _arrays(rec):
    from osteoscan.lesions.arrays import record_arrays

    return record_arrays(rec)


def test_manifest_records_are_cached_and_skip_an_unreadable_study(cohort, tmp_path, caplog,
                                                                  monkeypatch):
    import shutil

    import osteoscan.lesions.detector_records as dr

    manifest, det = cohort
    src = manifest.parent
    copy = tmp_path / "cohort"
    shutil.copytree(src, copy)
    m = __import__("osteoscan").read_manifest(copy / "manifest.csv")
    broken = copy / m.value(1, "image").split(";")[0].split(":")[-1]
    broken.write_bytes(b"not a dicom file")
    cache = tmp_path / "cache"
    recs = dr.manifest_records(copy / "manifest.csv", cache, det.codes, np.ones(20))
    assert len(recs) == 1
    assert "skipped" in caplog.text and m.value(1, "study_id") in caplog.text
    assert [p.name for p in cache.iterdir()] == [f"{m.value(0, 'study_id')}.npz"]

    def fail(*a, **k):
        raise AssertionError("a cached study was made again")

    monkeypatch.setattr(dr, "manifest_record", fail)  # the cached one is read back
    again = dr.manifest_records(copy / "manifest.csv", cache, det.codes, np.ones(20))
    assert len(again) == 1 and np.array_equal(again[0]["X"], recs[0]["X"])


def test_a_detector_fits_on_simulated_and_manifest_records_together(cohort, tmp_path):
    from osteoscan.lesions.detector_records import manifest_records, simulated_records
    from osteoscan.lesions.detector_train import fit_detector

    manifest, det = cohort
    own = simulated_records(["site_a"], range(900, 904), tmp_path)
    phantom = manifest_records(manifest, tmp_path / "ph", det.codes,
                               np.median([r["region_area"] for r in own], axis=0))
    fitted = fit_detector(own + phantom, own[:3], hgb_params=SMALL)
    assert fitted.card["train_studies"] == len(own) + len(phantom) == 6
    p = fitted.forest.predict_proba(fitted.tree_inputs(_arrays(phantom[0])))
    assert p.shape == (len(phantom[0]["y"]),) and np.all((p >= 0) & (p <= 1))
