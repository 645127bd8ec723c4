"""Rendering of bone scan views for reports: inverted gray like a reading station, heatmaps.

Views are drawn as a nuclear medicine workstation shows them: dark uptake on a white
background, windowed so that the bladder and injection site do not wash out the skeleton
(upper window at the 99.5th percentile of body pixels, times a factor). Grad-CAM maps are
blended in colour with matplotlib's ``turbo`` colormap, drawn only above 20 % of the map's
peak so the anatomy under faint values stays readable. Images are returned as PNG bytes so
reports can embed them as data URIs and stay one file.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from osteoscan.arrays import block_mean, percentile

log = logging.getLogger(__name__)

WINDOW_PERCENTILE = 99.5
"""Percentile of the body pixels shown at full intensity (hotter pixels saturate)."""

HEAT_FLOOR = 0.2
"""Heatmap values below this fraction of the peak are not drawn (keeps the anatomy readable)."""


def _top(view: np.ndarray, q: float, gain: float) -> float | None:
    """Upper display window: percentile ``q`` of the non-zero pixels times ``gain`` (None: empty)."""
    body = view[view > 0]
    if body.size == 0:
        return None
    return max(percentile(body, q) * gain, 1e-6)


def window(view: np.ndarray, *, percentile: float = WINDOW_PERCENTILE, gain: float = 1.0) -> np.ndarray:
    """Scale counts to 0..1 for display (0 = no counts), saturating hot spots.

    Args:
        view: float32 (rows, cols) counts.
        percentile: percentile of the non-zero pixels mapped to full intensity.
        gain: multiplies the upper window (lower shows faint uptake darker).

    Returns:
        float32 (rows, cols) in 0..1.
    """
    top = _top(view, percentile, gain)
    if top is None:
        return np.zeros_like(view, dtype=np.float32)
    return np.clip(view / top, 0.0, 1.0).astype(np.float32)


def gray_u8(view: np.ndarray, *, inverted: bool = True) -> np.ndarray:
    """Windowed view as uint8 gray (rows, cols); inverted = dark uptake on white.

    The same pixels as ``round(255 * window(view))`` (inverted: ``255 - ...``), computed by
    OpenCV's saturating scale (one pass instead of numpy's four temporaries).
    """
    v = np.ascontiguousarray(view, dtype=np.float32)
    top = _top(v, WINDOW_PERCENTILE, 1.0)
    if top is None:
        return np.full(v.shape, 255 if inverted else 0, np.uint8)
    # clip below at 0 and above at the window, then |alpha * x + beta| saturated to uint8
    v = cv2.min(cv2.max(v, 0.0), top)
    if inverted:
        return cv2.convertScaleAbs(v, alpha=-255.0 / top, beta=255.0)
    return cv2.convertScaleAbs(v, alpha=255.0 / top)


def gray_rgb(view: np.ndarray, *, inverted: bool = True) -> np.ndarray:
    """Windowed view as uint8 RGB (rows, cols, 3); inverted = dark uptake on white."""
    return np.repeat(gray_u8(view, inverted=inverted)[:, :, None], 3, axis=2)


@lru_cache(maxsize=1)
def _turbo_lut() -> np.ndarray:
    from matplotlib import colormaps

    return colormaps["turbo"](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32)


def _colormap(values: np.ndarray) -> np.ndarray:
    """turbo RGB in 0..1 through a 256-entry lookup table (matplotlib per pixel is slow)."""
    idx = (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return _turbo_lut()[idx]


def overlay(view: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.55,
            gray: np.ndarray | None = None) -> np.ndarray:
    """Blend a 0..1 heatmap over the inverted gray view.

    Args:
        view: counts (rows, cols).
        heatmap: float32 (rows, cols) in 0..1, same shape as ``view``.
        alpha: opacity of the colour at the heatmap's peak.
        gray: the view already rendered by :func:`gray_rgb` (saves recomputing it).

    Returns:
        uint8 RGB (rows, cols, 3).
    """
    if heatmap.shape != view.shape:
        raise ValueError(f"heatmap {heatmap.shape} and view {view.shape} differ in shape")
    base = (gray_rgb(view) if gray is None else gray).astype(np.float32) / 255.0
    heat = np.clip(heatmap, 0.0, 1.0)
    # opacity ramps from 0 at the floor to ``alpha`` at the peak: no colour wash over the body
    a = (alpha * np.clip((heat - HEAT_FLOOR) / (1.0 - HEAT_FLOOR), 0.0, 1.0))[..., None]
    rgb = (1.0 - a) * base + a * _colormap(heat)
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def mark_points(
    rgb: np.ndarray, points: Sequence[tuple[float, float]], *, radius: int = 9,
    color: tuple[int, int, int] = (0, 160, 255), labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Draw circles (and optional short labels) at (row, col) points.

    Args:
        rgb: uint8 (rows, cols, 3) image (not modified).
        points: centres as (row, col) pixels.
        radius: circle radius in pixels.
        color: RGB outline colour.
        labels: text drawn next to each circle.

    Returns:
        A new uint8 RGB image.
    """
    img = Image.fromarray(rgb)
    draw = ImageDraw.Draw(img)
    for i, (r, c) in enumerate(points):
        box = (c - radius, r - radius, c + radius, r + radius)
        draw.ellipse(box, outline=color, width=2)
        if labels is not None and i < len(labels):
            draw.text((c + radius + 2, r - radius), labels[i], fill=color)
    return np.asarray(img)


def png_bytes(rgb: np.ndarray, *, compress_level: int = 1, row_filter: bool = False) -> bytes:
    """Encode uint8 gray, RGB or RGBA as PNG.

    Reports are written per study, so this is tuned for speed: zlib level 1 with the
    run-length strategy and no PNG row filter (OpenCV's libpng). On a 1024x256 gray view
    that is 1.5 ms and 44 kB, against 3.4 ms / 60 kB with libpng's adaptive filters and
    3.9 ms / 70 kB with zlib's default strategy: windowed scintigrams are flat runs of
    white around noisy uptake, where filters cost time and buy nothing. An RGB image whose
    channels are equal is stored as 8-bit gray (a third of the work). ``row_filter=True``
    lets libpng choose row filters, for smooth images (heatmap layers: 17 kB instead of 47).
    """
    if rgb.ndim == 3 and rgb.shape[2] == 3 and (rgb[..., 0] == rgb[..., 2]).all() \
            and (rgb[..., 0] == rgb[..., 1]).all():
        rgb = rgb[..., 0]
    if rgb.ndim == 3:  # OpenCV stores blue first
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR if rgb.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    params = [cv2.IMWRITE_PNG_COMPRESSION, compress_level,
              cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    if not row_filter:
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb, dtype=np.uint8), params)
    if not ok:
        raise ValueError(f"PNG encoding failed for an image of shape {rgb.shape}")
    return buf.tobytes()


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI for self-contained HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def heat_rgba(heatmap: np.ndarray, *, factor: int = 4, alpha: float = 0.55) -> np.ndarray:
    """The heatmap as a small RGBA layer the browser scales over the gray view.

    Grad-CAM maps are smooth (one cell spans tens of view pixels), so a 4x smaller layer
    (block means) loses nothing visible, and the browser's bilinear scaling replaces a
    full-resolution blend and PNG encoding (the costliest part of a report).

    Args:
        heatmap: float (rows, cols) in 0..1.
        factor: integer down-sampling factor (rows and cols are cropped to multiples).
        alpha: opacity at the peak; it ramps from 0 at :data:`HEAT_FLOOR`.

    Returns:
        uint8 (rows // factor, cols // factor, 4).
    """
    small = np.clip(block_mean(heatmap, factor, factor, crop=True), 0.0, 1.0)
    a = alpha * np.clip((small - HEAT_FLOOR) / (1.0 - HEAT_FLOOR), 0.0, 1.0)
    rgba = np.concatenate([_colormap(small), a[..., None]], axis=2)
    return (rgba * 255.0 + 0.5).astype(np.uint8)


def view_panels(
    views: dict[str, np.ndarray],
    heatmaps: dict[str, np.ndarray] | None = None,
    marks: dict[str, list[tuple[float, float]]] | None = None,
    outlines: dict[str, list] | None = None,
) -> dict[str, dict[str, str]]:
    """Render each view (inverted gray) and its heatmap layer, as data URIs.

    Args:
        views: view name -> counts (rows, cols).
        heatmaps: view name -> 0..1 map of the same shape (missing views are drawn plain).
        marks: view name -> hotspot centres (row, col) drawn as circles on both panels.
        outlines: view name -> hotspots whose mask outlines are drawn on the gray view,
            coloured by probability (osteoscan.lesions.overlay), instead of circles.

    Returns:
        view name -> {"plain": gray view uri, "heat": RGBA heatmap layer uri or ""}; the
        report stacks the layer over the gray view (see :func:`heat_rgba`).
    """
    heatmaps = heatmaps or {}
    marks = marks or {}
    out: dict[str, dict[str, str]] = {}
    for name, view in views.items():
        pts = marks.get(name, [])
        hot = (outlines or {}).get(name) or []
        if hot:  # lesion stage: outlines coloured by probability replace the circles
            from osteoscan.lesions.overlay import draw_outlines

            plain = draw_outlines(gray_rgb(view), hot)
        else:  # gray stays 8-bit gray unless circles are drawn on it
            plain = mark_points(gray_rgb(view), pts) if pts else gray_u8(view)
        panel = {"plain": data_uri(png_bytes(plain)), "heat": ""}
        if name in heatmaps and heatmaps[name] is not None:  # smooth: row filters pay off
            panel["heat"] = data_uri(png_bytes(heat_rgba(heatmaps[name]), row_filter=True))
        out[name] = panel
    return out


def body_box(views: list[np.ndarray], *, margin: int = 8, multiple: int = 4) -> tuple[slice, slice]:
    """One crop box around the body in every view (the union of their body masks), grown by
    ``margin`` pixels and sized to a multiple of ``multiple`` (the heatmap layer's block
    size, so that it stays aligned with the gray view). The whole view when no body is found.
    """
    from osteoscan.preprocessing.views import body_mask

    shape = views[0].shape
    mask = np.zeros(shape, bool)
    for v in views:
        if v.shape == shape:
            mask |= body_mask(np.asarray(v, np.float32))
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return slice(0, shape[0]), slice(0, shape[1])
    return (_span(rows[0], rows[-1], shape[0], margin, multiple),
            _span(cols[0], cols[-1], shape[1], margin, multiple))


def _span(first: int, last: int, size: int, margin: int, multiple: int) -> slice:
    start = max(int(first) - margin, 0) // multiple * multiple
    stop = min(int(last) + margin + 1, size)
    stop = min(start + -(-(stop - start) // multiple) * multiple, size)
    return slice(start, stop)

