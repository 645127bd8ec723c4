"""Training augmentation of the detector (osteoscan.lesions.augment: augment_scan, screen_round_trip)."""

import numpy as np
import pytest

from osteoscan.io.images import scan_from_picture
from osteoscan.lesions.augment import augment_scan, screen_round_trip
from osteoscan.simulate.study import simulate_study
from osteoscan.simulate.variants import screen_export


@pytest.fixture(scope="module")
def sim():
    return simulate_study(980_000, site="site_a", force_label="metastasis")


def test_screen_round_trip_reads_as_the_picture_reader_reads_the_export(sim, tmp_path):
    pic = tmp_path / "export.png"
    pic.write_bytes(screen_export(sim))
    read = scan_from_picture(pic)  # cropped to the body; the placement says where
    ours = screen_round_trip(sim.scan, sim.bone_mask)
    assert ours.shape == sim.scan.shape and ours.spacing_mm is None
    place = read.source.picture.placements[0]
    assert place.view == "anterior" and place.scale == 1.0
    r0, c0 = int(round(place.y0)), int(round(place.x0))
    h, w = read.shape
    same = ours.anterior[r0:r0 + h, c0:c0 + w] == np.asarray(read.anterior)
    assert same.mean() > 0.999
    # display values: 0-255, bright uptake stays bright
    assert ours.anterior.min() >= 0 and ours.anterior.max() == 255
    hot = sim.scan.anterior > np.percentile(sim.scan.anterior, 99.5)
    assert ours.anterior[hot].mean() > ours.anterior[~hot].mean() + 50


def test_screen_mode_thins_and_exports_some_studies(sim):
    total = float(np.sum(sim.scan.anterior))
    outs = [augment_scan(sim.scan, np.random.default_rng([k, 1]), "screen", sim.bone_mask)
            for k in range(8)]
    exported = [o for o in outs if o.spacing_mm is None]
    counted = [o for o in outs if o.spacing_mm is not None]
    assert exported and counted
    assert all(o.anterior.max() <= 255 for o in exported)
    assert all(0.25 * total < o.anterior.sum() < 0.95 * total for o in counted)
    with pytest.raises(ValueError, match="augment mode"):
        augment_scan(sim.scan, np.random.default_rng(0), "bogus")


def test_lowcount_mode_thins_both_views_to_a_low_total(sim):
    from osteoscan.lesions.augment import LOW_COUNTS

    total = float(np.sum(sim.scan.anterior))
    assert total > LOW_COUNTS[1]  # site_a: 0.38-0.75 M, so the draw can only thin it
    for k in range(4):
        out = augment_scan(sim.scan, np.random.default_rng([k, 1]), "lowcount")
        kept = float(np.sum(out.anterior))
        assert 0.9 * LOW_COUNTS[0] < kept < 1.1 * LOW_COUNTS[1]
        # one factor for both views, integer counts, the grid and pixel size kept
        ratio = float(np.sum(out.posterior)) / float(np.sum(sim.scan.posterior))
        assert abs(ratio - kept / total) < 0.02
        assert out.shape == sim.scan.shape and out.spacing_mm == sim.scan.spacing_mm
        assert np.all(out.anterior == np.round(out.anterior)) and out.anterior.min() >= 0


def test_lowcount_leaves_a_study_below_the_draw_unchanged(sim):
    from dataclasses import replace

    from osteoscan.lesions.augment import LOW_COUNTS
    from osteoscan.preprocessing.augment import thin_counts

    rng = np.random.default_rng(3)
    keep = 0.5 * LOW_COUNTS[0] / float(np.sum(sim.scan.anterior))
    small = replace(sim.scan, anterior=thin_counts(sim.scan.anterior, keep, rng),
                    posterior=thin_counts(sim.scan.posterior, keep, rng))
    out = augment_scan(small, np.random.default_rng(0), "lowcount")
    assert np.array_equal(out.anterior, small.anterior)
    assert np.array_equal(out.posterior, small.posterior)
