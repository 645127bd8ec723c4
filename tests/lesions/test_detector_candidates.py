"""Candidates: native resolution, normalised to the patient's bone, one hotspot per lesion."""

import numpy as np
import pytest

from osteoscan.lesions.candidates import scan_candidates, view_candidates, view_maps


def _phantom(counts_scale: float, rng, lesions=((60, 40, 4.0), (70, 40, 4.0))):
    """A 'spine' column of bone on soft tissue with hot disks, Poisson counts."""
    img = np.full((160, 80), 1.0)
    img[10:150, 32:48] = 6.0  # bone column
    yy, xx = np.mgrid[:160, :80]
    for r, c, hot in lesions:
        img[(yy - r) ** 2 + (xx - c) ** 2 <= 9] = 6.0 * hot
    return rng.poisson(img * counts_scale).astype(np.float32)


def test_adjacent_lesions_are_two_hotspots():
    rng = np.random.default_rng(0)
    hots, _ = view_candidates(_phantom(20, rng), "anterior", (2.4, 2.4))
    hit = {k: any(h.mask[r, 40] for h in hots) for k, r in ((0, 60), (1, 70))}
    assert hit[0] and hit[1]
    owners = [i for i, h in enumerate(hots) if h.mask[60, 40] or h.mask[70, 40]]
    assert len(set(owners)) == 2  # the two lesions 24 mm apart are two hotspots


def test_level_does_not_depend_on_counts():
    rng = np.random.default_rng(1)
    lo = view_maps(_phantom(5, rng), (2.4, 2.4))
    hi = view_maps(_phantom(50, rng), (2.4, 2.4))
    assert hi.level / lo.level == pytest.approx(10, rel=0.1)
    assert np.median(hi.z[hi.bone]) == pytest.approx(np.median(lo.z[lo.bone]), rel=0.05)
    a, _ = view_candidates(_phantom(5, rng), "anterior", (2.4, 2.4))
    b, _ = view_candidates(_phantom(50, rng), "anterior", (2.4, 2.4))
    assert max(h.features["peak_z"] for h in a) == pytest.approx(
        max(h.features["peak_z"] for h in b), rel=0.2)


def test_flat_bone_gives_no_candidate_and_hotspots_are_small():
    rng = np.random.default_rng(2)
    hots, _ = view_candidates(_phantom(30, rng, lesions=()), "anterior", (2.4, 2.4))
    # uniform bone has no candidate away from its two ends, and no hotspot is a long strip
    assert all(not 30 <= h.features["peak_row"] <= 130 for h in hots)
    assert all(h.area_mm2 <= np.pi * 25.0 ** 2 for h in hots)


def test_simulated_skull_is_not_one_big_hotspot():
    from osteoscan.simulate.study import simulate_study

    sim = simulate_study(5, site="site_a", force_label="normal")
    hot, maps = scan_candidates(sim.scan)
    assert set(hot) == {"anterior", "posterior"}
    skull = sim.region_maps["anterior"] == 1
    for h in hot["anterior"]:
        assert h.area_mm2 < 1500
        assert (h.mask & skull).sum() * 2.4 ** 2 < 1500


def test_shape_stats_equal_the_per_label_sums_of_scipy():
    from scipy import ndimage

    from osteoscan.lesions.candidates import shape_stats

    rng = np.random.default_rng(3)
    labels = ndimage.label(ndimage.gaussian_filter(rng.random((80, 40)), 2) > 0.5)[0].astype(np.int32)
    n = int(labels.max())
    st = shape_stats(labels, n + 2, (2.4, 2.4))  # two labels with no pixel
    idx = np.arange(1, n + 3)
    rr, cc = np.indices(labels.shape, dtype=np.float64)
    area = ndimage.sum_labels(np.ones(labels.shape), labels, idx)
    a = np.maximum(area, 1)
    np.testing.assert_array_equal(st["area_px"], area)
    np.testing.assert_array_equal(st["row"], ndimage.sum_labels(rr, labels, idx) / a)
    np.testing.assert_array_equal(st["col"], ndimage.sum_labels(cc, labels, idx) / a)
    assert n > 3 and st["boxes"][-1] is None


def test_seeds_are_ranked_by_excess_over_noise_not_by_ratio():
    """Over the cap, a lesion on bright bone (ratio 1.33, excess 1.0) outranks a peak on
    faint bone (ratio 1.63, excess 0.5): excess / sqrt(z) is 0.50 against 0.44."""
    from osteoscan.lesions.candidates import ViewMaps, seed_score, seeds

    z = np.full((60, 40), 0.8, np.float32)
    bg = np.full((60, 40), 0.8, np.float32)
    z[15, 20], bg[40:, :] = 1.3, 3.0
    z[40:, :] = 3.0
    z[50, 20] = 4.0
    bone = np.ones(z.shape, bool)
    maps = ViewMaps(z, bg, bone, bone, 1.0, (2.4, 2.4))
    assert maps.ratio[15, 20] > maps.ratio[50, 20]
    assert seed_score(maps)[50, 20] > seed_score(maps)[15, 20]
    assert seeds(maps, max_count=1).tolist() == [[50, 20]]
    assert sorted(map(tuple, seeds(maps, max_count=5).tolist())) == [(15, 20), (50, 20)]
