"""Cohort statistics, measured the way REALISM.md describes the real scans, from the files
alone (DICOM views, masks, truth), without osteoscan.

``python -m benchmarks.foreign.site_y stats DIR [--json FILE]`` prints a markdown table.

Definitions (ours where REALISM.md does not give one):
- body pixels: counts smoothed by a 6 mm Gaussian above 10 % of the smoothed 99th percentile;
- display contrast of a lesion in a view: the view windowed at its 99.5th percentile (0..255,
  darkness on an inverted display); 95th percentile inside the lesion's box over the median of
  a ring around the box as wide as half the box (REALISM.md);
- visible (Rose): (mean counts in the mask - ring median) * sqrt(n) / sqrt(ring median) >= 5;
- boxes per metastatic study: visible (lesion, view) pairs, both views counted;
- oracle: a score knowing the masks but not malignancy, the best lesion-to-ring count ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from scipy import ndimage


def read_views(folder: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Anterior and posterior (mirrored into the anterior orientation) counts, pixel mm."""
    views = {}
    for f in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(f)
        meaning = ds.DetectorInformationSequence[0].ViewCodeSequence[0].CodeMeaning.lower()
        views["anterior" if meaning.startswith("anterior") else "posterior"] = (
            ds.pixel_array.astype(np.float32), float(ds.PixelSpacing[0]))
    a, p = views["anterior"], views["posterior"]
    return a[0], p[0][:, ::-1], a[1]


def _box_contrast(disp: np.ndarray, box, loose: float = 0.0) -> float:
    r0, r1, c0, c1 = box
    if loose:  # a reader's box: the tight box grown by ``loose`` x its side on each side
        pr, pc = int(np.ceil(loose * (r1 - r0))) + 1, int(np.ceil(loose * (c1 - c0))) + 1
        r0, r1 = max(r0 - pr, 0), min(r1 + pr, disp.shape[0])
        c0, c1 = max(c0 - pc, 0), min(c1 + pc, disp.shape[1])
    h, w = r1 - r0, c1 - c0
    R0, R1 = max(r0 - h // 2 - 1, 0), min(r1 + h // 2 + 1, disp.shape[0])
    C0, C1 = max(c0 - w // 2 - 1, 0), min(c1 + w // 2 + 1, disp.shape[1])
    ring = np.ones((R1 - R0, C1 - C0), bool)
    ring[r0 - R0:r1 - R0, c0 - C0:c1 - C0] = False
    inside = np.percentile(disp[r0:r1, c0:c1], 95)
    return float(inside / max(np.median(disp[R0:R1, C0:C1][ring]), 1.0))


def lesion_views(img: np.ndarray, mask: np.ndarray, lesions: list) -> list[dict]:
    """Per lesion in one view: display contrast, CNR, count ratio, box side."""
    disp = np.clip(img / max(np.percentile(img, 99.5), 1e-6), 0, 1) * 255
    out = []
    for les in lesions:
        m = mask == les["id"]
        if not m.any():
            continue
        rows, cols = np.nonzero(m)
        box = (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
        side = max(box[1] - box[0], box[3] - box[2])
        ring = ndimage.binary_dilation(m, iterations=max(2, side // 2)) & ~ndimage.binary_dilation(m)
        bg = float(np.median(img[ring])) if ring.any() else 0.0
        mean = float(img[m].mean())
        cnr = (mean - bg) * np.sqrt(m.sum()) / np.sqrt(max(bg, 1.0))
        out.append({"id": les["id"], "malignant": les["malignant"], "contrast": _box_contrast(disp, box),
                    "contrast_loose": _box_contrast(disp, box, 0.25),
                    "cnr": float(cnr), "ratio": mean / max(bg, 1.0), "side_frac": side / img.shape[0]})
    return out


def _body(img: np.ndarray, px: float) -> np.ndarray:
    s = ndimage.gaussian_filter(img, 6.0 / px)
    return s > 0.1 * np.percentile(s, 99)


def study_stats(root: Path, row: dict) -> dict:
    """Everything measured on one study."""
    ant, post, px = read_views(root / row["image"])
    truth = json.loads((root / row["truth"]).read_text())
    body = _body(ant, px)
    rws = np.nonzero(body.any(1))[0]
    top, bot = rws.min(), rws.max()
    hgt = bot - top + 1
    cols = np.nonzero(body.any(0))[0]
    r0, r1 = int(top + 0.22 * hgt), int(top + 0.40 * hgt)
    mid = int(round(np.nonzero(body[r0:r1])[1].mean()))
    half = max(1, int(round(20 / px)))
    strip = (slice(r0, r1), slice(mid - half, mid + half + 1))
    les = []
    for view, img in (("anterior", ant), ("posterior", post)):
        mask = np.asarray(Image.open(root / f"masks/{row['patient_id']}_{view}.png"))
        les += [dict(d, view=view) for d in lesion_views(img, mask, truth["lesions"])]
    return {"label": row["label"], "counts_ant": float(ant.sum()), "counts_post": float(post.sum()),
            "per_px_ant": float(np.median(ant[body])), "per_px_post": float(np.median(post[body])),
            "p99_med_ant": float(np.percentile(ant[body], 99) / max(np.median(ant[body]), 1)),
            "p99_med_post": float(np.percentile(post[body], 99) / max(np.median(post[body]), 1)),
            "height_frac": hgt / ant.shape[0], "top_frac": top / ant.shape[0],
            "centre_off": ((cols.min() + cols.max()) / 2 - ant.shape[1] / 2) / ant.shape[1],
            "spine_pa": float(post[strip].mean() / max(ant[strip].mean(), 1e-6)), "pixel": px,
            "matrix": f"{ant.shape[0]}x{ant.shape[1]}", "lesions": les, "n_met": int(row["lesion_count"]),
            "superscan": bool(truth.get("superscan"))}


def _miqr(x) -> str:
    x = np.asarray(x, float)
    if x.size == 0:
        return "n/a"
    q = np.percentile(x, [50, 25, 75])
    return f"{q[0]:.3g} ({q[1]:.3g}-{q[2]:.3g})"


def auc(scores, labels) -> float:
    """Mann-Whitney AUC (ties count half)."""
    s, y = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    return float(((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (pos.size * neg.size))


def _lesion_rows(st: list[dict]) -> list[tuple[str, str, str]]:
    mets = [d for s in st for d in s["lesions"] if d["malignant"]]
    ben = [d for s in st for d in s["lesions"] if not d["malignant"]]
    vis = lambda ds: [d for d in ds if d["cnr"] >= 5]  # noqa: E731
    metastatic = [s for s in st if s["label"] == "metastasis"]
    normal = [s for s in st if s["label"] == "normal"]
    boxes = [sum(d["malignant"] and d["cnr"] >= 5 for d in s["lesions"]) for s in metastatic]
    bins = [np.mean([b <= 3 for b in boxes]), np.mean([3 < b <= 6 for b in boxes]), np.mean([b > 6 for b in boxes])]
    ben_n = [len({d["id"] for d in s["lesions"] if not d["malignant"] and d["cnr"] >= 5}) for s in normal]
    oracle = [max([d["ratio"] for d in s["lesions"]] or [1.0]) for s in st]
    vis_met = [any(d["malignant"] and d["cnr"] >= 5 for d in s["lesions"]) for s in metastatic]
    return [
        ("malignant lesion display contrast, median (IQR), visible (lesion, view) pairs", "4.45 (2.91-6.92)", _miqr([d["contrast"] for d in vis(mets)])),
        ("benign hotspot display contrast, median (IQR), visible pairs", "3.15 (2.32-4.64)", _miqr([d["contrast"] for d in vis(ben)])),
        ("malignant display contrast, visible pairs, reader-like box (+25 % of the side + 1 px each side)", "4.45 (2.91-6.92)", _miqr([d["contrast_loose"] for d in vis(mets)])),
        ("benign display contrast, visible pairs, reader-like box", "3.15 (2.32-4.64)", _miqr([d["contrast_loose"] for d in vis(ben)])),
        ("malignant display contrast, all (lesion, view) pairs", "", _miqr([d["contrast"] for d in mets])),
        ("benign display contrast, all pairs", "", _miqr([d["contrast"] for d in ben])),
        ("malignant boxes per metastatic study (visible, both views counted)", "4 (2-8)", _miqr(boxes)),
        ("metastatic studies with <= 3 / 4-6 / > 6 malignant boxes", "45 % / 20 % / 35 %", " / ".join(f"{100 * b:.0f} %" for b in bins)),
        ("metastases per metastatic study (truth)", "", _miqr([s["n_met"] for s in metastatic])),
        ("normal studies with >= 1 visible benign hotspot", "77 % (median 2)", f"{100 * np.mean([n > 0 for n in ben_n]):.0f} % (median {np.median([n for n in ben_n if n] or [0]):.0f})"),
        ("benign hotspots per metastatic study, mean (visible)", "0.63", f"{np.mean([len({d['id'] for d in s['lesions'] if not d['malignant'] and d['cnr'] >= 5}) for s in metastatic]):.2f}"),
        ("largest box side / picture height, malignant", "3.4 % (1.8-10.4 %)", _miqr([100 * d["side_frac"] for d in vis(mets)]) + " %"),
        ("largest box side / picture height, benign", "2.7 % (1.7-3.8 %)", _miqr([100 * d["side_frac"] for d in vis(ben)]) + " %"),
        ("metastatic studies with a visible metastasis (Rose CNR >= 5)", ">= 95 %", f"{100 * np.mean(vis_met):.0f} %"),
        ("normal studies with a visible benign finding", ">= 70 %", f"{100 * np.mean([n > 0 for n in ben_n]):.0f} %"),
        ("oracle patient AUC (best lesion/ring count ratio, malignancy unknown)", "", f"{auc(oracle, [s['label'] == 'metastasis' for s in st]):.3f}"),
    ]


def summarise(st: list[dict]) -> list[tuple[str, str, str]]:
    """(figure, real value from REALISM.md, this cohort) rows."""
    g = lambda k: [s[k] for s in st]  # noqa: E731
    mats = {m: g("matrix").count(m) for m in sorted(set(g("matrix")))}
    rows = [
        ("studies (metastatic / normal)", "", f"{len(st)} ({sum(s['label'] == 'metastasis' for s in st)} / {sum(s['label'] == 'normal' for s in st)})"),
        ("total counts per view, median: anterior / posterior (M)", "0.54 / 0.49", f"{np.median(g('counts_ant')) / 1e6:.2f} / {np.median(g('counts_post')) / 1e6:.2f}"),
        ("anterior counts, range (M)", "0.4-0.9 (GE); NM1 3.6", f"{min(g('counts_ant')) / 1e6:.2f}-{max(g('counts_ant')) / 1e6:.2f}"),
        ("median counts per body pixel, anterior / posterior", "5.5 / 3.5", f"{np.median(g('per_px_ant')):.1f} / {np.median(g('per_px_post')):.1f}"),
        ("99th percentile / median of body pixels, anterior / posterior", "6.4 / 7.8", f"{np.median(g('p99_med_ant')):.1f} / {np.median(g('p99_med_post')):.1f}"),
        ("body height / frame height, median (IQR)", "0.68 (1024 rows, 2.40 mm)", _miqr(g("height_frac"))),
        ("body top / frame height, median (IQR)", "", _miqr(g("top_frac"))),
        ("body centre offset / frame width, median (IQR)", "", _miqr(g("centre_off"))),
        ("thoracic spine posterior / anterior (midline strip, 22-40 %)", "1.2-1.7, median 1.42", _miqr(g("spine_pa"))),
        ("pixel size mm, median (range)", "2.26-2.40", f"{np.median(g('pixel')):.2f} ({min(g('pixel')):.2f}-{max(g('pixel')):.2f})"),
        ("matrices (rows x cols: studies)", "1024x256", ", ".join(f"{k}: {v}" for k, v in mats.items())),
    ]
    return rows + _lesion_rows(st)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_y stats")
    ap.add_argument("cohort", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    with open(a.cohort / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    st = [study_stats(a.cohort, r) for r in rows]
    table = summarise(st)
    print("| figure | real (REALISM.md) | site_y |\n|---|---|---|")
    for fig, real, ours in table:
        print(f"| {fig} | {real} | {ours} |")
    if a.json:
        a.json.write_text(json.dumps([{"figure": f, "real": r, "site_y": o} for f, r, o in table], indent=1))
    return 0
