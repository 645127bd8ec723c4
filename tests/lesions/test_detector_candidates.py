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

    from osteoscan.lesions.shapes import shape_stats

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
    assert seeds(maps, min_significance=0, max_count=1).tolist() == [[50, 20]]
    assert sorted(map(tuple, seeds(maps, min_significance=0, max_count=5).tolist())) == [
        (15, 20), (50, 20)]


def _flat_bone(scale: float, rng, shape=(200, 80)):
    """Soft tissue with a wide slab of uniform bone (6 x soft tissue), Poisson counts."""
    img = np.full(shape, 1.0)
    img[10:190, 20:60] = 6.0
    return rng.poisson(img * scale).astype(np.float32)


@pytest.mark.parametrize("spacing", [2.4, 4.8])
def test_noise_scale_is_the_poisson_noise_of_z(spacing):
    """On uniform bone the spread of ``z`` is ``noise * sqrt(z)`` (counts below the
    reference density, so the study's own noise), at either pixel size."""
    from osteoscan.lesions.candidates import REFERENCE_DENSITY

    rng = np.random.default_rng(4)
    scale = 0.3 * REFERENCE_DENSITY * spacing ** 2 / 6.0  # 0.3 x reference density in bone
    maps = view_maps(_flat_bone(scale, rng), (spacing, spacing))
    inner = maps.z[40:160, 28:52]
    assert np.std(inner) == pytest.approx(maps.noise * np.sqrt(np.mean(inner)), rel=0.15)


def test_noise_scale_stops_at_the_reference_density():
    """Above the reference density the noise scale is the reference's: the same for a
    study and its count-halved copy, and for 2.4 and 4.8 mm pixels of the same density."""
    from osteoscan.lesions.candidates import REFERENCE_DENSITY, noise_scale

    d = 4.0 * REFERENCE_DENSITY
    a = noise_scale(d * 2.4 ** 2, (2.4, 2.4))
    assert noise_scale(d * 2.4 ** 2 / 2, (2.4, 2.4)) == a
    assert noise_scale(d * 4.8 ** 2, (4.8, 4.8)) == pytest.approx(a, rel=0.1)
    low = noise_scale(0.25 * REFERENCE_DENSITY * 2.4 ** 2, (2.4, 2.4))
    assert low == pytest.approx(2 * a, rel=1e-6)  # below it: the study's own, 1/sqrt(counts)


def test_noise_peaks_are_not_candidates_lesions_are():
    """Uniform bone at a low count level has many local maxima above ratio 1.15; the
    significance test keeps a tenth of them at most (the 150 cap kept them all); a
    lesion twice as bright as the bone, 7 mm in radius, stays."""
    rng = np.random.default_rng(5)
    img = _flat_bone(1.0, rng)
    now, _ = view_candidates(img, "anterior", (2.4, 2.4))
    before, _ = view_candidates(img, "anterior", (2.4, 2.4), min_significance=0, max_count=150)
    middle = lambda hs: [h for h in hs if 40 <= h.features["peak_row"] <= 160]  # noqa: E731
    assert len(middle(before)) > 20 and 10 * len(middle(now)) <= len(middle(before))
    expected = np.full((200, 80), 1.0)
    expected[10:190, 20:60] = 6.0
    yy, xx = np.mgrid[:200, :80]
    expected[(yy - 100) ** 2 + (xx - 40) ** 2 <= 9] = 12.0
    hot, _ = view_candidates(rng.poisson(expected).astype(np.float32), "anterior", (2.4, 2.4))
    assert any(h.mask[100, 40] for h in hot)


def test_noise_gain_of_a_picture():
    """Display values ``g x counts`` (a screen export): the gain is recovered within 15 %."""
    from osteoscan.lesions.candidates import noise_gain

    rng = np.random.default_rng(6)
    counts = _flat_bone(8.0, rng)
    for g in (0.5, 3.0):
        maps = view_maps(g * counts, (2.4, 2.4))
        assert noise_gain(g * counts, maps) == pytest.approx(g, rel=0.15)
