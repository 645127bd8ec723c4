"""Lesion annotations: LabelMe JSON outlines and label masks.

Coordinates follow LabelMe: ``(x, y)`` with x along columns and y along rows, in pixel
EDGE units (pixel ``(r, c)`` covers ``c <= x < c + 1`` and ``r <= y < r + 1``), so an image of
W columns spans ``0 <= x <= W``. Mirroring a posterior annotation into the anterior
orientation is then exactly ``x -> W - x``. See docs/data-format.md for the two-view rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from skimage.draw import polygon as draw_polygon

from osteoscan.errors import InputError
from osteoscan.io import limits
from osteoscan.io.guard import describe, reading
from osteoscan.types import Annotation, PictureMap

log = logging.getLogger(__name__)

DEFAULT_LABEL_MAP: dict[str, str] = {
    **dict.fromkeys(
        ["malignant", "metastasis", "metastases", "metastatic", "met", "mets", "malignancy"],
        "malignant",
    ),
    **dict.fromkeys(
        [
            "benign",
            "degenerative",
            "degeneration",
            "djd",
            "arthritis",
            "arthrosis",
            "fracture",
            "trauma",
            "inflammation",
            "inflammatory",
            "osteoarthritis",
        ],
        "benign",
    ),
    **dict.fromkeys(
        [
            "ignore",
            "uncertain",
            "equivocal",
            "injection",
            "injection_site",
            "contamination",
            "urine",
            "artifact",
            "artefact",
            "physiological",
        ],
        "ignore",
    ),
}
"""Annotation label (lower case, trimmed) -> "benign" / "malignant" / "ignore"."""

MASK_VALUES: dict[int, str] = {0: "background", 1: "benign", 2: "malignant", 3: "ignore"}
"""Pixel values of a label mask (PNG/TIFF) and what they mean."""
MASK_CODE = {name: value for value, name in MASK_VALUES.items()}
_DRAW_ORDER = ("ignore", "benign", "malignant")  # later wins where outlines overlap
VIEWS = ("anterior", "posterior")


def _load_json(path: Path) -> dict:
    try:
        limits.check_file_size(path, limits.MAX_TEXT_BYTES)
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such annotation file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(path, f"not a readable LabelMe JSON file ({describe(exc)})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        raise InputError(path, "not a LabelMe JSON file (no 'shapes' list)")
    return doc


def _image_shape(path: Path, doc: dict, image_shape: tuple[int, int] | None) -> tuple[int, int]:
    declared = None
    if doc.get("imageHeight") and doc.get("imageWidth"):
        try:
            declared = (int(doc["imageHeight"]), int(doc["imageWidth"]))
        except (TypeError, ValueError, OverflowError):
            raise InputError(path, "imageHeight/imageWidth are not whole numbers") from None
        if not (0 < declared[0] <= limits.MAX_ROWS and 0 < declared[1] <= limits.MAX_COLS):
            raise InputError(path, f"image size {declared[0]} x {declared[1]} is not plausible")
    if image_shape is not None and declared is not None and tuple(image_shape) != declared:
        raise InputError(
            path,
            f"annotated image is {declared[0]} x {declared[1]}, "
            f"the study is {image_shape[0]} x {image_shape[1]}",
        )
    shape = tuple(image_shape) if image_shape is not None else declared
    if shape is None:
        raise InputError(path, "image size unknown (no imageHeight/imageWidth; pass image_shape)")
    return shape  # type: ignore[return-value]


def _flag_view(flags: object) -> str | None:
    if isinstance(flags, Mapping):
        marked = [v for v in VIEWS if flags.get(v) is True]
        if len(marked) == 1:
            return marked[0]
    return None


def _map_labels(path: Path, shapes: list, label_map: Mapping[str, str]) -> list[str]:
    lookup = {k.strip().lower(): v for k, v in label_map.items()}
    bad_targets = sorted({v for v in lookup.values() if v not in ("benign", "malignant", "ignore")})
    if bad_targets:
        raise InputError(
            path, f"label map targets {bad_targets}; allowed: benign, malignant, ignore"
        )
    raw = [str(s.get("label", "")) for s in shapes]
    unknown = sorted({r for r in raw if r.strip().lower() not in lookup})
    if unknown:
        raise InputError(path, f"unknown label name(s) {unknown}; known: {sorted(lookup)}")
    return [lookup[r.strip().lower()] for r in raw]


def _points(
    path: Path, i: int, shape: dict, hw: tuple[int, int]
) -> tuple[str, list[tuple[float, float]]]:
    kind = shape.get("shape_type") or "polygon"
    try:
        pts = [(float(x), float(y)) for x, y in shape.get("points", [])]
    except (TypeError, ValueError):
        raise InputError(path, f"shape {i} has malformed points") from None
    if kind not in ("polygon", "rectangle"):
        raise InputError(
            path, f"shape {i} is a {kind!r}; only polygons and rectangles are supported"
        )
    if (kind == "rectangle" and len(pts) != 2) or (kind == "polygon" and len(pts) < 3):
        raise InputError(path, f"shape {i} ({kind}) has {len(pts)} point(s)")
    h, w = hw
    for x, y in pts:
        if not (0 <= x <= w and 0 <= y <= h):
            raise InputError(
                path,
                f"shape {i} ({shape.get('label')!r}) has point ({x:g}, {y:g}) outside the "
                f"{h} x {w} image",
            )
    return kind, pts


def read_labelme(
    path: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    image_shape: tuple[int, int] | None = None,
    view: str | None = None,
    flip_posterior: bool = True,
    picture: PictureMap | None = None,
) -> tuple[Annotation, ...]:
    """Read LabelMe rectangles and polygons as :class:`~osteoscan.types.Annotation` s.

    Shapes drawn on a whole screen capture (the file's imageHeight/imageWidth are the
    picture's, and ``picture`` is the scan's ``source.picture``) are mapped into view
    coordinates (:func:`map_capture_shapes`). Otherwise they are drawn on one view: the view
    of each shape is, in order: the shape's flags (``{"posterior": true}``), the ``view``
    argument, the file's image-level flags, else "anterior". Posterior outlines drawn on the
    view as acquired are mirrored (``x -> W - x``) when ``flip_posterior``.

    Args:
        path: the LabelMe JSON file.
        label_map: label text -> benign/malignant/ignore (default :data:`DEFAULT_LABEL_MAP`).
        image_shape: (rows, cols) of the study's view; checked against the JSON when both exist.
        view: "anterior" or "posterior" for the whole file.
        flip_posterior: mirror posterior outlines into the anterior orientation.
        picture: the capture's layout and transform, for shapes drawn on the whole picture.

    Returns:
        The annotations, in file order (shapes on left-out panels skipped, with a warning).

    Raises:
        InputError: unreadable JSON, unknown labels (all listed), shapes outside the image,
            unsupported shape types, a shape spanning both views (named).

    Example:
        >>> anns = read_labelme("case1_ant.json", image_shape=(1024, 256))  # doctest: +SKIP
    """
    path = Path(path)
    if view is not None and view not in VIEWS:
        raise InputError(path, f"view must be 'anterior' or 'posterior', got {view!r}")
    with reading(path, "LabelMe JSON file"):
        doc = _load_json(path)
        if picture is not None and _declared(doc) == tuple(picture.picture_shape):
            return map_capture_shapes(path, doc, picture, label_map)
        return _read_shapes(path, doc, label_map, image_shape, view, flip_posterior)


def _declared(doc: dict) -> tuple[int, int] | None:
    try:
        return int(doc["imageHeight"]), int(doc["imageWidth"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _read_shapes(
    path: Path,
    doc: dict,
    label_map: Mapping[str, str] | None,
    image_shape: tuple[int, int] | None,
    view: str | None,
    flip_posterior: bool,
) -> tuple[Annotation, ...]:
    hw = _image_shape(path, doc, image_shape)
    shapes = [s for s in doc["shapes"] if isinstance(s, dict)]
    labels = _map_labels(path, shapes, DEFAULT_LABEL_MAP if label_map is None else label_map)
    default_view = view or _flag_view(doc.get("flags")) or "anterior"
    out = []
    for i, (shape, label) in enumerate(zip(shapes, labels, strict=True)):
        kind, pts = _points(path, i, shape, hw)
        shape_view = _flag_view(shape.get("flags")) or default_view
        if shape_view == "posterior" and flip_posterior:
            pts = [(hw[1] - x, y) for x, y in pts]
        out.append(Annotation(shape_view, kind, tuple(pts), label, str(shape.get("label", ""))))  # type: ignore[arg-type]
    return tuple(out)


def _overlap(box: tuple[float, float, float, float], picture: PictureMap) -> list[tuple[float, int]]:
    """Area of a shape's box on each placed view, largest first: (area, placement index)."""
    x0, y0, x1, y1 = box
    out = []
    for k, p in enumerate(picture.placements):
        px0, py0 = p.x0, p.y0
        px1, py1 = p.x0 + p.cols * p.scale, p.y0 + p.rows * p.scale
        w, h = min(x1, px1) - max(x0, px0), min(y1, py1) - max(y0, py0)
        out.append((max(w, 0.0) * max(h, 0.0) if w > 0 and h > 0 else 0.0, k))
    return sorted(out, reverse=True)


def _to_view(pts: list[tuple[float, float]], p) -> tuple[tuple[float, float], ...]:
    """Picture points -> (x = col, y = row) on one view, clipped to it."""
    out = []
    for x, y in pts:
        row, col = p.to_view(x, y)
        out.append((min(max(col, 0.0), float(p.cols)), min(max(row, 0.0), float(p.rows))))
    return tuple(out)


def _capture_view(path: Path, i: int, shape: dict, pts: list[tuple[float, float]],
                  picture: PictureMap):
    """The placement a shape lies on; None (warned) off every view; error across two."""
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    box = (min(xs), min(ys), max(xs), max(ys))
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)
    hits = _overlap(box, picture)
    name = f"shape {i} ({shape.get('label')!r}, x {box[0]:g}-{box[2]:g}, y {box[1]:g}-{box[3]:g})"
    if len(hits) > 1 and hits[1][0] > 0.25 * area:
        raise InputError(path, f"{name} spans both views; draw it on one view")
    if not hits or hits[0][0] <= 0:
        log.warning("%s: %s lies on no whole-body view (spot view or lateral?); skipped",
                    path.name, name)
        return None
    return picture.placements[hits[0][1]]


def map_capture_shapes(path: str | Path, doc: dict, picture: PictureMap,
                       label_map: Mapping[str, str] | None = None) -> tuple[Annotation, ...]:
    """LabelMe shapes drawn on a whole screen capture, mapped into view coordinates.

    A shape belongs to the view its box overlaps most; one overlapping a second view by more
    than a quarter of its box is an error naming it; one on no stored view (a spot view) is
    skipped with a warning. Points are clipped to the view; posterior ones come out mirrored.

    Args:
        path: the LabelMe file (for messages).
        doc: its parsed JSON.
        picture: the scan's ``source.picture``.
        label_map: label text -> benign/malignant/ignore (default :data:`DEFAULT_LABEL_MAP`).

    Returns:
        The annotations in view coordinates.

    Raises:
        InputError: a shape spanning both views, bad points or labels.
    """
    path = Path(path)
    shapes = [s for s in doc["shapes"] if isinstance(s, dict)]
    labels = _map_labels(path, shapes, DEFAULT_LABEL_MAP if label_map is None else label_map)
    out = []
    for i, (shape, label) in enumerate(zip(shapes, labels, strict=True)):
        kind, pts = _points(path, i, shape, picture.picture_shape)
        p = _capture_view(path, i, shape, pts, picture)
        if p is None:
            continue
        view_pts = _to_view(pts, p)
        if kind == "rectangle":
            (ax, ay), (bx, by) = view_pts
            view_pts = ((min(ax, bx), min(ay, by)), (max(ax, bx), max(ay, by)))
        out.append(Annotation(p.view, kind, view_pts, label, str(shape.get("label", ""))))  # type: ignore[arg-type]
    return tuple(out)


def read_label_map(path: str | Path) -> dict[str, str]:
    """A label map YAML: ``"label name": malignant | benign | ignore`` per line.

    Raises:
        InputError: unreadable YAML, or a target other than the three (all listed).
    """
    from osteoscan.io.yamlfile import read_yaml

    tree = read_yaml(path, "label map")
    bad = {str(k): v for k, v in tree.items() if v not in ("malignant", "benign", "ignore")}
    if bad:
        raise InputError(path, f"label(s) mapped to something other than malignant, benign or "
                               f"ignore: {bad}")
    return {str(k): str(v) for k, v in tree.items()}


def label_names(path: str | Path) -> list[str]:
    """The label names used in a LabelMe file, in order (for checking a label map)."""
    with reading(Path(path), "LabelMe JSON file"):
        doc = _load_json(Path(path))
    return [str(s.get("label", "")) for s in doc["shapes"] if isinstance(s, dict)]


def _fill(mask: np.ndarray, ann: Annotation, code: int) -> None:
    pts = np.asarray(ann.points, dtype=np.float64)
    if ann.kind == "rectangle":
        (x0, y0), (x1, y1) = pts
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    rr, cc = draw_polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, shape=mask.shape)  # edge -> centre
    if rr.size == 0:  # smaller than a pixel: mark the pixel holding the centroid
        cy, cx = pts[:, 1].mean(), pts[:, 0].mean()
        rr = np.array([min(int(cy), mask.shape[0] - 1)])
        cc = np.array([min(int(cx), mask.shape[1] - 1)])
    mask[rr, cc] = code


def annotations_to_mask(
    annotations: Iterable[Annotation], shape: tuple[int, int], *, view: str = "anterior"
) -> np.ndarray:
    """Rasterise the outlines of one view into a label mask (:data:`MASK_VALUES`).

    A pixel belongs to an outline when its centre is inside it; where outlines overlap,
    malignant wins over benign, which wins over ignore.

    Args:
        annotations: annotations (those of other views are skipped).
        shape: (rows, cols) of the mask.
        view: which view to draw.

    Returns:
        uint8 mask: 0 background, 1 benign, 2 malignant, 3 ignore.

    Example:
        >>> from osteoscan.types import Annotation, PictureMap

log = logging.getLogger(__name__)
        >>> a = Annotation("anterior", "rectangle", ((1, 1), (3, 2)), "malignant")
        >>> annotations_to_mask([a], (4, 4)).tolist()
        [[0, 0, 0, 0], [0, 2, 2, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    mask = np.zeros(shape, np.uint8)
    chosen = [a for a in annotations if a.view == view]
    for label in _DRAW_ORDER:
        for ann in chosen:
            if ann.label == label:
                _fill(mask, ann, MASK_CODE[label])
    return mask


def read_mask(path: str | Path, *, instances: bool = False) -> np.ndarray:
    """Read a PNG/TIFF mask: label values (:data:`MASK_VALUES`) or lesion instance ids.

    Args:
        path: a single-channel integer PNG or TIFF.
        instances: the mask holds lesion instance ids (0 background, 1..n one lesion each,
            as the simulator writes) instead of label values; any non-negative id is kept.

    Returns:
        uint8 (rows, cols) label mask, or int32 instance ids.

    Raises:
        InputError: colour or float masks, or label values outside 0..3.
    """
    from osteoscan.io.picture_file import read_picture

    path = Path(path)
    arr = read_picture(path)
    if arr.ndim != 2 or arr.dtype.kind not in "ui":
        raise InputError(path, f"a mask must be one integer channel, got {arr.dtype} {arr.shape}")
    if instances:
        if arr.size and int(arr.min()) < 0:
            raise InputError(path, "instance ids must be non-negative")
        return arr.astype(np.int32)
    bad = sorted(set(np.unique(arr).tolist()) - set(MASK_VALUES))
    if bad:
        raise InputError(
            path, f"mask values {bad[:10]} not in {sorted(MASK_VALUES)} ({MASK_VALUES})"
        )
    return arr.astype(np.uint8)
