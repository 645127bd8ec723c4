"""Shape statistics of labelled hotspots (torch-free): area, centroid, ellipse axes,
eccentricity, orientation and extent per label, vectorised over labels
(:func:`shape_stats`; used by :mod:`osteoscan.lesions.candidates`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def shape_stats(labels: np.ndarray, n: int, spacing: tuple[float, float],
                weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per label 1..n: area, centroid and second moments -> ellipse axes (mm), eccentricity,
    orientation, extent. Vectorised over labels with ``np.bincount`` sums (computing
    ``regionprops`` per hotspot took ~10 ms each, a second per study).

    With ``weights`` (>= 0, one per pixel) the second moments (axes, eccentricity,
    orientation) are those of the weighted pixels; area, centroid and extent stay those of
    the mask. :func:`osteoscan.lesions.candidates.view_candidates` weighs each pixel by its height above the half-maximum cut,
    so the ragged edge of a noisy half-maximum mask (weight about 0) does not move them."""
    # sums per label over the labelled pixels only: ndimage.sum_labels' bincount over every
    # pixel adds the same values in the same order, so the results are identical, 5x faster
    flat = np.flatnonzero(labels)
    lab = labels.ravel()[flat]
    rr, cc = (v.astype(np.float64) for v in np.divmod(flat, labels.shape[1]))

    def sums(w: np.ndarray) -> np.ndarray:
        return np.bincount(lab, weights=w, minlength=n + 1)[1:n + 1]

    area = sums(np.ones(len(flat)))
    a = np.maximum(area, 1)
    mr, mc = sums(rr) / a, sums(cc) / a
    wt = np.ones(len(flat)) if weights is None else weights.ravel()[flat].astype(np.float64)
    tw = sums(wt)
    fall = tw <= 0  # no weight (a one-pixel basin): the mask's moments
    wt = np.where(fall[lab - 1], 1.0, wt)
    tw = np.maximum(np.where(fall, area, tw), 1e-12)
    wr, wc = sums(wt * rr) / tw, sums(wt * cc) / tw
    vr = sums(wt * rr * rr) / tw - wr ** 2 + 1 / 12
    vc = sums(wt * cc * cc) / tw - wc ** 2 + 1 / 12
    cv = sums(wt * rr * cc) / tw - wr * wc
    root = np.sqrt(((vr - vc) / 2) ** 2 + cv ** 2)
    l1, l2 = (vr + vc) / 2 + root, np.maximum((vr + vc) / 2 - root, 1e-9)
    px = float(np.sqrt(spacing[0] * spacing[1]))
    boxes = ndimage.find_objects(labels, max_label=n)
    box_area = np.array([(b[0].stop - b[0].start) * (b[1].stop - b[1].start) if b else 1
                         for b in boxes])
    theta = 0.5 * np.arctan2(2 * cv, vr - vc)  # angle of the major axis from the row axis
    return {"area_px": area, "row": mr, "col": mc, "major_axis_mm": 4 * np.sqrt(l1) * px,
            "minor_axis_mm": 4 * np.sqrt(l2) * px, "eccentricity": np.sqrt(1 - l2 / l1),
            "orientation": np.abs(np.sin(theta)), "extent": area / box_area, "boxes": boxes}
