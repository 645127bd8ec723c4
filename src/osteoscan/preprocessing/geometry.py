"""The geometry the pipeline applied to each view, recorded as it is applied.

As MONAI's invertible transforms push a record of each applied operation onto the data
(``applied_operations``), ``Pipeline.prepare`` (:mod:`osteoscan.preprocessing.pipeline`)
returns, with the prepared study, a :class:`Geometry`: per view, the chain of operations from
the view's pixels to the model's input grid. Each operation maps points both ways and
carries an image back, so heatmaps and hotspots reach the scan without recomputing sizes or
the view alignment:

* :class:`Resize`: the view resampled (block sums, then area weights) to ``out_hw``;
* :class:`PadCrop`: centre zero-padding or cropping to the input size;
* :class:`Align`: the posterior moved onto the anterior (sweep-line critical points;
  translation + scale per axis).

Points are ``(row, col)`` pixel coordinates, pixel centres at integers (the centre of pixel 0
is 0.0, its edges -0.5 and 0.5). The posterior's left-right mirroring is the reader's
(``ViewSource``/``posterior_mirrored``), not part of this record; augmentation (training
only, random) is not recorded either.

Example:
    >>> g = Geometry("stack", (256, 64), (128, 64), {"anterior": (
    ...     Resize((256, 64), (128, 32)), PadCrop((128, 32), (128, 64)))})
    >>> g.to_model([[120.0, 24.0]]).round(2).tolist()
    [[59.75, 27.75]]
    >>> g.to_scan(g.to_model([[120.0, 24.0]])).round(6).tolist()
    [[120.0, 24.0]]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from osteoscan.preprocessing.views import AlignMap, scale_shift

HW = tuple[int, int]


def _points(points: Any) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    return pts.reshape(-1, 2)


@dataclass(frozen=True)
class Resize:
    """``in_hw`` -> ``out_hw`` by area resampling (pixel areas kept, half-pixel centres)."""

    in_hw: HW
    out_hw: HW

    def _k(self) -> np.ndarray:
        return np.asarray(self.out_hw, float) / np.asarray(self.in_hw, float)

    def forward(self, pts: np.ndarray) -> np.ndarray:
        return (pts + 0.5) * self._k() - 0.5

    def inverse(self, pts: np.ndarray) -> np.ndarray:
        return (pts + 0.5) / self._k() - 0.5

    def invert_image(self, img: np.ndarray) -> np.ndarray:
        """Bilinear, half-pixel centres (= torch ``align_corners=False``); OpenCV is ~4x faster."""
        if img.shape == tuple(self.in_hw):
            return img.astype(np.float32, copy=False)
        src = np.ascontiguousarray(img, dtype=np.float32)
        return cv2.resize(src, (int(self.in_hw[1]), int(self.in_hw[0])),
                          interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class PadCrop:
    """Centre zero-pad or centre-crop ``in_hw`` to ``out_hw`` (as ``intensity.pad_or_crop``)."""

    in_hw: HW
    out_hw: HW

    @property
    def pad(self) -> HW:
        """(rows, cols) offset of the input inside the output (zero padding)."""
        return tuple(max((o - i) // 2, 0) for i, o in zip(self.in_hw, self.out_hw))

    @property
    def crop(self) -> HW:
        """(rows, cols) offset of the output window inside the input (cropped)."""
        return tuple(max((i - o) // 2, 0) for i, o in zip(self.in_hw, self.out_hw))

    def forward(self, pts: np.ndarray) -> np.ndarray:
        return pts + np.subtract(self.pad, self.crop)

    def inverse(self, pts: np.ndarray) -> np.ndarray:
        return pts - np.subtract(self.pad, self.crop)

    def invert_image(self, img: np.ndarray) -> np.ndarray:
        """The output window put back in place; pixels cropped away get 0."""
        (ty, tx), (py, px), (cy, cx) = self.in_hw, self.pad, self.crop
        out = np.zeros((ty, tx), dtype=np.float32)
        hh, ww = min(ty, self.out_hw[0]), min(tx, self.out_hw[1])
        out[cy:cy + hh, cx:cx + ww] = img[py:py + hh, px:px + ww]
        return out


@dataclass(frozen=True)
class Align:
    """The posterior moved onto the anterior: the aligned image at ``a`` samples the
    unaligned one at ``p = scale * a + offset`` (the pipeline's ``scale_shift`` map)."""

    scale: tuple[float, float]
    offset: tuple[float, float]

    @classmethod
    def from_map(cls, align_map: AlignMap) -> Align:
        (s0, s1), (o0, o1) = align_map
        return cls((float(s0), float(s1)), (float(o0), float(o1)))

    def forward(self, pts: np.ndarray) -> np.ndarray:
        return (pts - np.asarray(self.offset)) / np.asarray(self.scale)

    def inverse(self, pts: np.ndarray) -> np.ndarray:
        return pts * np.asarray(self.scale) + np.asarray(self.offset)

    def invert_image(self, img: np.ndarray) -> np.ndarray:
        """``out[p] = img[(p - offset) / scale]``, bilinear, 0 outside."""
        (s0, s1), (o0, o1) = self.scale, self.offset
        return scale_shift(np.asarray(img, dtype=np.float32), (1 / s0, 1 / s1),
                           (-o0 / s0, -o1 / s1))


Op = Resize | PadCrop | Align


@dataclass(frozen=True)
class Geometry:
    """How each view's pixels reach the model input grid (the record of applied operations).

    Attributes:
        mode: the preprocessing view mode ("stack", "aggregate", "geomean", "anterior").
        view_hw: (rows, cols) of one view of the scan.
        input_hw: (H, W) of the model input.
        views: view name ("anterior", "posterior") -> its operations, first applied first.
            "posterior" is present when the scan has that view and the model saw it.
    """

    mode: str
    view_hw: HW
    input_hw: HW
    views: dict[str, tuple[Op, ...]]

    def ops(self, view: str = "anterior") -> tuple[Op, ...]:
        return self.views[view]

    def to_model(self, points: Any, view: str = "anterior") -> np.ndarray:
        """(N, 2) view pixel coordinates (row, col) -> model input coordinates."""
        pts = _points(points)
        for op in self.views[view]:
            pts = op.forward(pts)
        return pts

    def to_scan(self, points: Any, view: str = "anterior") -> np.ndarray:
        """(N, 2) model input coordinates -> view pixel coordinates (row, col)."""
        pts = _points(points)
        for op in reversed(self.views[view]):
            pts = op.inverse(pts)
        return pts

    def to_scan_image(self, img: np.ndarray, view: str = "anterior") -> np.ndarray:
        """A float32 (H, W) map on the model input grid -> (rows, cols) on the view (0 where
        the model saw nothing)."""
        out = np.asarray(img, dtype=np.float32)
        for op in reversed(self.views[view]):
            out = op.invert_image(out)
        return out

    def as_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of ``{"view", "op", **parameters}``, in the order applied."""
        return [{"view": view, "op": type(op).__name__.lower(), **dataclasses.asdict(op)}
                for view, ops in self.views.items() for op in ops]


def record_geometry(mode: str, view_hw: HW, scaled_hw: HW, input_hw: HW, posterior: bool,
                    align_map: AlignMap | None) -> Geometry:
    """The :class:`Geometry` of a pipeline run (called by ``Pipeline.prepare``)."""
    chain: tuple[Op, ...] = (Resize(tuple(view_hw), tuple(scaled_hw)),
                             PadCrop(tuple(scaled_hw), tuple(input_hw)))
    views = {"anterior": chain}
    if posterior and mode != "anterior":
        views["posterior"] = chain + ((Align.from_map(align_map),) if align_map is not None else ())
    return Geometry(mode, tuple(view_hw), tuple(input_hw), views)
