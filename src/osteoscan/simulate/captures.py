"""Simulated reading-station screen captures, with LabelMe boxes in picture coordinates.

The layouts of REALISM.md ("Screen captures: the layouts a reader meets"), drawn around two
simulated whole-body views (inverted grey, windowed at the 99.5th percentile as a reading
station shows them):

========== ==================================================================================
plain      two bodies on white, nothing else (the narrow crops, about 550 x 800)
black      two bodies bright on black, "ANT"/"POST" under them
framed     white panels with grey frame lines on black, "ANTERIOR"/"POSTERIOR" above, header
spots      framed, plus anterior chest / posterior pelvis spot views on the right
laterals   framed, plus right/left lateral panels (RLA, LLA) as tall as the whole-body ones
header     two bodies on white with a header row, grey-scale bars at the left, "R" markers
wide       1640 wide: framed panels, spot views, laterals, header and grey bars together
========== ==================================================================================

Every picture is an 8-bit JPEG (qualities cycled); the whole-body views sit posterior-left in
a quarter of the labelled layouts (the text must then be read). Each capture comes with its
LabelMe JSON (rectangles, or polygons in every third capture, in picture pixels; labels
named as physicians grade them, "4: Malignant", "2: Benign") and a truth JSON giving where
each view was drawn, so the reader's transform can be checked. No torch.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from osteoscan.artefacts import atomic_write_bytes
from osteoscan.simulate.realism import display_darkness
from osteoscan.simulate.study import SimulatedStudy

LAYOUTS = ("plain", "black", "framed", "spots", "laterals", "header", "wide")
"""Screen-capture layouts the simulator draws (module docstring)."""
QUALITIES = (95, 85, 70, 50)
"""JPEG qualities cycled through."""
GRADED_LABELS = {"malignant": "4: Malignant", "benign": "2: Benign", "ignore": "0: Uncertain"}
"""Label names written in the LabelMe files (as a grading physician names them)."""
LABEL_MAP = {name: label for label, name in GRADED_LABELS.items()}
"""The label map that turns :data:`GRADED_LABELS` back (written as ``label_map.yaml``)."""
_SIZES = {"plain": (560, 800), "black": (1021, 994), "framed": (1132, 860), "spots": (1232, 906),
          "laterals": (1280, 968), "header": (1124, 852), "wide": (1640, 1080)}
_TEXT = ("labelled", "framed", "spots", "laterals", "wide", "black", "header")


@dataclass(frozen=True)
class Placement:
    """Where a simulated view was drawn: picture x = x0 + col * sx (col in the view as
    displayed, the posterior mirrored back), y = y0 + (row - row0) * sy."""

    x0: int
    y0: int
    sx: float
    sy: float
    row0: int
    cols: int
    mirrored: bool
    width: int
    height: int

    def to_picture(self, row: float, col: float) -> tuple[float, float]:
        c = self.cols - col if self.mirrored else col
        return self.x0 + c * self.sx, self.y0 + (row - self.row0) * self.sy


def _display(study: SimulatedStudy, view: str) -> tuple[np.ndarray, int]:
    """Inverted 8-bit display of one view as the station shows it, cropped to the body rows."""
    img = getattr(study.scan, view)
    dark = display_darkness(img)
    rows = np.flatnonzero(img.any(axis=1))
    r0, r1 = max(int(rows[0]) - 8, 0), min(int(rows[-1]) + 9, img.shape[0])
    shown = 255.0 - dark[r0:r1]
    return (shown[:, ::-1] if view == "posterior" else shown), r0


def _font(size: int):
    return ImageFont.load_default(size=size)


class _Canvas:
    def __init__(self, width: int, height: int, bg: int, rng: np.random.Generator):
        self.img = Image.new("L", (width, height), bg)
        self.draw = ImageDraw.Draw(self.img)
        self.rng = rng
        self.size = int(rng.integers(14, 21))

    def text(self, x: float, y: float, word: str, fill: int) -> None:
        self.draw.text((int(x), int(y)), word, fill=fill, font=_font(self.size),
                       stroke_width=int(self.rng.random() < 0.3), stroke_fill=fill)

    def paste(self, grey: np.ndarray, x: int, y: int, h: int, invert: bool) -> tuple[float, float]:
        w = max(int(round(grey.shape[1] * h / grey.shape[0])), 8)
        pic = Image.fromarray(np.clip(255 - grey if invert else grey, 0, 255).astype(np.uint8))
        self.img.paste(pic.resize((w, h), Image.BILINEAR), (x, y))
        return w / grey.shape[1], h / grey.shape[0]

    def bar(self, x: int, y: int, w: int, h: int) -> None:
        ramp = np.linspace(0, 255, h)[:, None].repeat(w, axis=1).astype(np.uint8)
        self.img.paste(Image.fromarray(ramp), (x, y))

    def panel(self, x: int, y: int, w: int, h: int, frame: int | None, fill: int) -> None:
        self.draw.rectangle([x, y, x + w - 1, y + h - 1], fill=fill,
                            outline=frame if frame is not None else fill, width=2)


def _whole_body(cv: _Canvas, study, order, x: int, y: int, h: int, *, framed: bool, invert: bool,
                words: tuple[str, str] | None, above: bool) -> tuple[dict, int]:
    """Draw the two whole-body views left to right; return their placements and the next x."""
    out = {}
    pad = 10 if framed else 0
    for view in order:
        shown, row0 = _display(study, view)
        w = int(round(shown.shape[1] * (h - 2 * pad) / shown.shape[0])) + 2 * pad
        if framed:
            cv.panel(x, y, w, h, frame=150, fill=255)
        sx, sy = cv.paste(shown, x + pad, y + pad, h - 2 * pad, invert)
        out[view] = Placement(x + pad, y + pad, sx, sy, row0, shown.shape[1], view == "posterior",
                              w - 2 * pad, h - 2 * pad)
        if words:
            word = words[0] if view == "anterior" else words[1]
            ty = y - cv.size - 12 if above else y + h + 8
            ink = 0 if cv.img.getpixel((x, max(ty, 0))) > 127 else 255
            cv.text(x + w / 2 - cv.size * len(word) / 3, ty, word, ink)
        x += w + int(cv.rng.integers(12, 40))
    return out, x


def _spots(cv: _Canvas, study, x: int, y: int, h: int) -> int:
    """Anterior chest and posterior pelvis spot views, stacked, framed, to the right."""
    each = int(0.42 * h)
    for k, (view, lo, hi, word) in enumerate((("anterior", 0.12, 0.42, "CHEST"),
                                              ("posterior", 0.42, 0.68, "PELVIS"))):
        shown, _ = _display(study, view)
        part = shown[int(lo * len(shown)) : int(hi * len(shown))]
        top = y + k * (each + 40)
        w = int(round(part.shape[1] * (each - 20) / part.shape[0])) + 20
        cv.panel(x, top, w, each, frame=150, fill=255)
        cv.paste(part, x + 10, top + 10, each - 20, invert=False)
        cv.text(x + 10, top + each + 4, word, 255)
    return x + w + 20


def _laterals(cv: _Canvas, study, x: int, y: int, h: int) -> int:
    """Right and left laterals: a narrow side-on body (the anterior view squeezed)."""
    shown, _ = _display(study, "anterior")
    side = np.asarray(Image.fromarray(shown.astype(np.uint8)).resize(
        (max(shown.shape[1] // 4, 8), shown.shape[0]), Image.BILINEAR), dtype=np.float64)
    tall = h if cv.rng.random() < 0.5 else int(0.5 * h)
    for word in ("RLA", "LLA"):
        w = int(round(side.shape[1] * (tall - 20) / side.shape[0])) + 20
        cv.panel(x, y, w, tall, frame=150, fill=255)
        cv.paste(side, x + 10, y + 10, tall - 20, invert=False)
        cv.text(x + 4, y - cv.size - 12, word, 255)
        x += w + 16
    return x


def render_capture(study: SimulatedStudy, layout: str, rng: np.random.Generator
                   ) -> tuple[Image.Image, dict[str, Placement]]:
    """Draw one study as a screen capture in ``layout``; return the picture and placements."""
    width, height = _SIZES[layout]
    dark_page = layout in ("black", "framed", "spots", "laterals", "wide")
    cv = _Canvas(width, height, 0 if dark_page else 255, rng)
    framed = layout in ("framed", "spots", "laterals", "wide")
    header = layout in ("framed", "header", "wide")
    bars = layout in ("header", "wide")
    top = 60 if header else 40
    if header:
        cv.text(20, 10, f"GENERAL HOSPITAL  {study.patient_id}  Bone Sequence  2026-01-0{rng.integers(1, 9)}",
                255 if dark_page else 0)
    x = 50 if bars else 20
    if bars:
        cv.bar(6, top, 16, int(0.6 * (height - top)))
    swap = layout != "plain" and rng.random() < 0.25
    order = ("posterior", "anterior") if swap else ("anterior", "posterior")
    words = None if layout == "plain" else (("ANT", "POST") if layout in ("black", "header") or rng.random() < 0.4
                                            else ("ANTERIOR", "POSTERIOR"))
    above = framed
    h = height - top - (40 if framed else 50)
    if framed:
        top += 30
        h -= 30
    place, x = _whole_body(cv, study, order, x, top, h, framed=framed, invert=False,
                           words=words, above=above)
    if layout in ("spots", "wide"):
        x = _spots(cv, study, x, top, h)
    if layout in ("laterals", "wide"):
        _laterals(cv, study, x, top + 30, h - 30)
    if layout in ("header", "wide"):
        first = place[order[0]]
        cv.text(first.x0 + 4, first.y0 + 4, "R", 0)
    if layout == "black":  # bright bodies on black: the display not inverted
        cv.img = Image.fromarray(_uninvert_bodies(np.asarray(cv.img), place, height))
    return cv.img, place


def _uninvert_bodies(pic: np.ndarray, place: dict[str, Placement], height: int) -> np.ndarray:
    """Layout "black": bodies drawn bright on black (text, outside the views, stays white).
    The whole view is turned over: a cut at a grey level left the faintest uptake (one count
    of soft tissue, grey 250 on the inverted display) white on black, a salt of false hot
    pixels around every body."""
    out = pic.copy()
    for p in place.values():
        region = out[p.y0 : p.y0 + p.height, p.x0 : p.x0 + p.width]
        region[...] = 255 - region
    return out


def _box(points, pl: Placement) -> list[list[float]]:
    pts = np.array([pl.to_picture(y, x) for x, y in points])
    return [pts.min(0).round(2).tolist(), pts.max(0).round(2).tolist()]


def capture_labelme(study: SimulatedStudy, place: dict[str, Placement], image: str,
                    size: tuple[int, int], polygons: bool) -> dict:
    """LabelMe JSON of the study's lesion outlines, drawn on the capture (picture pixels)."""
    shapes = []
    for ann in study.label.annotations:
        pl = place[ann.view]
        if polygons:
            pts = [list(map(lambda v: round(v, 2), pl.to_picture(y, x))) for x, y in ann.points]
            kind = "polygon"
        else:
            pts, kind = _box(ann.points, pl), "rectangle"
        shapes.append({"label": GRADED_LABELS[ann.label], "points": pts, "group_id": None,
                       "description": "", "shape_type": kind, "flags": {}})
    return {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image,
            "imageData": None, "imageHeight": size[1], "imageWidth": size[0]}


def jpeg_bytes(img: Image.Image, quality: int) -> bytes:
    """The picture as JPEG file bytes at ``quality``."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write_capture(study: SimulatedStudy, out_dir: Path, layout: str, index: int, seed: int
                  ) -> dict[str, str]:
    """Write one capture (JPEG), its LabelMe JSON and truth JSON; return the manifest row."""
    rng = np.random.default_rng([seed, index, LAYOUTS.index(layout)])
    pic, place = render_capture(study, layout, rng)
    quality = QUALITIES[index % len(QUALITIES)]
    sid = f"{study.study_id}_{layout}"
    folder = out_dir / "captures"
    image = folder / f"{sid}.jpg"
    atomic_write_bytes(image, jpeg_bytes(pic, quality))
    doc = capture_labelme(study, place, image.name, pic.size, polygons=index % 3 == 2)
    atomic_write_bytes(folder / f"{sid}.json", json.dumps(doc, indent=1).encode())
    truth = {"layout": layout, "quality": quality, "views": {v: vars(p) for v, p in place.items()},
             "left_view": min(place, key=lambda v: place[v].x0), "label": study.label.label,
             "annotations": [{"view": a.view, "label": a.label, "points": [list(p) for p in a.points]}
                             for a in study.label.annotations]}
    atomic_write_bytes(folder / f"{sid}_truth.json", json.dumps(truth, indent=1).encode())
    rel = lambda p: Path(os.path.relpath(p, out_dir)).as_posix()  # noqa: E731
    return {"patient_id": study.patient_id, "study_id": sid, "image": rel(image),
            "label": study.label.label or "", "site": study.site,
            "primary": study.label.primary or "", "lesion_count": str(study.label.lesion_count),
            "annotations": rel(folder / f"{sid}.json"), "layout": layout,
            "truth": rel(folder / f"{sid}_truth.json")}


def check_layouts(layouts: tuple[str, ...]) -> None:
    """Refuse unknown layout names (ConfigError listing them and the known ones)."""
    from osteoscan.errors import ConfigError

    bad = [name for name in layouts if name not in LAYOUTS]
    if bad or not layouts:
        raise ConfigError(f"unknown capture layout(s) {bad}; known: {', '.join(LAYOUTS)}")


def write_capture_cohort(out_dir: str | Path, n: int, *, layouts: tuple[str, ...] = LAYOUTS,
                         seed: int = 0, sites: tuple[str, ...] = ("site_a",),
                         difficulty: str | float = "default", prevalence: float = 0.5,
                         uptake_balance: bool = False, progress=None) -> Path:
    """Simulate ``n`` studies and write each as a screen capture, layouts taken in turn.

    Writes ``captures/<study>_<layout>.jpg`` with ``.json`` (LabelMe, picture pixels) and
    ``_truth.json`` beside, ``label_map.yaml`` (:data:`LABEL_MAP`) and ``manifest.csv``
    (with a ``layout`` column).

    Args:
        out_dir: output folder (created).
        n: number of captures.
        layouts: layouts to cycle through (:data:`LAYOUTS`).
        seed: cohort seed (same arguments, same files).
        sites: simulated site profiles.
        difficulty: "easy", "default", "hard" or 0..1.
        prevalence: fraction of patients with metastases.
        uptake_balance: each patient's balance of uptake between the skeleton's parts
            (:func:`osteoscan.simulate.physiology.sample_uptake_balance`; off by default).
        progress: called with the number done after each capture.

    Returns:
        The manifest path.

    Raises:
        ConfigError: an unknown layout.

    Example:
        >>> write_capture_cohort("caps", 14, layouts=("framed", "wide"))  # doctest: +SKIP
    """
    from osteoscan.simulate.cohort import check_cohort_args, cohort_plan
    from osteoscan.simulate.study import difficulty_value, render_plan
    from osteoscan.simulate.writer import write_manifest_csv

    check_layouts(layouts)
    check_cohort_args(n, sites, prevalence, 1.0)
    kw = dict(sites=tuple(sites), difficulty=difficulty_value(difficulty), prevalence=prevalence,
              studies_per_patient=1.0, uptake_balance=uptake_balance)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        study = render_plan(cohort_plan(i, seed=seed, **kw)).study
        rows.append(write_capture(study, out, layouts[i % len(layouts)], i, seed))
        if progress:
            progress(i + 1)
    lines = "".join(f'"{name}": {label}\n' for name, label in LABEL_MAP.items())
    atomic_write_bytes(out / "label_map.yaml", lines.encode())
    path = out / "manifest.csv"
    write_manifest_csv(rows, path, columns=CAPTURE_COLUMNS)
    return path


CAPTURE_COLUMNS = ("patient_id", "study_id", "image", "label", "site", "primary", "lesion_count",
                   "annotations", "layout", "truth")
"""Columns of a capture cohort's manifest."""
