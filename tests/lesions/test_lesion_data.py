"""Lesion training studies read back from a written cohort (masks, polygons, boxes)."""

import numpy as np
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
