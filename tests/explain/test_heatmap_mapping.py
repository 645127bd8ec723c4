"""Heatmaps go back from the model input grid to each view's own pixels."""

from __future__ import annotations

import numpy as np
import pytest

from osteoscan.explain.mapping import heatmap_to_views
from osteoscan.preprocessing.geometry import Align
from osteoscan.preprocessing.pipeline import PreprocessConfig, build_pipeline
from osteoscan.types import BoneScan, StudySource, ViewSource


def _body(rows: int, cols: int, top: int, left: int) -> np.ndarray:
    img = np.zeros((rows, cols), np.float32)
    img[top:top + 200, left:left + 40] = 10.0  # a "body" box for the sweep lines
    return img


def _scan(shift: tuple[int, int]) -> tuple[BoneScan, tuple[int, int], tuple[int, int]]:
    ant = _body(256, 64, 20, 12)
    post = _body(256, 64, 20 + shift[0], 12 + shift[1])
    a_spot, p_spot = (120, 24), (120 + shift[0], 24 + shift[1])
    ant[a_spot[0] - 2:a_spot[0] + 3, a_spot[1] - 2:a_spot[1] + 3] = 80.0
    post[p_spot[0] - 2:p_spot[0] + 3, p_spot[1] - 2:p_spot[1] + 3] = 80.0
    views = (ViewSource("anterior", "caller", 1.0, "", "x"), ViewSource("posterior", "caller", 1.0, "", "x"))
    scan = BoneScan(ant, post, (2.4, 2.4), "p", "s", views, StudySource((), "simulated"))
    return scan, a_spot, p_spot


def _peak(img: np.ndarray) -> tuple[int, int]:
    return tuple(int(v) for v in np.unravel_index(int(img.argmax()), img.shape))


def test_aggregate_map_follows_the_alignment_onto_the_posterior():
    scan, a_spot, p_spot = _scan((12, 4))
    pre = PreprocessConfig(views="aggregate", size=(128, 32))
    pipe = build_pipeline(pre)
    prepared = pipe.prepare(scan)
    x = pipe.finish(prepared, None)
    cam = x[0] / x[0].max()  # a "heatmap" peaking on the (aligned) hot spot
    maps = heatmap_to_views(cam, prepared.geometry, scan)
    assert set(maps) == {"anterior", "posterior"}
    assert maps["anterior"].shape == (256, 64) and maps["anterior"].dtype == np.float32
    assert np.abs(np.subtract(_peak(maps["anterior"]), a_spot)).max() <= 2
    assert np.abs(np.subtract(_peak(maps["posterior"]), p_spot)).max() <= 2


def test_the_recorded_alignment_is_the_one_the_pipeline_applied():
    scan, a_spot, p_spot = _scan((12, 4))
    pre = PreprocessConfig(views="aggregate", size=(128, 32))
    pipe = build_pipeline(pre)
    prepared = pipe.prepare(scan)
    x = pipe.finish(prepared, None)
    align = prepared.geometry.ops("posterior")[-1]
    assert isinstance(align, Align) and prepared.align_map is not None
    # the record undoes the pipeline's map: a -> p = s*a + o -> a
    (s0, s1), (o0, o1) = prepared.align_map
    back = align.forward(np.array([[s0 * 40.0 + o0, s1 * 10.0 + o1]]))
    np.testing.assert_allclose(back, [[40.0, 10.0]], atol=1e-9)
    maps = heatmap_to_views(x[0] / x[0].max(), prepared.geometry, scan)
    assert np.abs(np.subtract(_peak(maps["posterior"]), p_spot)).max() <= 2
    unaligned = build_pipeline(PreprocessConfig(views="stack", size=(128, 32), align=False))
    ops = unaligned.prepare(scan).geometry.ops("posterior")
    assert not any(isinstance(op, Align) for op in ops)


def test_stack_with_padding_maps_back_into_the_view():
    scan, a_spot, _ = _scan((0, 0))
    pre = PreprocessConfig(views="stack", size=(128, 64))  # 256x64 fits as 128x32, padded in cols
    pipe = build_pipeline(pre)
    prepared = pipe.prepare(scan)
    x = pipe.finish(prepared, None)
    g = prepared.geometry
    resize, padcrop = g.ops("anterior")
    assert resize.out_hw == (128, 32) and padcrop.pad == (0, 16)
    cam = x[0] / x[0].max()
    maps = heatmap_to_views(cam, g, scan)
    assert np.abs(np.subtract(_peak(maps["anterior"]), a_spot)).max() <= 2
    np.testing.assert_allclose(maps["posterior"], maps["anterior"], atol=1e-6)


def test_anterior_only_model_gives_no_posterior_map():
    scan, _, _ = _scan((0, 0))
    pre = PreprocessConfig(views="anterior", size=(128, 32))
    g = build_pipeline(pre).prepare(scan).geometry
    assert set(g.views) == {"anterior"}
    assert set(heatmap_to_views(np.ones((128, 32), np.float32), g, scan)) == {"anterior"}


@pytest.mark.parametrize("affine", [(1.03, 0.97, -5.2, 2.7), (0.95, 1.02, 3.1, -1.4),
                                    (1.0, 1.0, -1.5, 0.5)])
def test_posterior_carry_matches_scipy_affine_transform(affine):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    cam = ndimage.gaussian_filter(rng.random((96, 40)).astype(np.float32), 3)
    sy, sx, oy, ox = affine  # the carry a -> p = (sy a + oy, ...): the inverse of the align map
    align = Align((1 / sy, 1 / sx), (-oy / sy, -ox / sx))
    want = ndimage.affine_transform(cam, affine[:2], offset=affine[2:], order=1,
                                    mode="constant", cval=0.0)
    np.testing.assert_allclose(align.invert_image(cam), want, atol=1e-5)
