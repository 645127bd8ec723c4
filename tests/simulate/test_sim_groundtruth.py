"""Ground truth of the simulator: masks on the hot pixels, contrast, BSI, labels, annotations."""

import numpy as np
import pytest
from skimage.draw import polygon as draw_polygon

from osteoscan.errors import ConfigError
from osteoscan.simulate import simulate_study
from osteoscan.simulate.groundtruth import bone_scan_index
from osteoscan.simulate.lesions import Difficulty
from osteoscan.skeleton import MASS_FRACTION, REGION_CODE, REGIONS

from .conftest import render


def _ring(mask: np.ndarray, width: int = 3) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, iterations=width) & ~mask


def _measured(r, les, view):
    m = r.study.lesion_masks[view] == les.id
    return m, float(r.expected[view][m].mean() / r.expected_no_lesions[view][m].mean())


def _gain(r, les, view):
    """How much the lesion raises its mask against the ring around it on one view, relative
    to the same phantom without lesions (a thin host bone may sit among brighter ones)."""
    m = r.study.lesion_masks[view] == les.id
    ring = _ring(m) & r.study.bone_mask & (r.study.lesion_masks[view] == 0)
    if m.sum() < 4 or ring.sum() < 4:
        return None
    with_les = r.expected[view][m].mean() / r.expected[view][ring].mean()
    return with_les / (r.expected_no_lesions[view][m].mean()
                       / r.expected_no_lesions[view][ring].mean())


def test_masks_sit_on_hot_pixels(met_renders):
    checked = 0
    for r in met_renders:
        for les in r.study.lesions:
            if les.contrast < 1.8 or les.kind == "paget":
                continue
            gains = [g for v in les.views if (g := _gain(r, les, v)) is not None]
            if not gains:
                continue
            assert max(gains) > 1.1, les
            checked += 1
    assert checked >= 5


def test_lesion_contrast_within_asked_range(met_renders):
    n = 0
    for r in met_renders:
        for les in r.study.lesions:
            m, ratio = max((_measured(r, les, v) for v in les.views), key=lambda t: abs(t[1] - 1))
            c = les.contrast
            if c > 1:  # blur and overlying activity dilute, never amplify, the asked contrast
                assert 1.0 + 0.15 * (c - 1) < ratio <= c + 1e-3, (les, ratio)
            else:
                assert c - 1e-3 <= ratio < 1.0 - 0.05, (les, ratio)
            n += 1
    assert n >= 8


def test_bsi_matches_masks(met_renders):
    for r in met_renders:
        st = r.study
        mal = [les.id for les in st.lesions if les.malignant]
        reg = st.region_maps["anterior"]
        involved = np.isin(st.lesion_masks["anterior"], mal) | np.isin(st.lesion_masks["posterior"], mal)
        expect = 0.0
        for name in REGIONS[1:]:
            region = reg == REGION_CODE[name]
            if region.any():
                expect += MASS_FRACTION[name] * (involved & region).sum() / region.sum()
        assert st.bsi == pytest.approx(100 * expect, abs=1e-3)
        assert st.bsi > 0
        assert bone_scan_index(st.lesion_masks, mal, reg) == pytest.approx(st.bsi, abs=1e-3)


def test_bsi_of_whole_skeleton_is_100():
    reg = np.zeros((20, 14), dtype=np.uint8)
    for code in range(1, len(REGIONS)):
        reg[code, :] = code
    masks = {"anterior": (reg > 0).astype(np.int32), "posterior": np.zeros_like(reg, np.int32)}
    assert bone_scan_index(masks, [1], reg) == pytest.approx(100.0)


def test_labels_counts_and_annotations_consistent(met_renders, normal_render):
    for r in met_renders:
        st = r.study
        mal = [les for les in st.lesions if les.malignant]
        assert st.label.label == "metastasis" and st.label.lesion_count == len(mal) >= 1
        assert st.multiclass_label in ("adenocarcinoma", "non_adenocarcinoma")
        assert st.scan.views[1].view == "posterior" and st.scan.views[1].rule == "caller"
        for les in st.lesions:
            assert les.region in REGIONS[1:] and les.views
            for view in ("anterior", "posterior"):
                assert ((st.lesion_masks[view] == les.id).any()) == (view in les.views) or \
                    any(o.id != les.id for o in st.lesions)
        n_ann = sum(len(les.views) for les in st.lesions)
        assert len(st.label.annotations) == n_ann
    st = normal_render.study
    assert st.label.label == "normal" and st.multiclass_label == "no_metastasis"
    assert st.label.lesion_count == 0 and st.bsi == 0.0
    assert all(not les.malignant for les in st.lesions)


def test_annotation_polygons_match_masks(met_renders):
    st = met_renders[0].study
    for ann in st.label.annotations:
        pts = np.array(ann.points)
        rr, cc = draw_polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, st.scan.shape)  # edge -> centre
        poly = np.zeros(st.scan.shape, bool)
        poly[rr, cc] = True
        ids = st.lesion_masks[ann.view][poly]
        inside = np.bincount(ids[ids > 0]).argmax() if (ids > 0).any() else 0
        les = st.lesions[inside - 1]
        mask = st.lesion_masks[ann.view] == les.id
        iou = (mask & poly).sum() / (mask | poly).sum()
        assert iou > 0.5 and (ann.label == "malignant") == les.malignant


def test_annotations_rasterise_back_onto_masks_through_io(met_renders):
    from osteoscan.io import annotations_to_mask

    st = met_renders[1].study
    for view in ("anterior", "posterior"):
        for les in st.lesions:
            if view not in les.views or les.kind == "paget":
                continue
            ann = [a for a in st.label.annotations if a.view == view]
            want = st.lesion_masks[view] == les.id
            if want.sum() < 10:  # partly covered by a later, overlapping finding
                continue
            got = [annotations_to_mask((a,), st.scan.shape, view=view) > 0 for a in ann]
            best = max(((g & want).sum() / (g | want).sum() for g in got), default=0.0)
            assert best > 0.9, (les, best)


def test_region_maps_cover_the_skeleton(normal_render):
    st = normal_render.study
    reg = st.region_maps["anterior"]
    assert reg.dtype == np.uint8 and np.array_equal(reg > 0, st.bone_mask)
    present = set(np.unique(reg)) - {0}
    assert present == set(range(1, len(REGIONS)))
    col_of = lambda name: np.nonzero(reg == REGION_CODE[name])[1].mean()  # noqa: E731
    assert abs(col_of("thoracic_spine") - col_of("ribs")) < 4  # spine inside a symmetric cage
    assert abs(col_of("thoracic_spine") - st.scan.shape[1] / 2) < 25
    rows = {n: np.nonzero(reg == REGION_CODE[n])[0].mean() for n in REGIONS[1:]}
    assert rows["skull"] < rows["cervical_spine"] < rows["thoracic_spine"] < rows["lumbar_spine"]
    assert rows["lumbar_spine"] < rows["sacrum"] < rows["femurs"]


def test_difficulty_scales_contrast_size_count_and_confounders():
    easy, hard = Difficulty(0.2), Difficulty(0.8)
    assert easy.excess_median > hard.excess_median and easy.size_scale > hard.size_scale
    assert easy.p_oligo < hard.p_oligo and easy.benign_rate < hard.benign_rate
    e = [les.contrast for s in range(4) for les in
         render(s, force_label="metastasis", difficulty=0.1, primary="lung").study.lesions
         if les.kind == "metastasis"]
    h = [les.contrast for s in range(4) for les in
         render(s, force_label="metastasis", difficulty=0.9, primary="lung").study.lesions
         if les.kind == "metastasis"]
    assert np.median(e) > np.median(h) + 0.5


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="difficulty"):
        simulate_study(0, difficulty="impossible")
    with pytest.raises(ConfigError, match="difficulty"):
        simulate_study(0, difficulty=1.5)
    with pytest.raises(ConfigError, match="site"):
        simulate_study(0, site="site_z")
    with pytest.raises(ConfigError, match="force_label"):
        simulate_study(0, force_label="maybe")
    with pytest.raises(ConfigError, match="primary"):
        simulate_study(0, primary="kidney")


def test_multiclass_force_and_primary():
    st = simulate_study(4, force_label="non_adenocarcinoma")
    assert st.multiclass_label == "non_adenocarcinoma" and st.label.primary == "lung"
    st = simulate_study(4, force_label="metastasis", primary="prostate")
    assert st.label.primary == "prostate" and st.multiclass_label == "adenocarcinoma"
