"""The statistics of /work/shared/REALISM.md, measured on simulated studies the same way.

REALISM.md puts real whole-body bone scans (GE Discovery 670 DICOM, 513 graded screen
captures) beside the simulator in numbers. These functions measure the same figures on a
:class:`~osteoscan.simulate.study.SimulatedStudy`, so that ``benchmarks/bench_realism.py``
can print them beside the real values and ``benchmarks/bench_oracle.py`` can check that the
labels are learnable. Definitions (REALISM.md, and where it is silent, the choice written here):

- *display contrast* of a box: 95th percentile of the displayed darkness inside the box over
  the median darkness of a ring around it as wide as half the box; darkness = counts windowed
  at the 99.5th percentile of the view's non-zero pixels, scaled to 0..255. A box is the
  bounding box of a lesion's mask on one view (a lesion seen on both views gives two boxes, as
  physicians box each view).
- *body pixels*: pixels where the view smoothed with a 6 mm Gaussian exceeds 15 % of the
  median of its non-zero pixels (REALISM.md does not say; this keeps the arms and legs and
  drops the empty field).
- *thoracic spine ratio*: posterior / anterior counts in a midline strip 30 mm wide, from 22 %
  to 40 % of the body height below the vertex row.
- *Rose CNR* of a lesion (REALISM.md "Learnable labels"): (mean counts in the lesion - mean of
  the local bone background) x sqrt(lesion pixels) / sqrt(background mean); visible at >= 5.

No torch; numpy and scipy only.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.ndimage import binary_dilation, gaussian_filter

ROSE_CNR = 5.0
"""A lesion is visible when its contrast-to-noise ratio reaches the Rose criterion."""
DISPLAY_PERCENTILE = 99.5


def display_darkness(img: np.ndarray) -> np.ndarray:
    """Counts windowed at the 99.5th percentile of the non-zero pixels, as darkness 0..255."""
    pos = img[img > 0]
    top = float(np.percentile(pos, DISPLAY_PERCENTILE)) if pos.size else 1.0
    return np.clip(img / max(top, 1e-6), 0.0, 1.0) * 255.0


def lesion_boxes(study) -> list[tuple[str, bool, tuple[int, int, int, int]]]:
    """(view, malignant, (r0, r1, c0, c1)) of every lesion mask on every view (end excluded)."""
    out = []
    for les in study.lesions:
        for view in les.views:
            rr, cc = np.nonzero(study.lesion_masks[view] == les.id)
            if rr.size:
                out.append((view, les.malignant, (int(rr.min()), int(rr.max()) + 1,
                                                  int(cc.min()), int(cc.max()) + 1)))
    return out


def box_contrast(dark: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Display contrast of one box on a darkness image (REALISM.md's definition)."""
    r0, r1, c0, c1 = box
    h, w = r1 - r0, c1 - c0
    R0, R1 = max(r0 - (h + 1) // 2, 0), min(r1 + (h + 1) // 2, dark.shape[0])
    C0, C1 = max(c0 - (w + 1) // 2, 0), min(c1 + (w + 1) // 2, dark.shape[1])
    ring = np.ones((R1 - R0, C1 - C0), dtype=bool)
    ring[r0 - R0:r1 - R0, c0 - C0:c1 - C0] = False
    inside = float(np.percentile(dark[r0:r1, c0:c1], 95))
    return inside / max(float(np.median(dark[R0:R1, C0:C1][ring])), 1.0)


def body_mask(img: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Body pixels of one view (see the module docstring)."""
    smooth = gaussian_filter(img.astype(np.float32), 6.0 / spacing_mm / 2.355)
    pos = smooth[smooth > 0]
    return smooth > 0.15 * float(np.median(pos)) if pos.size else smooth > 0


def spine_ratio(study) -> float:
    """Posterior / anterior counts of the thoracic spine (midline strip, 22-40 % of height)."""
    scan = study.scan
    body = body_mask(scan.anterior + scan.posterior, scan.spacing_mm[0])
    rows = np.flatnonzero(body.any(axis=1))
    top, height = rows[0], rows[-1] - rows[0] + 1
    r0, r1 = top + int(0.22 * height), top + int(0.40 * height)
    cols = np.nonzero(body[r0:r1])[1]
    mid = int(round(float(np.median(cols))))
    half = max(int(round(15.0 / scan.spacing_mm[1])), 1)
    strip = (slice(r0, r1), slice(mid - half, mid + half + 1))
    return float(scan.posterior[strip].sum() / max(float(scan.anterior[strip].sum()), 1.0))


def count_stats(study) -> dict[str, float]:
    """Counts and geometry of both views (REALISM.md "Counts and geometry")."""
    scan = study.scan
    out: dict[str, float] = {}
    for view in ("anterior", "posterior"):
        img = getattr(scan, view)
        body = body_mask(img, scan.spacing_mm[0])
        vals = img[body]
        med = float(np.median(vals))
        out[f"total_counts_{view}"] = float(img.sum())
        out[f"counts_per_body_pixel_{view}"] = med
        out[f"p99_over_median_{view}"] = float(np.percentile(vals, 99)) / max(med, 1e-6)
    body = body_mask(scan.anterior, scan.spacing_mm[0])
    rows = np.flatnonzero(body.any(axis=1))
    out["body_height_fraction"] = float(rows[-1] - rows[0] + 1) / img.shape[0]
    out["spine_post_over_ant"] = spine_ratio(study)
    out["pixel_mm"] = float(scan.spacing_mm[0])
    return out


def lesion_stats(study) -> dict:
    """Display contrast and box size of every box; malignant and benign box counts.

    Box size is the largest side over the body height (a screen capture's picture holds
    little more than the body)."""
    dark = {v: display_darkness(getattr(study.scan, v)) for v in ("anterior", "posterior")}
    body = np.flatnonzero(body_mask(study.scan.anterior, study.scan.spacing_mm[0]).any(axis=1))
    rows = body[-1] - body[0] + 1
    mal, ben, mal_size, ben_size = [], [], [], []
    for view, malignant, box in lesion_boxes(study):
        c = box_contrast(dark[view], box)
        side = max(box[1] - box[0], box[3] - box[2]) / rows
        (mal if malignant else ben).append(c)
        (mal_size if malignant else ben_size).append(side)
    return {"malignant_contrast": mal, "benign_contrast": ben, "malignant_size": mal_size,
            "benign_size": ben_size, "n_malignant_boxes": len(mal), "n_benign_boxes": len(ben)}


def _rings(mask: np.ndarray, width: int) -> np.ndarray:
    return binary_dilation(mask, iterations=width) & ~mask


def rose_cnr(img: np.ndarray, mask: np.ndarray, background: np.ndarray) -> float:
    """Contrast-to-noise ratio of a lesion against its local bone background (Rose)."""
    n = int(mask.sum())
    bg = img[background]
    if n == 0 or bg.size == 0:
        return 0.0
    b = max(float(bg.mean()), 1e-3)
    return float((img[mask].mean() - b) * np.sqrt(n) / np.sqrt(b))


def lesion_cnrs(study) -> list[tuple[bool, str, float]]:
    """(malignant, kind, CNR on the view where it is largest in magnitude) of every finding.

    The local bone background is the ring of bone pixels 2-4 pixels around the lesion that no
    other finding covers (all of the ring when it holds fewer than 4 such pixels).
    """
    out = []
    taken = {v: study.lesion_masks[v] > 0 for v in ("anterior", "posterior")}
    for les in study.lesions:
        vals = [_cnr_at(getattr(study.scan, v), study.lesion_masks[v] == les.id,
                        study.bone_mask, taken[v])
                for v in les.views if (study.lesion_masks[v] == les.id).any()]
        if vals:
            out.append((les.malignant, les.kind, max(vals, key=abs)))
    return out


def _local(mask: np.ndarray, pad: int = 7) -> tuple[slice, slice]:
    rr, cc = np.nonzero(mask)
    return (slice(max(rr.min() - pad, 0), rr.max() + pad + 1),
            slice(max(cc.min() - pad, 0), cc.max() + pad + 1))


def _cnr_at(img: np.ndarray, mask: np.ndarray, bone: np.ndarray, taken: np.ndarray) -> float:
    """Rose CNR of a full-size mask, computed on a crop around it (fast)."""
    win = _local(mask)
    m, b, t = mask[win], bone[win], taken[win]
    ring = _rings(m, 4) & ~binary_dilation(m, iterations=1)
    bg = ring & b & ~t
    return rose_cnr(img[win], m, bg if bg.sum() >= 4 else ring)


def _sham_masks(study, n: int, radius_mm: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Lesion-sized discs on bone where no finding is: the places an observer checks in vain."""
    free = study.bone_mask & (study.lesion_masks["anterior"] == 0) & \
        (study.lesion_masks["posterior"] == 0)
    rr, cc = np.nonzero(free)
    if rr.size == 0:
        return []
    r = radius_mm / study.scan.spacing_mm[0]
    y, x = np.ogrid[:free.shape[0], :free.shape[1]]
    return [((y - rr[k]) ** 2 + (x - cc[k]) ** 2 <= r * r) & study.bone_mask
            for k in rng.choice(rr.size, size=min(n, rr.size), replace=False)]


def oracle(study, n_sham: int = 8, seed: int = 0) -> dict:
    """Ideal observers that know where every finding is (REALISM.md "Learnable labels").

    Every finding and ``n_sham`` lesion-sized discs on lesion-free bone get the best |Rose
    CNR| over both views. ``label_aware`` (knows which findings are malignant): the largest
    value over the malignant findings and the sham discs; ``visibility`` (sees every finding,
    not its nature): the largest value over all findings and the sham discs. The sham discs
    make the observers' normal scores honest: noise and anatomy (joints, the bladder's edge)
    also raise the CNR of places without disease.

    Returns:
        {"label_aware", "visibility", "visible_malignant", "visible_benign", "n_malignant",
        "n_benign"}.
    """
    found = [(mal, abs(c)) for mal, _kind, c in lesion_cnrs(study)]
    rng = np.random.default_rng([seed, zlib.crc32(study.study_id.encode())])
    taken = {v: study.lesion_masks[v] > 0 for v in ("anterior", "posterior")}
    sham = 0.0
    for m in _sham_masks(study, n_sham, 12.0, rng):
        if m.sum() >= 4:
            sham = max(sham, *(abs(_cnr_at(getattr(study.scan, v), m, study.bone_mask,
                                           taken[v])) for v in ("anterior", "posterior")))
    mal = [c for is_mal, c in found if is_mal]
    ben = [c for is_mal, c in found if not is_mal]
    return {"label_aware": max([sham, *mal]), "visibility": max([sham, *mal, *ben]),
            "visible_malignant": any(c >= ROSE_CNR for c in mal),
            "visible_benign": any(c >= ROSE_CNR for c in ben),
            "n_malignant": len(mal), "n_benign": len(ben), "sham": sham}
