"""The layout of a screen capture: panels, whole-body pair, spot views, laterals, text, bars.

A reading-station capture (REALISM.md, "Screen captures") holds the two whole-body views,
often in framed panels on black with an inverted (white) display inside, and around them
spot views, laterals, a header row, view names, an "R" marker and grey-scale bars. This
module finds, on the displayed grey picture:

1. *panels*: connected regions that differ from the page background and whose bounding box
   is outlined all round (a frame line, or a filled white panel); each is analysed again
   inside, against its own background, so grids of framed panels work too;
2. *bodies*: large blobs (parts closer than a few pixels grouped) inside a panel or on the
   page itself (unframed layouts); small blobs are text or markers; thin rectangles are
   grey-scale bars or frame lines;
3. the *whole-body pair*: the two tallest views; shorter ones are spot views, much narrower
   ones (or ones labelled RLA/LLA) laterals, all listed with a reason;
4. the burned-in *view names* near each of the pair (:mod:`osteoscan.io.viewtext`).

Written by hand on scipy.ndimage labelling: no library knows this kind of layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.viewtext import Reading, read_word

MIN_VIEW_HEIGHT = 0.15
"""A body or panel at least this fraction of the picture height can be a view."""
SPOT_HEIGHT = 0.7
"""A view shorter than this fraction of the tallest is a spot view."""
LATERAL_ASPECT = 0.55
"""A body narrower (width/height) than this fraction of the widest candidate's is a lateral."""
_RING_COVER = 0.85  # a panel's outline is this much covered
_BAR_ASPECT = 0.15  # a filled rectangle this narrow is a grey-scale bar
_TEXT_HEIGHT = 0.08  # a word blob is at most this fraction of the picture height
_WORD_REACH = 0.12  # a view name lies within this fraction of the picture height of its panel


@dataclass
class Blob:
    """A connected group of foreground pixels, in picture coordinates.

    Attributes:
        box: (r0, r1, c0, c1), end-exclusive.
        mask: bool pixels of the blob inside ``box``.
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray

    @property
    def height(self) -> int:
        return self.box[1] - self.box[0]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[2]

    def where(self) -> str:
        r0, r1, c0, c1 = self.box
        return f"x {c0}-{c1}, y {r0}-{r1}"


@dataclass
class Panel:
    """A region holding one view.

    Attributes:
        box: (r0, r1, c0, c1) of the region (a panel's inside, or the body's own box).
        bg: display value of its background, 0..1 (1: inverted display, white).
        kind: "framed" (inside an outlined panel) or "open" (body on the page itself).
        body: the body blob.
        reading: the view name read near it, or None.
    """

    box: tuple[int, int, int, int]
    bg: float
    kind: str
    body: Blob
    reading: Reading | None = None
    home: tuple[int, int, int, int] | None = None

    @property
    def extent(self) -> int:
        """Height that ranks views: the panel's for framed panels, the body's otherwise."""
        return (self.box[1] - self.box[0]) if self.kind == "framed" else self.body.height


@dataclass
class Layout:
    """What :func:`analyse` found.

    Attributes:
        pair: the whole-body views, left to right (one for a single view).
        discarded: (kind, reason) of everything left out.
        words: every small blob (text or marker) found.
        page_bg: page background, 0..1.
        framed: whether any outlined panel was found.
    """

    pair: list[Panel]
    discarded: list[tuple[str, str]] = field(default_factory=list)
    words: list[Blob] = field(default_factory=list)
    page_bg: float = 0.0
    framed: bool = False

    def describe(self) -> str:
        kinds = [k for k, _ in self.discarded]
        page = "white" if self.page_bg > 0.5 else "black"
        head = f"{'framed panels' if self.framed else 'views'} on {page}, {len(self.pair)} whole-body"
        extra = [f"{kinds.count(k)} {k}(s)" for k in dict.fromkeys(kinds) if k != "text"]
        return ", ".join([head, *extra])


def _border_median(d: np.ndarray) -> float:
    ring = max(2, min(d.shape) // 50)
    parts = [d[:ring].ravel(), d[-ring:].ravel(), d[:, :ring].ravel(), d[:, -ring:].ravel()]
    return float(np.median(np.concatenate(parts)))


def _foreground(d: np.ndarray, bg: float) -> np.ndarray:
    contrast = ndimage.uniform_filter(np.abs(d - bg), 3)
    top = float(np.percentile(contrast, 99.5))
    return contrast > max(0.04 * top, 0.02)


def _components(mask: np.ndarray, origin: tuple[int, int]) -> list[Blob]:
    labels, n = ndimage.label(mask)
    if n > limits.MAX_REGIONS:
        raise InputError(None, f"{n} separate bright regions: noise, not a whole-body picture")
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels)):
        r, c = sl
        box = (r.start + origin[0], r.stop + origin[0], c.start + origin[1], c.stop + origin[1])
        out.append(Blob(box, labels[sl] == i + 1))
    return out


def _ring_cover(blob: Blob) -> float:
    """How much of the box's outline is on: the best of the rings 0..4 pixels inside its edge
    (JPEG ringing beside a panel's edge can ride on the outermost ring)."""
    m = blob.mask
    best = 0.0
    for k in range(min(5, min(m.shape) // 4)):
        inner = m[k : m.shape[0] - k, k : m.shape[1] - k]
        ring = np.concatenate([inner[0], inner[-1], inner[:, 0], inner[:, -1]])
        best = max(best, float(ring.mean()))
    return best


def _is_rectangle(blob: Blob, rows: int) -> bool:
    return blob.height >= 8 and blob.width >= 8 and _ring_cover(blob) >= _RING_COVER


def _is_line(blob: Blob, rows: int) -> bool:
    thin = min(blob.height, blob.width) <= max(6, rows // 100)  # two touching frames, too
    return thin and max(blob.height, blob.width) >= 0.1 * rows


def _is_bar(d: np.ndarray, blob: Blob) -> bool:
    """A narrow filled rectangle whose grey changes only along its length (a grey scale)."""
    if min(blob.width / blob.height, blob.height / blob.width) >= _BAR_ASPECT:
        return False
    r0, r1, c0, c1 = blob.box
    inside = d[r0 + 2 : r1 - 2, c0 + 2 : c1 - 2]
    if inside.size == 0:
        return True
    across = 1 if blob.height > blob.width else 0  # a vertical bar is constant along rows
    return float(np.median(inside.std(axis=across))) < 0.03


def _grouped(mask: np.ndarray, origin: tuple[int, int], reach: int) -> list[Blob]:
    """Blobs of ``mask`` with parts closer than ``2 * reach`` pixels grouped (arms, words)."""
    grown = ndimage.binary_dilation(mask, iterations=reach) if reach else mask
    out = []
    for g in _components(grown, origin):
        r0, r1, c0, c1 = g.box
        own = g.mask & mask[r0 - origin[0] : r1 - origin[0], c0 - origin[1] : c1 - origin[1]]
        rows, cols = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
        if rows.size:
            box = (r0 + rows[0], r0 + rows[-1] + 1, c0 + cols[0], c0 + cols[-1] + 1)
            out.append(Blob(box, own[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]))
    return out


@dataclass
class _Found:
    bodies: list[tuple[Blob, float, tuple[int, int, int, int] | None]] = field(default_factory=list)
    words: list[Blob] = field(default_factory=list)
    discarded: list[tuple[str, str]] = field(default_factory=list)
    framed: bool = False


def _inside_box(blob: Blob, t: int) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = blob.box
    return (r0 + t, max(r1 - t, r0 + t + 1), c0 + t, max(c1 - t, c0 + t + 1))


def _region(d: np.ndarray, box: tuple[int, int, int, int], bg: float, found: _Found,
            depth: int = 0) -> None:
    """Find panels, bodies, words, bars and lines inside ``box`` against background ``bg``."""
    rows = d.shape[0]
    r0, r1, c0, c1 = box
    mask = _foreground(d[r0:r1, c0:c1], bg)
    for blob in _components(mask, (r0, c0)):
        if blob.height < MIN_VIEW_HEIGHT * rows and not _is_line(blob, rows):
            continue
        br0, _, bc0, _ = blob.box
        sub = (slice(br0 - r0, br0 - r0 + blob.height), slice(bc0 - c0, bc0 - c0 + blob.width))
        if _is_line(blob, rows):
            found.discarded.append(("frame line", blob.where()))
        elif _is_rectangle(blob, rows) and _is_bar(d, blob):
            found.discarded.append(("grey-scale bar", blob.where()))
        elif _is_rectangle(blob, rows) and depth < 3:
            found.framed = True
            inner = _inside_box(blob, max(2, min(blob.height, blob.width) // 100 + 1))
            ir0, ir1, ic0, ic1 = inner
            inner_bg = float(np.median(d[ir0:ir1, ic0:ic1]))
            _region(d, inner, inner_bg, found, depth + 1)
            mask[sub] = False  # its inside was analysed against its own background
            continue
        else:
            continue
        mask[sub] &= ~blob.mask
    reach = max(2, rows // 150)
    for blob in _grouped(mask, (r0, c0), reach):
        if blob.height >= MIN_VIEW_HEIGHT * rows:
            found.bodies.append((blob, bg, box if depth else None))
        else:
            found.words.append(blob)


MARKER_SIZE = 0.04
"""Largest height and width of a burned-in marker, as a share of the picture's rows."""
MARKER_INK = 0.9
"""Contrast against the background (0..1) that nine in ten of a marker's pixels reach at
their brightest tenth: text is drawn at full ink, uptake is not."""


def _is_marker(d: np.ndarray, blob: Blob, bg: float) -> bool:
    """A small blob at full ink: a burned-in letter or marker ("R", "L"), not uptake."""
    limit = MARKER_SIZE * d.shape[0]
    if blob.height > limit or blob.width > limit:
        return False
    r0, r1, c0, c1 = blob.box
    ink = np.abs(d[r0:r1, c0:c1][blob.mask] - bg)
    return bool(ink.size) and float(np.quantile(ink, 0.9)) >= MARKER_INK


def _absorb(found: _Found, margin: int, d: np.ndarray) -> None:
    """Small blobs inside a body's box are part of that body (noise specks, hands), unless
    they are burned-in markers at full ink (an "R" in the panel's corner), which stay words:
    absorbed, a saturated letter sat in the view as the hottest thing in it."""
    left = []
    for w in found.words:
        home, bg = next(((b, bg) for b, bg, _ in found.bodies
                         if _within(w.box, b.box, margin)), (None, 0.0))
        if home is None or _is_marker(d, w, bg):
            left.append(w)
            continue
        r0, r1 = max(w.box[0], home.box[0]), min(w.box[1], home.box[1])
        c0, c1 = max(w.box[2], home.box[2]), min(w.box[3], home.box[3])
        if r1 > r0 and c1 > c0:  # the part inside the body's box joins it
            home.mask[r0 - home.box[0] : r1 - home.box[0], c0 - home.box[2] : c1 - home.box[2]] |= (
                w.mask[r0 - w.box[0] : r1 - w.box[0], c0 - w.box[2] : c1 - w.box[2]])
    found.words = left


def _within(inner: tuple, outer: tuple, margin: int) -> bool:
    return (inner[0] >= outer[0] - margin and inner[1] <= outer[1] + margin
            and inner[2] >= outer[2] - margin and inner[3] <= outer[3] + margin)


def _panels(d: np.ndarray, found: _Found) -> list[Panel]:
    """One panel per body: the outlined panel's inside when it holds only this body."""
    per_box: dict = {}
    for blob, bg, box in found.bodies:
        per_box.setdefault(box, []).append(blob)
    out = []
    for blob, bg, box in found.bodies:
        if box is not None and len(per_box[box]) == 1:
            out.append(Panel(box, bg, "framed", blob, home=box))
        else:
            out.append(Panel(blob.box, bg, "open", blob, home=box))
    return out


def _read_near(d: np.ndarray, panel: Panel, words: list[Blob], bg_of) -> Reading | None:
    rows = d.shape[0]
    r0, r1, c0, c1 = panel.box
    reach = _WORD_REACH * rows
    best = None
    for w in words:
        if not (w.height <= _TEXT_HEIGHT * rows and w.width > w.height):
            continue
        cx = (w.box[2] + w.box[3]) / 2
        if not (c0 <= cx <= c1 and r0 - reach <= w.box[0] and w.box[1] <= r1 + reach):
            continue
        wr0, wr1, wc0, wc1 = w.box
        ink = np.abs(d[wr0:wr1, wc0:wc1] - bg_of(w)) * w.mask
        reading = read_word(ink)
        if reading and (best is None or reading.score > best.score):
            best = reading
    return best


def _select(panels: list[Panel], discarded: list[tuple[str, str]]) -> list[Panel]:
    """The whole-body pair (left to right); the rest listed in ``discarded`` with a reason."""
    tallest = max(p.extent for p in panels)
    keep, listed = [], set()
    for p in panels:
        if p.reading is not None and p.reading.meaning == "lateral":
            kind, why = "lateral", f"labelled {p.reading.word!r}"
        elif p.extent < SPOT_HEIGHT * tallest:
            kind, why = "spot view", f"{p.extent / tallest:.0%} of the whole-body height"
        else:
            keep.append(p)
            continue
        if p.home is None or (kind, p.home) not in listed:  # one entry per framed panel
            where = p.body.where() if p.home is None else Blob(p.home, p.body.mask).where()
            discarded.append((kind, f"{where}: {why}"))
            listed.add((kind, p.home))
    if not keep:
        raise InputError(None, "no whole-body view found (only laterals)")
    widest = max(p.body.width / p.body.height for p in keep)
    pair = []
    for p in keep:
        aspect = p.body.width / p.body.height
        if aspect < LATERAL_ASPECT * widest:
            discarded.append(("lateral", f"{p.body.where()}: body {aspect:.2f} as wide as tall, "
                              f"the whole-body views {widest:.2f}"))
        else:
            pair.append(p)
    pair.sort(key=lambda p: (-p.body.height, -int(p.body.mask.sum())))
    for p in pair[2:]:
        discarded.append(("extra view", f"{p.body.where()}: a third whole-body-sized view"))
    return sorted(pair[:2], key=lambda p: p.box[2])


def analyse(d: np.ndarray) -> Layout:
    """Find the layout of a displayed picture.

    Args:
        d: (rows, cols) displayed grey scaled to 0..1 (as shown: inverted displays stay
            inverted).

    Returns:
        The layout.

    Raises:
        InputError: no body found (``path`` None; the caller names the file).
    """
    page_bg = _border_median(d)
    found = _Found()
    _region(d, (0, d.shape[0], 0, d.shape[1]), page_bg, found)
    _absorb(found, max(3, d.shape[0] // 100), d)
    panels = _panels(d, found)
    if not panels:
        raise InputError(None, "no body found in the picture")
    bgs = {id(w): page_bg for w in found.words}
    for p in panels:  # words inside a panel are read against the panel's background
        for w in found.words:
            if _within(w.box, p.box, 0):
                bgs[id(w)] = p.bg
    for p in panels:
        p.reading = _read_near(d, p, found.words, lambda w: bgs[id(w)])
    discarded = list(found.discarded)
    pair = _select(panels, discarded)
    n_words = len(found.words)
    if n_words:
        discarded.append(("text", f"{n_words} text or marker blob(s) removed"))
    return Layout(pair, discarded, found.words, page_bg, found.framed)
