"""The geometry record of the pipeline: points and heatmaps go to the model grid and back."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.preprocessing.geometry import Align, Geometry, PadCrop, Resize
from osteoscan.preprocessing.pipeline import PreprocessConfig, build_pipeline
from osteoscan.types import BoneScan, StudySource, ViewSource


def _scan(rows: int = 300, cols: int = 80, shift: tuple[int, int] = (9, -3)) -> BoneScan:
    ant = np.zeros((rows, cols), np.float32)
    ant[30:250, 20:60] = 10.0
    post = np.roll(ant, shift, axis=(0, 1)) * 1.1
    views = (ViewSource("anterior", "caller", 1.0, "", "x"),
             ViewSource("posterior", "caller", 1.0, "", "x"))
    return BoneScan(ant, post, (2.4, 2.4), "p", "s", views, StudySource((), "simulated"))


CASES = [("stack", (128, 64), True, None),      # scaled down, padded in columns
         ("aggregate", (256, 32), True, None),  # scaled down, cropped in rows
         ("stack", (640, 160), False, None),    # scaled up
         ("geomean", (200, 40), True, 4.0)]     # a target spacing


@pytest.mark.parametrize("mode, size, align, spacing", CASES)
def test_points_round_trip_exactly_for_every_view(mode, size, align, spacing):
    scan = _scan()
    pre = PreprocessConfig(views=mode, size=size, align=align, target_spacing_mm=spacing)
    geometry = build_pipeline(pre).prepare(scan).geometry
    assert set(geometry.views) == {"anterior", "posterior"} and geometry.input_hw == size
    pts = np.random.default_rng(0).uniform([0, 0], [300, 80], size=(50, 2))
    for view in geometry.views:
        np.testing.assert_allclose(geometry.to_scan(geometry.to_model(pts, view), view), pts,
                                   atol=1e-9)


def _blob(hw, centre, sigma=2.5):
    r, c = np.mgrid[:hw[0], :hw[1]]
    d2 = (r - centre[0]) ** 2 + (c - centre[1]) ** 2
    return np.exp(-d2 / (2 * sigma ** 2)).astype(np.float32)


def _centroid(img):
    r, c = np.mgrid[:img.shape[0], :img.shape[1]]
    return np.array([(img * r).sum(), (img * c).sum()]) / img.sum()


@pytest.mark.parametrize("mode, size, align, spacing", CASES)
def test_a_heatmap_lands_where_its_point_does(mode, size, align, spacing):
    """A blob on the model grid, carried to each view as an image, is centred where the point
    mapping puts its centre (within 0.5 view pixels), and maps back within 0.5 model pixels."""
    scan = _scan()
    pre = PreprocessConfig(views=mode, size=size, align=align, target_spacing_mm=spacing)
    geometry = build_pipeline(pre).prepare(scan).geometry
    centre = np.array([size[0] * 0.45, size[1] * 0.5])
    cam = _blob(size, centre, sigma=max(size) / 60)
    for view in geometry.views:
        img = geometry.to_scan_image(cam, view)
        assert img.shape == scan.shape and img.dtype == np.float32
        where = _centroid(img)
        assert np.abs(where - geometry.to_scan(centre, view)[0]).max() <= 0.5
        assert np.abs(geometry.to_model(where, view)[0] - centre).max() <= 0.5


def test_the_record_matches_what_the_pipeline_did():
    scan = _scan()
    prepared = build_pipeline(PreprocessConfig(views="stack", size=(128, 64))).prepare(scan)
    resize, padcrop, align = prepared.geometry.ops("posterior")
    assert resize == Resize((300, 80), prepared.scaled) and padcrop.out_hw == (128, 64)
    assert padcrop.pad == (0, (64 - prepared.scaled[1]) // 2) and padcrop.crop == (0, 0)
    assert align == Align.from_map(prepared.align_map)
    # the anterior body's top-left corner, mapped to the model grid, is where the output's
    # body starts
    top_left = prepared.geometry.to_model([[29.5, 19.5]])[0]  # pixel edges of the box
    body = np.argwhere(prepared.base[0] > 0.5 * prepared.base[0].max())
    np.testing.assert_allclose(body.min(axis=0), np.ceil(top_left), atol=1)
    records = prepared.geometry.as_records()
    assert [r["op"] for r in records] == ["resize", "padcrop", "resize", "padcrop", "align"]


def test_anterior_only_and_single_view_scans_record_no_posterior():
    scan = _scan()
    g = build_pipeline(PreprocessConfig(views="anterior", size=(128, 32))).prepare(scan).geometry
    assert set(g.views) == {"anterior"}
    one = BoneScan(scan.anterior, None, (2.4, 2.4), "p", "s", scan.views[:1], scan.source)
    g = build_pipeline(PreprocessConfig(views="stack", size=(128, 32))).prepare(one).geometry
    assert set(g.views) == {"anterior"}


def test_pad_crop_and_align_invert_their_own_images():
    img = np.random.default_rng(1).random((40, 30)).astype(np.float32)
    pc = PadCrop((40, 30), (36, 34))  # cropped in rows, padded in columns
    assert pc.pad == (0, 2) and pc.crop == (2, 0)
    window = pc.invert_image(np.pad(img[2:38], ((0, 0), (2, 2))))
    np.testing.assert_array_equal(window[2:38], img[2:38])
    assert not window[:2].any()
    g = Geometry("stack", (40, 30), (40, 30), {"anterior": (Align((1.0, 1.0), (3.0, -2.0)),)})
    np.testing.assert_allclose(g.to_model([[10.0, 10.0]]), [[7.0, 12.0]])
    moved = g.to_scan_image(img)
    np.testing.assert_allclose(moved[10, 10], img[7, 12], atol=1e-6)
