"""Read the view name burned into a screen capture ("ANT", "POST", "ANTERIOR", "POSTERIOR").

A small template matcher, not OCR (docs/ingest.md, "Reading the view label"): the words to
tell apart are few and fixed, so each word blob is compared with the same words rendered in
Pillow's bundled font (regular and emboldened), by normalised cross-correlation after
resizing the blob to each template's size. Tesseract would read any text, but it is a
system binary (tesseract-ocr) plus a wrapper, slow per call, and no more reliable on a
dozen-pixel-high inverted label; a word it does not need to read is one it cannot misread.

Written by hand because no installed library matches word templates across scales; it is
a few lines of Pillow and numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

WORDS: dict[str, str] = {
    "ANT": "anterior",
    "ANTERIOR": "anterior",
    "POST": "posterior",
    "POSTERIOR": "posterior",
    "RLA": "lateral",
    "LLA": "lateral",
    "LAT": "lateral",
}
"""Words the matcher knows, and what each says about a panel."""
MIN_SCORE = 0.6
"""Lowest correlation accepted as a reading."""
_TEMPLATE_HEIGHT = 24
_SOFTEN = 1.5  # Gaussian sigma, template pixels
_ALPHABET = "ABCDEFGHJKLMNOPQRSTUVWXYZ023456789"  # "I" (and "1") are told by their shape
_SAME = {"0": "O"}  # told apart by no font reliably
_WHOLE_WORD_MIN = 8  # only the long view words are distinctive enough to read as a whole
_BAR_GLYPH = 0.3  # a glyph narrower than this fraction of its height is an "I"
_LETTER_ASPECT = 0.5  # |log| of a glyph's width/height over the letter's: at most about 1.65x off
_ASPECT_TOLERANCE = 0.3  # a blob's width/height within 30 % of the template's


@dataclass(frozen=True)
class Reading:
    """A word read from a blob.

    Attributes:
        word: the template word ("POSTERIOR").
        meaning: "anterior", "posterior" or "lateral".
        score: correlation 0..1.
    """

    word: str
    meaning: str
    score: float


def _tight(img: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    if not rows.size:
        return img
    return img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


@lru_cache(maxsize=1)
def _templates() -> tuple[tuple[str, np.ndarray], ...]:
    out = []
    for word in WORDS:
        ink = np.pad(render_word(word, _TEMPLATE_HEIGHT), 2)
        out.append((word, _tight(ink).astype(np.float32)))
        out.append((word, _tight(ndimage.binary_dilation(ink)).astype(np.float32)))  # bold
    return tuple(out)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def read_word(ink: np.ndarray) -> Reading | None:
    """Read one word blob as one of the known view words, or None.

    Letter by letter first: the blob is cut into glyphs (connected pieces, left to right);
    when their number is that of a known word, each glyph is classified among the letters
    and digits and the word must be spelled exactly (one letter off allowed in words of 8+).
    Only when the glyphs cannot be counted (touching letters) is the whole word correlated
    with the templates of the long words ("ANTERIOR", "POSTERIOR"): a short word read whole
    is too easily another ("FOOT" correlates with "POST" at 0.8).

    Args:
        ink: (rows, cols) contrast of the blob against its background, text bright; any
            scale (it is binarised at half its maximum).

    Returns:
        The reading, else None.
    """
    if ink.size == 0 or float(ink.max()) <= 0:
        return None
    on = ink > 0.5 * float(ink.max())
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    blob = (ink / float(ink.max())).astype(np.float32)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = blob.shape
    if h < 4 or w < 4:
        return None
    glyphs = _glyphs(on[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], blob)
    if len(glyphs) in {len(word) for word in WORDS}:
        return _spelled(glyphs)
    return _whole_word(blob)


def _glyphs(on: np.ndarray, blob: np.ndarray) -> list[np.ndarray]:
    """The letters of a word, left to right (8-connected pieces; specks dropped)."""
    labels, n = ndimage.label(on, structure=np.ones((3, 3)))
    boxes = [b for b in ndimage.find_objects(labels) if b is not None]
    boxes = [b for b in boxes if (b[0].stop - b[0].start) >= 0.4 * on.shape[0]]
    return [blob[:, b[1]][b[0]] for b in sorted(boxes, key=lambda b: b[1].start)]


@lru_cache(maxsize=1)
def _letters() -> tuple[tuple[str, np.ndarray], ...]:
    return tuple((ch, render_word(ch, _TEMPLATE_HEIGHT).astype(np.float32)) for ch in _ALPHABET)


def _letter(glyph: np.ndarray) -> tuple[str, float]:
    """The best letter for one glyph, by correlation at the letter's size (softened)."""
    h, w = glyph.shape
    if w < _BAR_GLYPH * h:  # a plain upright bar: no shape to correlate
        return "I", 1.0
    best, score = "?", -1.0
    for ch, tpl in _letters():
        th, tw = tpl.shape
        if abs(np.log((w / h) / (tw / th))) > _LETTER_ASPECT:
            continue
        resized = np.asarray(Image.fromarray(glyph, mode="F").resize((tw, th), Image.BILINEAR))
        r = _ncc(ndimage.gaussian_filter(resized, _SOFTEN), ndimage.gaussian_filter(tpl, _SOFTEN))
        if r > score:
            best, score = ch, r
    return best, score


def _spelled(glyphs: list[np.ndarray]) -> Reading | None:
    read = [_letter(g) for g in glyphs]
    text = "".join(ch for ch, _ in read)
    for word, meaning in WORDS.items():
        if len(word) != len(text):
            continue
        wrong = sum(a != _SAME.get(b, b) for a, b in zip(word, text, strict=True))
        if wrong == 0 or (wrong == 1 and len(word) >= 8):
            return Reading(word, meaning, float(np.mean([r for _, r in read])))
    return None


def _whole_word(blob: np.ndarray) -> Reading | None:
    """Whole-word correlation with the word templates (letters that touch)."""
    h, w = blob.shape
    best: Reading | None = None
    for word, tpl in _templates():
        if len(word) < _WHOLE_WORD_MIN:
            continue
        th, tw = tpl.shape
        if abs((w / h) / (tw / th) - 1) > _ASPECT_TOLERANCE:
            continue
        resized = np.asarray(Image.fromarray(blob, mode="F").resize((tw, th), Image.BILINEAR))
        # both softened: a small or JPEG-blurred label correlates with the crisp template
        score = _ncc(ndimage.gaussian_filter(resized, _SOFTEN), ndimage.gaussian_filter(tpl, _SOFTEN))
        if score >= MIN_SCORE and (best is None or score > best.score):
            best = Reading(word, WORDS[word], score)
    return best


def render_word(word: str, height: int, *, bold: bool = False) -> np.ndarray:
    """A word as ink (bool, tight box) about ``height`` pixels high, in the bundled font.

    The simulator's screen captures draw their labels with it; the matcher reads them.
    """
    font = ImageFont.load_default(size=max(int(height), 6))
    left, top, right, bottom = font.getbbox(word)
    canvas = Image.new("L", (right + 8, bottom + 8), 0)
    ImageDraw.Draw(canvas).text((4, 4), word, fill=255, font=font, stroke_width=int(bold))
    return _tight(np.asarray(canvas) > 127)
