"""load_study on PNG/JPEG/TIFF exports: splitting, inversion, clean-up, bit depths."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageDraw

from osteoscan.errors import InputError
from osteoscan.io import load_study

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_sc  # noqa: E402

ROWS, COLS = 256, 64


@pytest.fixture(scope="module")
def ph():
    return phantom(ROWS, COLS, total_counts=2e5, seed=5)


def _to8(img: np.ndarray, top: float) -> np.ndarray:
    return np.clip(img.astype(np.float64) / top * 255, 0, 255).astype(np.uint8)


def _side_by_side(ph, *, posterior_left: bool, gap: int = 12) -> np.ndarray:
    top = float(np.percentile(ph.anterior, 99.5))
    a, p = _to8(ph.anterior, top), _to8(ph.posterior, top)
    left, right = (p, a) if posterior_left else (a, p)
    pad = np.zeros((ROWS + 40, 2 * COLS + gap + 20), np.uint8)
    pad[20 : 20 + ROWS, 10 : 10 + COLS] = left
    pad[20 : 20 + ROWS, 10 + COLS + gap : 10 + 2 * COLS + gap] = right
    return pad


def _marker_col(img: np.ndarray, row: int) -> int:
    band = img[max(row - 4, 0) : row + 5]
    return int(np.unravel_index(np.argmax(band), band.shape)[1])


@pytest.mark.parametrize("posterior_left", [False, True])
def test_two_bodies_side_by_side_are_split(tmp_path, ph, posterior_left):
    path = tmp_path / "export.png"
    Image.fromarray(_side_by_side(ph, posterior_left=posterior_left)).save(path)
    scan = load_study(path)
    assert scan.has_both_views and scan.spacing_mm is None
    assert scan.views[0].rule == "pixels" and scan.views[0].confidence > 0.55
    assert scan.views[1].frame == (0 if posterior_left else 1)
    assert scan.source.format == "image"
    assert any("split" in n for n in scan.source.notes)
    # the bladder (anterior) is hotter in the stored anterior, marker on the same side in both
    row = int(ROWS * 0.03 + 0.535 * ROWS * 0.94) + 20
    assert scan.anterior[row - 3 : row + 3].max() > scan.posterior[row - 3 : row + 3].max()
    marker_row = ph.marker_rc[0] + 20
    width = scan.shape[1]
    assert _marker_col(scan.anterior, marker_row) < width // 2
    assert _marker_col(scan.posterior, marker_row) < width // 2


def test_inverted_display_with_text_and_colour_bar(tmp_path, ph):
    img = _side_by_side(ph, posterior_left=False)
    rgb = np.repeat((255 - img)[..., None], 3, axis=-1)  # dark uptake on white
    rgb = np.pad(rgb, ((30, 10), (0, 30), (0, 0)), constant_values=255)
    rgb[40:200, -20:-8] = [255, 0, 0]  # a colour bar
    pil = Image.fromarray(rgb)
    ImageDraw.Draw(pil).text((4, 4), "ANT   POST  2026-01-01", fill=(0, 0, 0))
    path = tmp_path / "shot.jpg"
    pil.save(path, quality=95)
    scan = load_study(path)
    notes = " ".join(scan.source.notes)
    assert "inverted" in notes and "colour" in notes and "text" in notes and "cropped" in notes
    assert scan.has_both_views
    assert scan.views[1].frame == 1
    # background is dark again after undoing the inversion
    assert np.median(scan.anterior) < 0.1 * scan.anterior.max()
    assert scan.shape[0] < rgb.shape[0] - 20  # text rows were cropped away


def test_single_body_16bit_png_keeps_counts(tmp_path, ph):
    path = tmp_path / "ant.png"
    Image.fromarray(ph.anterior.astype(np.uint16)).save(path)
    scan = load_study(path)
    assert scan.posterior is None and scan.views[0].rule == "single_view"
    np.testing.assert_array_equal(scan.anterior, ph.anterior)  # nothing removed: no crop


def test_float_tiff_and_nan(tmp_path, ph):
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, ph.anterior.astype(np.float32))
    assert load_study(good).anterior.sum() == pytest.approx(float(ph.anterior.sum()))
    bad = ph.anterior.astype(np.float32)
    bad[10, 10] = np.nan
    bad[11, 11] = np.inf
    tifffile.imwrite(tmp_path / "bad.tif", bad)
    with pytest.raises(InputError, match=r"bad\.tif: pixel data holds 2 NaN or infinite"):
        load_study(tmp_path / "bad.tif")


def test_touching_bodies_give_a_composite(tmp_path, ph):
    wide = phantom(ROWS, 2 * COLS, total_counts=2e5, seed=5)  # bodies of realistic width
    top = float(np.percentile(wide.anterior, 99.5))
    img = np.zeros((ROWS, 3 * COLS), np.uint8)
    img[:, : 2 * COLS] = _to8(wide.anterior, top)
    img[:, COLS:] = np.maximum(img[:, COLS:], _to8(wide.posterior, top))
    Image.fromarray(img).save(tmp_path / "fused.png")
    scan = load_study(tmp_path / "fused.png")
    assert scan.views[0].view == "composite" and scan.posterior is None


def test_secondary_capture_rgb_screenshot(tmp_path, ph):
    img = _side_by_side(ph, posterior_left=True)
    rgb = np.repeat(img[..., None], 3, axis=-1)
    scan = load_study(write_sc(tmp_path / "sc.dcm", rgb))
    assert scan.source.format == "dicom-sc" and scan.has_both_views
    assert scan.views[1].frame == 0  # posterior on the left, found by anatomy
