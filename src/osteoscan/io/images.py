"""Read whole-body scans exported as pictures: PNG, JPEG, TIFF (and the pixels of DICOM SC).

Pillow and tifffile decode. What no library does is the clean-up of a screen export,
written here by hand on :mod:`osteoscan.io.capture` (the layout: panels, whole-body pair,
spot views, laterals, bars, text):

1. colour pixels (colour bars, coloured annotations) are dropped;
2. the layout is found; each whole-body view is cut out of its panel and an inverted display
   (dark uptake on a light background) is undone against that panel's background;
3. burned-in text, frames, grey bars, spot views and laterals are left out (listed in
   ``StudySource.picture.discarded``); a clean count picture keeps its size (no crop);
4. the views are named from burned-in text ("ANT", "POSTERIOR", ...) where it reads, else by
   the anatomical rule (the left body is taken as anterior when the rule cannot tell).

Every step taken is recorded in ``StudySource.notes``; the transform picture pixels <->
view pixels in ``StudySource.picture``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.capture import Layout, analyse
from osteoscan.io.display import restore_saturation
from osteoscan.io.frames import ViewFrame, scan_from_frames
from osteoscan.io.guard import reading
from osteoscan.io.picture_file import picture_format, read_picture
from osteoscan.io.viewrule import decide_posterior
from osteoscan.types import BoneScan, PictureMap, StudySource, ViewPlacement

log = logging.getLogger(__name__)

CHROMA_LIMIT = 0.08
"""A pixel whose channel spread exceeds this fraction of the value range is colour."""
COMPOSITE_ASPECT = 0.4
"""A single body region wider than this fraction of its height holds two fused views."""
TEXT_CONFIDENCE = 0.85
"""Confidence of a view named by burned-in text (as for keywords in DICOM text tags)."""
DISPUTED_TEXT_CONFIDENCE = 0.6
"""The same when the anatomical rule clearly says the opposite (the text still decides)."""




def _to_grey(arr: np.ndarray, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Grey float32 picture and the mask of colour pixels."""
    if arr.ndim == 2:
        return arr.astype(np.float32), np.zeros(arr.shape, bool)
    rgb = arr[..., :3].astype(np.float32)
    span = float(np.iinfo(arr.dtype).max) if arr.dtype.kind in "ui" else max(float(rgb.max()), 1e-6)
    chroma = rgb.max(axis=-1) - rgb.min(axis=-1)
    colour = chroma > CHROMA_LIMIT * span
    if colour.any():
        notes.append(f"dropped {int(colour.sum())} colour pixels (colour bars or annotations)")
    return rgb.mean(axis=-1), colour


def _reduce(arr: np.ndarray, notes: list[str]) -> tuple[np.ndarray, int]:
    """A picture above :data:`limits.MAX_CLEANUP_PIXELS`, reduced by an integer block mean."""
    rows, cols = arr.shape[:2]
    if rows * cols <= limits.MAX_CLEANUP_PIXELS:
        return arr, 1
    k = math.ceil(math.sqrt(rows * cols / limits.MAX_CLEANUP_PIXELS))
    h, w = rows // k * k, cols // k * k
    small = arr[:h, :w].reshape(h // k, k, w // k, k, *arr.shape[2:]).mean(axis=(1, 3))
    notes.append(f"reduced from {rows} x {cols} pixels by a {k} x {k} block mean")
    out = small.astype(arr.dtype) if arr.dtype.kind in "uib" else small.astype(np.float32)
    return out, k


@dataclass(frozen=True)
class PictureViews:
    """The views cut from a picture, before the scan is built.

    Attributes:
        frames: one frame per view, left to right (``frame`` = 0, 1).
        notes: what the clean-up did.
        layout: the layout found (:mod:`osteoscan.io.capture`).
        boxes: per frame, ``(x0, y0, scale)``: the picture point of the view's top-left pixel
            edge, and picture pixels per view pixel.
        shape: the picture's (rows, cols).
    """

    frames: list[ViewFrame]
    notes: list[str]
    layout: Layout
    boxes: list[tuple[float, float, float]]
    shape: tuple[int, int]

    def picture_map(self, scan: BoneScan) -> PictureMap:
        """The transform picture <-> views of the scan built from these frames."""
        placements = []
        for vs in scan.views:
            x0, y0, k = self.boxes[vs.frame or 0]
            placements.append(ViewPlacement(vs.view, x0, y0, k, scan.shape[0], scan.shape[1],
                                            mirrored=vs.view == "posterior"))
        return PictureMap(self.shape, self.layout.describe(), tuple(placements),
                          tuple(self.layout.discarded))


def _untouched(layout: Layout, notes: list[str]) -> bool:
    """Nothing to remove: a clean count picture keeps its size (no crop)."""
    return not (layout.discarded or layout.framed or notes or layout.page_bg > 0.5)


def _crop_box(layout: Layout, i: int, shape: tuple[int, int], untouched: bool) -> tuple[int, ...]:
    pair = layout.pair
    if untouched:
        if len(pair) == 1:
            return (0, shape[0], 0, shape[1])
        split = (pair[0].body.box[3] + pair[1].body.box[2]) // 2
        return (0, shape[0], 0, split) if i == 0 else (0, shape[0], split, shape[1])
    margin = max(2, shape[0] // 200)
    r0, r1, c0, c1 = pair[i].body.box
    lim = pair[i].box if pair[i].kind == "framed" else (0, shape[0], 0, shape[1])
    return (max(r0 - margin, lim[0]), min(r1 + margin, lim[1]),
            max(c0 - margin, lim[2]), min(c1 + margin, lim[3]))


def _view_pixels(grey: np.ndarray, colour: np.ndarray, layout: Layout, i: int,
                 box: tuple[int, ...], lo: float, span: float, untouched: bool) -> np.ndarray:
    """One view in count polarity (dark uptake on white undone), other blobs zeroed."""
    panel = layout.pair[i]
    r0, r1, c0, c1 = box
    bg = lo + panel.bg * span
    crop = grey[r0:r1, c0:c1]
    view = (bg - crop) if panel.bg > 0.5 else (crop - bg) if bg > lo else crop.copy()
    view = np.clip(view, 0, None).astype(np.float32)
    if untouched:
        return view
    keep = np.zeros(view.shape, bool)
    br0, br1, bc0, bc1 = panel.body.box
    keep[br0 - r0 : br1 - r0, bc0 - c0 : bc1 - c0] = panel.body.mask
    keep = ndimage.binary_dilation(keep, iterations=max(2, grey.shape[0] // 150))
    view[~keep | colour[r0:r1, c0:c1]] = 0.0
    return view


def _pad(views: list[np.ndarray], boxes: list[tuple[int, ...]], k: int
         ) -> tuple[list[np.ndarray], list[tuple[float, float, float]]]:
    rows, cols = max(v.shape[0] for v in views), max(v.shape[1] for v in views)
    out, where = [], []
    for v, (r0, _, c0, _) in zip(views, boxes, strict=True):
        top, left = (rows - v.shape[0]) // 2, (cols - v.shape[1]) // 2
        out.append(np.pad(v, ((top, rows - v.shape[0] - top), (left, cols - v.shape[1] - left))))
        where.append((float((c0 - left) * k), float((r0 - top) * k), float(k)))
    return out, where


def _describe_notes(layout: Layout, colour_fill: bool, notes: list[str]) -> None:
    if any(p.bg > 0.5 for p in layout.pair):
        notes.append("inverted display (light background) undone")
    kinds = [k for k, _ in layout.discarded]
    for kind in ("frame line", "grey-scale bar", "spot view", "lateral", "extra view"):
        if kind in kinds:
            notes.append(f"removed {kinds.count(kind)} {kind}(s)")
    if "text" in kinds:
        notes.append(f"removed {len(layout.words)} small region(s) outside the bodies "
                     "(burned-in text, markers)")


def _layout_of(path: Path, grey: np.ndarray, colour: np.ndarray, lo: float, span: float) -> Layout:
    shown = (grey - lo) / span
    if colour.any():  # colour lines: filled from their neighbours for the layout search
        shown = np.where(colour, ndimage.median_filter(shown, 5), shown)
    try:
        return analyse(shown.astype(np.float32))
    except InputError as exc:
        raise InputError(path, exc.problem) from None


def frames_from_picture(arr: np.ndarray, path: str | Path, *, restore: bool = False,
                        tol: float = 0.0) -> PictureViews:
    """Find the layout of a picture and cut out its whole-body views.

    Args:
        arr: decoded picture (grey or RGB).
        path: its file.
        restore: rebuild the peaks a display window saturated
            (:func:`osteoscan.io.display.restore_saturation`). Off by default: measured on
            simulated exports it moved the detector further from the DICOM answer
            (docs/robustness.md).
        tol: grey levels below the top still counted as saturated (JPEG).

    Returns:
        The views (with view names where burned-in text or anatomy tell), notes and the
        layout, from which :meth:`PictureViews.picture_map` gives the picture transform.

    Raises:
        InputError: no body found, negative values.
    """
    cut = _cut(arr, Path(path))
    if restore:
        top = max(float(f.pixels.max()) for f in cut.frames)  # the window top, shared
        rebuilt = [restore_saturation(f.pixels, top=top, tol=tol) for f in cut.frames]
        cut.frames[:] = [replace(f, pixels=px) for f, (px, _) in zip(cut.frames, rebuilt)]
        if sum(n for _, n in rebuilt):
            cut.notes.append(f"{sum(n for _, n in rebuilt)} saturated plateau(s) (display "
                             "window) rebuilt as peaks (osteoscan.io.display)")
    return cut


def _cut(arr: np.ndarray, path: Path) -> PictureViews:
    """:func:`frames_from_picture` up to the rebuild of saturated peaks."""
    limits.check_view_size(path, arr.shape[0], arr.shape[1] if arr.ndim > 1 else 0)
    limits.check_not_blank(path, arr)
    notes: list[str] = []
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    arr, k = _reduce(arr, notes)
    grey, colour = _to_grey(arr, notes)
    limits.check_non_negative(path, grey)
    lo, span = float(grey.min()), max(float(grey.max() - grey.min()), 1e-6)
    layout = _layout_of(path, grey, colour, lo, span)
    untouched = _untouched(layout, notes)
    _describe_notes(layout, bool(colour.any()), notes)
    boxes = [_crop_box(layout, i, grey.shape, untouched) for i in range(len(layout.pair))]
    views = [_view_pixels(grey, colour, layout, i, b, lo, span, untouched)
             for i, b in enumerate(boxes)]
    views, where = _pad(views, boxes, k)
    if not untouched:
        notes.append(f"cropped to the bodies: {views[0].shape[0]} x {views[0].shape[1]} pixels")
    notes.append(f"layout: {layout.describe()}")
    if len(views) == 1:
        frames = [_single(views[0], path, notes)]
    else:
        notes.append("two bodies side by side split")
        frames = _named_pair(views, layout, path)
    return PictureViews(frames, notes, layout, where, shape)


def _single(grey: np.ndarray, path: Path, notes: list[str]) -> ViewFrame:
    rows, cols = np.flatnonzero(grey.any(axis=1)), np.flatnonzero(grey.any(axis=0))
    if rows.size and (cols[-1] - cols[0] + 1) > COMPOSITE_ASPECT * (rows[-1] - rows[0] + 1):
        detail = (
            f"body region {cols[-1] - cols[0] + 1} wide for {rows[-1] - rows[0] + 1} tall: "
            "two views fused, kept as one composite picture"
        )
        notes.append("composite picture (views could not be split)")
        return ViewFrame(grey, path, None, "composite", "pixels", 0.5, detail)
    return ViewFrame(grey, path, None)


def _named_pair(views: list[np.ndarray], layout: Layout, path: Path) -> list[ViewFrame]:
    """The pair named from burned-in text where it reads, else by anatomy."""
    post, conf, anatomy = decide_posterior(views[0], views[1])
    said = [p.reading.meaning if p.reading else None for p in layout.pair]
    words = [p.reading.word if p.reading else None for p in layout.pair]
    if sorted(filter(None, said)) in (["anterior", "posterior"], ["anterior"], ["posterior"]):
        by_text = 0 if said[0] == "posterior" or said[1] == "anterior" else 1
        agree = "agrees" if conf <= 0.55 or by_text == post else "DISAGREES"
        trust = TEXT_CONFIDENCE if agree == "agrees" else DISPUTED_TEXT_CONFIDENCE
        frames = []
        for i, v in enumerate(views):
            if said[i] is None:  # the other view of the pair: assign_views completes it
                frames.append(ViewFrame(v, path, i))
                continue
            detail = f"burned-in text {words[i]!r} near the {'left' if i == 0 else 'right'} view " \
                     f"(template match {layout.pair[i].reading.score:.2f}); anatomy {agree}: {anatomy}"
            frames.append(ViewFrame(v, path, i, said[i], "keyword", trust, detail))
        return frames
    if len(set(filter(None, said))) == 1 and said[0] == said[1]:
        anatomy += f"; both views labelled {words[0]!r}, text ignored"
    return list(_side_by_side(views[0], views[1], path, post, conf, anatomy))


def _side_by_side(left: np.ndarray, right: np.ndarray, path: Path, post: int, conf: float,
                  detail: str) -> tuple[ViewFrame, ViewFrame]:
    if conf <= 0.55:
        post, conf = 1, 0.5
        detail += "; inconclusive, layout used: left body taken as anterior (usual display)"
    else:
        detail += f"; layout: {'left' if post == 0 else 'right'} body is the posterior"
    views = ("posterior", "anterior") if post == 0 else ("anterior", "posterior")
    return (
        ViewFrame(left, path, 0, views[0], "pixels", conf, detail),
        ViewFrame(right, path, 1, views[1], "pixels", conf, detail),
    )

def scan_from_picture(
    path: str | Path, *, patient_id: str | None = None, study_id: str | None = None,
    restore: bool = False,
) -> BoneScan:
    """Load a PNG/JPEG/TIFF export as a :class:`BoneScan` (``spacing_mm`` is None).

    Args:
        path: the picture.
        patient_id: patient id (default: the file stem).
        study_id: study id (default: the file stem).
        restore: rebuild saturated peaks (:func:`frames_from_picture`; off by default).

    Returns:
        The scan; ``source.notes`` lists the clean-up steps.

    Raises:
        InputError: unreadable or unusable picture.
    """
    path = Path(path)
    arr = read_picture(path)
    with reading(path, "picture"):
        cut = frames_from_picture(arr, path, restore=restore,
                                  tol=3.0 if picture_format(path) == "jpeg" else 0.0)
    notes = cut.notes
    if arr.dtype.itemsize == 1:
        notes.insert(0, "8-bit picture: display values, not counts")
    source = StudySource(files=(str(path.resolve()),), format="image", notes=tuple(notes))
    scan = scan_from_frames(
        cut.frames,
        patient_id=patient_id or path.stem,
        study_id=study_id or path.stem,
        spacing_mm=None,
        source=source,
        meta={"picture_dtype": str(arr.dtype), "picture_shape": "x".join(map(str, arr.shape))},
    )
    return with_picture_map(scan, cut)


def with_picture_map(scan: BoneScan, cut: PictureViews) -> BoneScan:
    """The scan with ``source.picture`` set from the views it was built from."""
    return replace(scan, source=replace(scan.source, picture=cut.picture_map(scan)))
