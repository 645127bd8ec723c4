"""A picture of a cohort: anterior + posterior of the first studies, inverted display, then the
same with lesion outlines (red malignant, green benign); two rows.

``python -m benchmarks.foreign.site_y montage DIR OUT.png [--n 8]``
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from .dicomio import write_atomic
from .stats import read_views

HEIGHT = 512


def _panel(img: np.ndarray, mask: np.ndarray | None, truth: dict, width: int) -> np.ndarray:
    g = 255 - np.clip(img / max(np.percentile(img, 99.5), 1e-6), 0, 1) * 255
    rgb = np.repeat(g[..., None], 3, -1)
    if mask is not None:
        edge = (mask > 0) & ~ndimage.binary_erosion(mask > 0)
        for les in truth["lesions"]:
            rgb[edge & (mask == les["id"])] = (220, 0, 0) if les["malignant"] else (0, 150, 0)
    return np.asarray(Image.fromarray(rgb.astype(np.uint8)).resize((width, HEIGHT), Image.BILINEAR))


def montage(cohort: Path, out: Path, n: int = 8) -> Path:
    """Write a montage of ``n`` studies (each: ant, post, ant + outlines, post + outlines)."""
    with open(cohort / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:n]
    tiles = []
    for row in rows:
        ant, post, _ = read_views(cohort / row["image"])
        truth = json.loads((cohort / row["truth"]).read_text())
        w = int(round(HEIGHT * ant.shape[1] / ant.shape[0]))
        parts = []
        for view, img in (("anterior", ant), ("posterior", post)):
            mask = np.asarray(Image.open(cohort / f"masks/{row['patient_id']}_{view}.png"))
            parts.append(_panel(img, None, truth, w))
            parts.append(_panel(img, mask, truth, w))
        tiles.append(np.hstack(parts[::2] + parts[1::2] + [np.zeros((HEIGHT, 6, 3), np.uint8)]))
    per_row = (len(tiles) + 1) // 2
    width = max(sum(t.shape[1] for t in tiles[k:k + per_row]) for k in (0, per_row))
    lines = [np.hstack(tiles[k:k + per_row]) for k in (0, per_row) if tiles[k:k + per_row]]
    lines = [np.pad(x, ((0, 6), (0, width - x.shape[1]), (0, 0))) for x in lines]
    pic = Image.fromarray(np.vstack(lines)).quantize(64)
    write_atomic(out, lambda p: pic.save(p, format="PNG", optimize=True))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_y montage")
    ap.add_argument("cohort", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=8)
    a = ap.parse_args(argv)
    print(montage(a.cohort, a.out, a.n))
    return 0
