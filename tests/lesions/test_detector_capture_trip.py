"""Training studies drawn as screen captures and read back (osteoscan.lesions.capture_trip)."""

import numpy as np
import pytest

from osteoscan.lesions.capture_trip import capture_round_trip, carried
from osteoscan.lesions.detector_records import simulated_records, study_record
from osteoscan.simulate.captures import Placement
from osteoscan.simulate.study import simulate_study
from osteoscan.types import ViewPlacement


def _drawn(mirrored: bool) -> Placement:
    # an 8-column view whose rows 2.. were drawn at (5, 3), 2 picture pixels per view pixel
    return Placement(5, 3, 2.0, 2.0, 2, 8, mirrored, 16, 20)


@pytest.mark.parametrize("mirrored", [False, True])
def test_labels_travel_through_the_page_and_back(mirrored):
    label = np.zeros((12, 8), np.int32)
    label[4, 1], label[9, 6] = 7, 3
    read = ViewPlacement("anterior", 5.0, 3.0, 2.0, 10, 8, mirrored=mirrored)
    out = carried({"anterior": label}, {"anterior": _drawn(mirrored)}, read)
    assert out.shape == (10, 8) and out.dtype == np.int32
    assert np.array_equal(out, label[2:])  # the reader's crop starts where the drawing did
    # read the other way round (a view the reader mirrored that was drawn as is): flipped
    other = ViewPlacement("anterior", 5.0, 3.0, 2.0, 10, 8, mirrored=not mirrored)
    flipped = carried({"anterior": label}, {"anterior": _drawn(mirrored)}, other)
    assert np.array_equal(flipped, label[2:, ::-1])
    # a read view twice as fine, half a pixel off the page: nothing outside the drawing
    fine = ViewPlacement("anterior", 1.0, 3.0, 1.0, 20, 20)
    out = carried({"anterior": label}, {"anterior": _drawn(mirrored)}, fine)
    assert set(np.unique(out)) == {0, 3, 7} and (out[:, :4] == 0).all()


@pytest.fixture(scope="module")
def sim():
    return simulate_study(960_123, site="site_a", force_label="metastasis")


def test_a_capture_read_back_keeps_its_lesions_on_its_hot_pixels(sim):
    layouts = set()
    for k in range(4):
        read = capture_round_trip(sim, np.random.default_rng([k, 1]))
        layouts.add(read.scan.source.notes[-1])
        assert read.scan.source.format == "image" and read.scan.spacing_mm is None
        for view in ("anterior", "posterior"):
            img, mask = np.asarray(getattr(read.scan, view)), read.lesion_masks[view]
            assert mask.shape == img.shape == read.region_maps[view].shape
            body = read.region_maps[view] > 0
            assert 0.1 < body.mean() < 0.6
            lesion = mask > 0
            # what the masks mark is what reads hot (the lesions' own pixels, not a shifted copy)
            assert img[lesion].mean() > 1.5 * img[body & ~lesion].mean()
            ids = set(np.unique(mask)) - {0}
            assert ids <= {les.id for les in sim.lesions} and ids
    assert len(layouts) >= 2


def test_capture_records_are_cached_apart_and_labelled(tmp_path):
    recs = simulated_records(["site_a"], [960_200, 960_201], cache=tmp_path, augment="capture",
                             prevalence=1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "site_a-default-960200-augcapture.npz", "site_a-default-960201-augcapture.npz"]
    for rec in recs:
        assert rec["label"] == 1 and rec["y"].sum() >= 1 and len(rec["mask_ids"]) >= 1
    again = simulated_records(["site_a"], [960_200], cache=tmp_path, augment="capture")
    assert np.array_equal(again[0]["X"], recs[0]["X"])


def test_a_capture_read_as_one_composite_view_trains_as_its_anterior():
    # a header capture whose two bodies the reader could not split (seed found in the build)
    sim = simulate_study(960_442, site="profile_30", force_label="normal", uptake_balance=True)
    read = capture_round_trip(sim, np.random.default_rng([960_442, 1]))
    assert [v.view for v in read.scan.views] == ["composite"] and read.scan.posterior is None
    assert list(read.lesion_masks) == ["anterior"] == list(read.region_maps)
    rec = study_record(read)
    assert len(rec["y"]) > 0 and rec["y"].sum() == 0
