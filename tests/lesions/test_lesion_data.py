"""Lesion training studies read back from a written cohort (masks, polygons, boxes)."""

import pytest

from osteoscan.evaluation.lesions import dice_score
from osteoscan.lesions.data import studies_from_manifest
from osteoscan.simulate.writer import write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return write_cohort(tmp_path_factory.mktemp("cohort"), 2, seed=4, prevalence=1.0)


def test_mask_supervision_matches_polygons_and_truth_labels(cohort):
    masks, failed = studies_from_manifest(cohort, "mask")
    polys, _ = studies_from_manifest(cohort, "polygon")
    assert not failed and len(masks) == 2
    st = masks[0]
    assert st.region_maps and st.region_maps["anterior"].max() > 0 and st.bsi is not None
    assert "malignant" in st.lesion_labels.values()
    for view in ("anterior", "posterior"):
        assert dice_score(st.lesion_masks[view] > 0, polys[0].lesion_masks[view] > 0) > 0.6


def test_box_supervision_stays_inside_boxes(cohort):
    boxes, _ = studies_from_manifest(cohort, "box")
    masks, _ = studies_from_manifest(cohort, "mask")
    for view in ("anterior", "posterior"):
        pseudo, truth = boxes[0].lesion_masks[view] > 0, masks[0].lesion_masks[view] > 0
        assert pseudo.any() and dice_score(pseudo, truth) > 0.4


def test_bad_row_is_skipped_and_reported(cohort, tmp_path):
    import pandas as pd

    frame = pd.read_csv(cohort, dtype=str, keep_default_na=False)
    frame.loc[1, "lesion_masks"] = "labels/missing.png"
    bad = cohort.parent / "bad_manifest.csv"
    frame.to_csv(bad, index=False)
    studies, failed = studies_from_manifest(bad, "mask")
    assert len(studies) == 1 and len(failed) == 1 and "missing.png" in failed[0][1]


def test_capture_cohort_with_a_label_map_loads_boxes_in_view_coordinates(tmp_path):
    from osteoscan.simulate import write_capture_cohort

    manifest = write_capture_cohort(tmp_path, 2, layouts=("framed", "wide"), seed=3)
    studies, failed = studies_from_manifest(manifest, label_map=tmp_path / "label_map.yaml")
    assert not failed and len(studies) == 2
    for st in studies:
        anns = st.meta["annotations"]
        n_kept = sum(a.label != "ignore" for a in anns)
        assert len(st.lesion_labels) == n_kept
        for a in anns:
            (x0, y0), (x1, y1) = a.points[0], a.points[-1]
            h, w = st.scan.shape
            assert 0 <= min(x0, x1) and max(x0, x1) <= w and 0 <= min(y0, y1) and max(y0, y1) <= h
        assert st.scan.source.picture is not None
