"""The SPECT/CT simulator draws its features in millimetres (docs/volumes.md, "Features in
millimetres"): a rim, a cortex, a fracture gap and a haemangioma's trabeculae keep their
physical size on any grid (the grid only partial-volumes them), and drawing them does not
move the lesions, so a cohort's masks reproduce whatever the feature sizes."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate import volume_lesions as vl
from osteoscan.simulate import volume_render as vr
from osteoscan.simulate.volume_study import simulate_study

FINE, OLD = (2.5, 1.0, 1.0), (9.5, 4.4, 4.4)  # a site's CT; the earlier runs' --shape grid


def _sphere(spacing, centre, r: float, side: float = 60.0):
    """(mask, depth mm) of a sphere on a grid of that spacing."""
    shape = tuple(int(round(side / s)) for s in spacing)
    cv = vc.Canvas.empty(shape, spacing, (0.0, 0.0, 0.0))
    sl, d = vc.ellipsoid_depth(cv, centre, (r, r, r))
    depth = np.full(shape, -r, np.float32)
    depth[sl] = d
    return depth >= 0, depth


def _rim_over_true(spacing, radius: float, t: float, rng) -> float:
    """Rim volume drawn on the grid over the true shell's, mean over four places."""
    got = []
    for _ in range(4):
        mask, depth = _sphere(spacing, 30 + rng.uniform(-3, 3, 3), radius)
        rim = vl._rim(mask, depth, spacing, t)
        got.append(rim.sum() * np.prod(spacing)
                   / (4 / 3 * np.pi * (radius ** 3 - (radius - t) ** 3)))
    return float(np.mean(got))


@pytest.mark.parametrize("spacing", [FINE, OLD, (3.75, 0.83, 0.83)])
def test_a_rim_holds_its_true_volume_on_any_grid(spacing):
    """A 1.5 mm rim round lesions of 5-14 mm radius holds the true shell's volume within
    20 % on a site's grid and on the old 9.5 x 4.4 mm one; the earlier 1-voxel rim held
    the voxel (2-4x the shell on the old grid)."""
    rng = np.random.default_rng(5)
    for radius in (5.0, 9.0, 14.0):
        assert _rim_over_true(spacing, radius, vl.SCHMORL_RIM_MM, rng) == \
            pytest.approx(1.0, abs=0.2), radius


def test_a_lesion_rim_is_the_same_on_a_site_grid_and_on_the_old_grid():
    """As mm of rim (its volume over the true shell's, times the thickness), the 2 mm hot
    rim of a lytic lesion agrees within 0.5 mm on 2.5 x 1 mm and 9.5 x 4.4 mm voxels (a
    1-voxel rim differed by the voxel, 3.4-8.5 mm)."""
    rng = np.random.default_rng(7)
    for radius in (6.0, 12.0):
        fine = _rim_over_true(FINE, radius, vl.LYTIC_RIM_MM, rng) * vl.LYTIC_RIM_MM
        old = _rim_over_true(OLD, radius, vl.LYTIC_RIM_MM, rng) * vl.LYTIC_RIM_MM
        assert abs(fine - old) < 0.5, (radius, fine, old)
    mask, depth = _sphere(OLD, (30.0, 30.0, 30.0), 9.0)
    assert (vl._rim(mask, depth, OLD, 1.5)[~mask] == 0).all()


def test_the_cortex_is_its_thickness_in_mm_and_the_label_keeps_its_floor():
    """A vertebral body's 1.2 mm cortex, summed over its bone voxels (mean over grid offsets),
    is about 1.2 mm on both grids; the cortical *label* keeps the 0.75-voxel floor (where
    lesions land, as in every earlier cohort)."""
    a, b, h = 20.0, 15.0, 30.0
    area = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b))) * h + 2 * np.pi * a * b
    rng = np.random.default_rng(2)
    for spacing in (FINE, OLD):
        thick, label = [], []
        for _ in range(4):
            cv = vc.Canvas.empty(tuple(int(round(90 / s)) for s in spacing), spacing,
                                 (0.0, 0.0, 0.0))
            sl, depth = vc.cylinder_depth(cv, 45 + rng.uniform(-5, 5, 3), a, b, h)
            cv.paint_bone(sl, depth, vc.VERTEBRA, 1.2)
            thick.append(cv.cortex.astype(float).sum() * np.prod(spacing) / area)
            label.append((cv.labels == vc.CORTICAL).sum() * np.prod(spacing) / area)
        assert np.mean(thick) == pytest.approx(1.2, abs=0.35), spacing
        assert np.mean(label) >= 0.75 * spacing[1] * 0.6  # the floor stays on the label
    assert (cv.core[cv.labels == vc.CORTICAL] == vc.TRABECULAR).all()


def test_bone_values_mix_cortex_and_core_by_the_share():
    cv = vc.Canvas.empty((4, 8, 8), OLD, (0.0, 0.0, 0.0))
    cv.labels[:] = vc.TRABECULAR
    cv.core[:] = vc.TRABECULAR
    cv.cortex[:] = 0.25
    cv.labels[0], cv.core[0], cv.cortex[0] = vc.FAT, 0, 0
    table = np.arange(11, dtype=np.float32) * 100
    out = vr.tissue_values(table, cv)
    assert out[0].max() == table[vc.FAT]
    assert out[1:] == pytest.approx(0.25 * table[vc.CORTICAL] + 0.75 * table[vc.TRABECULAR])


@pytest.mark.parametrize("spacing", [FINE, OLD])
def test_a_fracture_gap_and_haemangioma_trabeculae_keep_their_mm(spacing):
    mask = np.ones(tuple(int(round(60 / s)) for s in spacing), bool)
    gap = vl._gap(mask, spacing)
    across = 1 + int(np.argmax(mask.shape[1:]))  # the longest in-plane side
    profile = gap.mean(axis=tuple(a for a in range(3) if a != across))
    assert profile.sum() * spacing[across] == pytest.approx(vl.FRACTURE_GAP_MM, abs=1e-4)
    plates = vl._trabeculae(mask, spacing)
    assert plates.mean() == pytest.approx(1 / 3, abs=0.04)  # a third of the body, any grid
    if spacing[2] <= 1.0:  # resolved: plates one period apart
        row = plates[0, 0] - plates[0, 0].mean()
        lag = int(round(vl.HAEMANGIOMA_PERIOD_MM / spacing[2]))
        assert np.corrcoef(row[:-lag], row[lag:])[0, 1] > 0.9


def test_a_texture_finer_than_the_voxel_fades_on_a_coarse_grid():
    rng = np.random.default_rng(0)
    fine = vr.smooth_texture(rng.normal(size=(40, 60, 60)), (1.0, 1.0, 1.0), 2.0)
    coarse = vr.smooth_texture(rng.normal(size=(40, 60, 60)), OLD, 2.0)
    expect = np.sqrt(np.prod([2.0 / np.hypot(2.0, s / np.sqrt(12)) for s in OLD]))
    assert coarse.std() == pytest.approx(expect, rel=0.01) and expect < 0.7
    assert fine.std() > 0.9


def test_feature_sizes_do_not_move_the_lesions(monkeypatch):
    """Drawing the features takes the same random numbers whatever their size, so the
    patient, its lesion masks and the lesion list do not depend on them: the earlier
    cohorts' masks reproduce exactly (docs/volumes.md)."""
    kinds = ["osteolytic", "schmorl", "haemangioma", "fracture", "mixed"]
    a = simulate_study(4, "profile_2", (24, 40, 40), primary="lung", kinds=kinds)
    for name, value in (("SCHMORL_RIM_MM", 4.0), ("LYTIC_RIM_MM", 5.0),
                        ("FRACTURE_GAP_MM", 6.0), ("HAEMANGIOMA_PERIOD_MM", 9.0),
                        ("LESION_TEXTURE_MM", 6.0)):
        monkeypatch.setattr(vl, name, value)
    monkeypatch.setattr(vr, "TISSUE_TEXTURE_MM", 4.0)
    b = simulate_study(4, "profile_2", (24, 40, 40), primary="lung", kinds=kinds)
    np.testing.assert_array_equal(a.instances, b.instances)
    np.testing.assert_array_equal(a.semantic, b.semantic)
    assert a.lesions == b.lesions and len(a.lesions) >= 3
    inside = a.instances > 0
    assert not np.array_equal(a.ct.array[inside], b.ct.array[inside])  # the features did change


def test_a_mixed_lesions_patches_are_shares_on_a_coarse_grid():
    """Sclerotic and lytic patches about 5 mm across: nearly whole voxels at 1 mm, shares of
    the voxel at 9.5 x 4.4 mm (the coarse voxel mixes both, as partial volume does)."""
    rng = np.random.default_rng(1)
    shares = {}
    for spacing in ((1.0, 1.0, 1.0), OLD):
        tex = vr.smooth_texture(rng.normal(size=(30, 40, 40)), spacing, vl.LESION_TEXTURE_MM)
        shares[spacing] = vl._dense_share(tex, spacing)
    fine, coarse = shares[(1.0, 1.0, 1.0)], shares[OLD]
    assert fine.mean() == pytest.approx(0.5, abs=0.1) and coarse.mean() == pytest.approx(0.5, abs=0.05)
    middle = lambda s: float(((s > 0.2) & (s < 0.8)).mean())  # noqa: E731
    assert middle(fine) < 0.3 < middle(coarse)
