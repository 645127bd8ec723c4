"""Saturated display windows in screen exports are rebuilt as peaks."""

import numpy as np
import pytest
from PIL import Image

from osteoscan.io.display import restore_saturation
from osteoscan.io.images import scan_from_picture


def _blob(peak: float, sigma: float, size: int = 61) -> np.ndarray:
    r, c = np.mgrid[:size, :size]
    return peak * np.exp(-((r - size // 2) ** 2 + (c - size // 2) ** 2) / (2 * sigma ** 2))


@pytest.mark.parametrize("peak,top,sigma", [(100, 40, 4.0), (300, 60, 6.0), (80, 50, 3.0)])
def test_clipped_gaussian_peak_is_rebuilt(peak, top, sigma):
    out, n = restore_saturation(np.minimum(_blob(peak, sigma), top))
    assert n == 1
    assert out.max() == pytest.approx(peak, rel=0.25)
    # outside the plateau nothing changes
    below = _blob(peak, sigma) < top - 1
    np.testing.assert_allclose(out[below], np.minimum(_blob(peak, sigma), top)[below], rtol=1e-5, atol=1e-5)


def test_unclipped_picture_is_left_alone():
    rng = np.random.default_rng(0)
    img = rng.poisson(_blob(50, 5.0) + 5).astype(np.float32)
    img[30, 30] = img.max() + 5  # one bright pixel is noise, not a window
    out, n = restore_saturation(img)
    assert n == 0
    np.testing.assert_array_equal(out, img)


def test_empty_picture():
    out, n = restore_saturation(np.zeros((20, 20)))
    assert n == 0 and not out.any()


def _export(tmp_path, clip: float) -> tuple:
    """An inverted 8-bit export of a body-shaped block with a hot focus clipped at ``clip``."""
    r, c = np.mgrid[:400, :120]
    img = np.where(((r - 200) / 180.0) ** 2 + ((c - 60) / 30.0) ** 2 <= 1, 10.0, 0.0)
    img = img.astype(np.float32)  # a body-shaped ellipse (a filled rectangle reads as a bar)
    img += _blob(200.0, 5.0, 400)[:, 140:260]  # a focus in the body's middle
    disp = 255 - np.rint(255 * np.minimum(img / clip, 1.0))
    path = tmp_path / "export.png"
    Image.fromarray(disp.astype(np.uint8)).save(path)
    return path, img


def test_screen_export_reader_rebuilds_the_clipped_focus(tmp_path):
    path, img = _export(tmp_path, clip=60.0)
    scan = scan_from_picture(path, restore=True)
    kept = scan_from_picture(path)  # the default: display values as they are
    assert kept.anterior.max() == 255
    assert scan.anterior.max() > 2.0 * 255  # the focus peaks at 200 / 60 = 3.3 x the window
    assert any("saturated plateau" in n for n in scan.source.notes)
    assert not any("saturated plateau" in n for n in kept.source.notes)
