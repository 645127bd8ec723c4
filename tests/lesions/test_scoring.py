"""Scoring a lesion stage: the paired differences of a stage with itself are zero, and the
figures hold what the docs name."""

import pytest

from osteoscan.lesions.patient import bundled_lesion_stage
from osteoscan.lesions.scoring import figures, outcomes, paired


@pytest.fixture(scope="module")
def scored():
    from osteoscan.lesions.pipeline import simulate_studies

    stage = bundled_lesion_stage()
    if stage is None:
        pytest.skip("no bundled lesion stage")
    studies = simulate_studies(4, seed=4242, sites=("site_c",), prevalence_metastasis=0.5)
    return outcomes(stage, studies)


def test_a_stage_against_itself_differs_by_nothing(scored):
    diff = paired(scored, scored, n_boot=50)
    for name in ("auc", "cpm", "sens@1", "bsi_r", "bsi_mae"):
        value, (lo, hi) = diff[name]["value"], diff[name]["ci"]
        assert value == pytest.approx(0.0, abs=1e-12) or value != value  # NaN: AUC undefined
        assert (lo != lo) or (abs(lo) < 1e-12 and abs(hi) < 1e-12)
    with pytest.raises(ValueError, match="same studies"):
        paired(scored, scored[::-1])


def test_figures_name_the_documented_blocks(scored):
    f = figures(scored, n_boot=50)
    assert f["studies"] == 4 and {"normals", "called", "bsi"} <= set(f)
    if f["metastatic"]:
        assert set(f["froc_metastasis_ci"]) == {"cpm", "sens@1"}
        lo, hi = f["froc_metastasis_ci"]["cpm"]
        assert lo <= f["froc_metastasis"]["cpm"] <= hi


@pytest.mark.parametrize("label, lesions, y", [
    ("metastasis", {}, 1), ("Metastatic", {}, 1), ("normal", {}, 0), ("no_metastasis", {}, 0),
    ("non-metastatic", {}, 0), ("No metastasis", {}, 0), ("", {1: "malignant"}, 1),
    ("normal", {1: "benign"}, 0)])
def test_study_label_reads_the_label_and_the_lesions(label, lesions, y):
    from types import SimpleNamespace

    from osteoscan.lesions.scoring import study_label

    assert study_label(SimpleNamespace(meta={"label": label}, lesion_labels=lesions)) == y
