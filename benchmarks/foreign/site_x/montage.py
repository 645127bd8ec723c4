"""A picture of 8 studies of a cohort (anterior + posterior, inverted grey, masks outlined).

``python -m benchmarks.foreign.site_x montage DIR OUT.png [--first K]``: studies K..K+7,
each view windowed at its 99.5th percentile, resampled to 2.4-mm pixels so that matrices of
different size sit side by side; malignant outlines red, benign blue, on the posterior too
(which is shown mirrored into the anterior orientation, as osteoscan loads it).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import binary_erosion

from benchmarks.foreign.site_x.stats import read_views

ROWS, COLS = 880, 240


def panel(img: np.ndarray, mask: np.ndarray, malignant: set[int], p: float) -> np.ndarray:
    """One view as an RGB panel (ROWS x COLS at 2.4 mm, top-centred)."""
    w = max(np.percentile(img[img > 0], 99.5), 1.0)
    grey = (255 - np.clip(img / w, 0, 1) * 255).astype(np.uint8)
    rgb = np.stack([grey] * 3, -1)
    for k in np.unique(mask[mask > 0]):
        m = mask == k
        edge = m & ~binary_erosion(m)
        rgb[edge] = (220, 0, 0) if int(k) in malignant else (0, 90, 230)
    size = (int(round(img.shape[1] * p / 2.4)), int(round(img.shape[0] * p / 2.4)))
    pic = np.array(Image.fromarray(rgb).resize(size, Image.BILINEAR))
    out = np.full((ROWS, COLS, 3), 255, np.uint8)
    h, wd = min(ROWS, pic.shape[0]), min(COLS, pic.shape[1])
    c0 = (COLS - wd) // 2
    out[:h, c0:c0 + wd] = pic[:h, (pic.shape[1] - wd) // 2:(pic.shape[1] - wd) // 2 + wd]
    return out


def main(argv: list[str]) -> int:
    """``montage DIR OUT.png [--first K]``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_x montage")
    ap.add_argument("cohort", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--first", type=int, default=0)
    args = ap.parse_args(argv)
    with open(args.cohort / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[args.first:args.first + 8]
    tiles = []
    for row in rows:
        views, p = read_views(args.cohort / row["image"])
        truth = json.loads((args.cohort / row["truth"]).read_text())
        mal = {x["id"] for x in truth["lesions"] if x["malignant"]}
        masks = [np.array(Image.open(args.cohort / part.split(":", 1)[1]))
                 for part in row["lesion_masks"].split(";")]
        tiles.append(np.concatenate([panel(views[v], masks[v], mal, p) for v in (0, 1)], 1))
        tiles.append(np.full((ROWS, 12, 3), 0, np.uint8))
    pic = Image.fromarray(np.concatenate(tiles[:-1], 1))
    pic = pic.resize((pic.width // 2, pic.height // 2), Image.LANCZOS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pic = pic.quantize(colors=64, method=Image.Quantize.MEDIANCUT)  # keeps the PNG < 400 kB
    pic.save(args.out, optimize=True)
    return 0
