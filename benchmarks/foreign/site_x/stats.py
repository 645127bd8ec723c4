"""Statistics of a site_x cohort, measured as REALISM.md measures real scans.

``python -m benchmarks.foreign.site_x stats DIR [--json OUT.json]`` reads the cohort's own
files (pydicom, the masks and truth; not osteoscan) and prints a Markdown table beside the
real values of /work/shared/REALISM.md.

Definitions (ours where REALISM.md does not give one):
- body pixels: counts smoothed by a 2-pixel Gaussian >= 0.5 count per (2.4 mm)^2;
- display contrast of a lesion in a view: 95th percentile of the displayed darkness inside
  its mask's bounding box over the median darkness of a ring around the box as wide as half
  the box; display = counts windowed at the view's 99.5th percentile (REALISM.md's rule for
  simulators); every (lesion, view) pair with a non-empty mask; ``*_loose_box``: the same
  with the box widened by 10 mm on each side (physicians' boxes are loose; ours are the
  half-maximum outline, so the ring of a tight box still holds the lesion's blurred edge);
- visible (Rose): (lesion counts - n x ring mean) / sqrt(n x ring mean) >= 5 in some view;
- oracle AUC: each study scored by its best lesion contrast (malignant or benign: the
  oracle knows where lesions are, not which are malignant), normals vs metastatic.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from scipy.ndimage import gaussian_filter

REAL = {"counts_ant_M": "0.54", "counts_post_M": "0.49", "body_px_median_ant": "5.5",
        "body_px_median_post": "3.5", "p99_over_median_ant": "6.4",
        "p99_over_median_post": "7.8", "body_height_frac": "0.68",
        "spine_post_over_ant": "1.42 (1.2-1.7)", "mal_contrast": "4.45 (2.91-6.92)",
        "ben_contrast": "3.15 (2.32-4.64)",
        "mal_contrast_loose_box": "4.45 (2.91-6.92)", "ben_contrast_loose_box": "3.15 (2.32-4.64)", "mal_per_met_study": "4 (2-8) boxes",
        "met_groups": "45 / 20 / 35 %", "normals_with_benign": "77 %",
        "benign_per_normal": "2 (median)", "benign_per_met_mean": "0.63",
        "mal_box_frac": "3.4 % (1.8-10.4 %)", "ben_box_frac": "2.7 % (1.7-3.8 %)",
        "pixel_mm": "2.40 (GE), 2.26 (NM1)", "visible_met_studies": ">= 95 % (target)",
        "visible_benign_normals": ">= 70 % (target)", "oracle_auc": ">= 0.97 (issue 16)"}


LOOSE_MM = 10.0
"""Padding of the 'loose box' contrast (a physician's box is wider than the lesion)."""


def read_views(path: Path) -> tuple[np.ndarray, float]:
    """(2, rows, cols) counts in the anterior orientation and the pixel size (mm)."""
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array.astype(np.float64)
    order = {int(v): k for k, v in enumerate(ds.DetectorVector)}
    views = np.empty_like(frames)
    for k, item in enumerate(ds.DetectorInformationSequence):
        post = item.ViewCodeSequence[0].CodeValue == "R-10214"
        img = frames[order[k + 1]]
        views[1 if post else 0] = img[:, ::-1] if post else img
    return views, float(ds.PixelSpacing[0])


def body_stats(views: np.ndarray, p: float) -> dict:
    """Counts, body-pixel statistics, body height fraction, thoracic spine ratio."""
    out = {}
    thr = 0.5 * (p / 2.4) ** 2
    body = gaussian_filter(views[0] + views[1], 2.0) / 2 >= thr
    for v, name in enumerate(("ant", "post")):
        px = views[v][body]
        out[f"counts_{name}_M"] = views[v].sum() / 1e6
        out[f"body_px_median_{name}"] = float(np.median(px)) / (p / 2.4) ** 2
        out[f"p99_over_median_{name}"] = float(np.percentile(px, 99) / max(np.median(px), 1))
    rows = np.flatnonzero(body.any(1))
    top, bottom = rows.min(), rows.max()
    out["body_height_frac"] = (bottom - top + 1) / body.shape[0]
    r0, r1 = int(top + 0.22 * (bottom - top)), int(top + 0.40 * (bottom - top))
    cols = np.flatnonzero(body[r0:r1].any(0))
    mid = int(round(np.average(np.arange(body.shape[1]), weights=views[1][r0:r1].sum(0))))
    half = max(int(round(15.0 / p)), 1)
    strip = (slice(r0, r1), slice(mid - half, mid + half + 1))
    out["spine_post_over_ant"] = float(views[1][strip].sum() / max(views[0][strip].sum(), 1))
    out["body_width_px"] = int(len(cols))
    return out


def lesion_stats(views: np.ndarray, masks: np.ndarray, lesions: list[dict],
                 loose_px: int) -> list[dict]:
    """Display contrast, Rose CNR and box size of each lesion, best view and all views."""
    out = []
    for les in lesions:
        rec = {"malignant": les["malignant"], "contrast": [], "loose": [], "cnr": 0.0,
               "box_frac": 0.0}
        for v in (0, 1):
            m = masks[v] == les["id"]
            if not m.any():
                continue
            c, cnr, side = _contrast(views[v], m)
            rec["loose"].append(_contrast(views[v], m, loose_px)[0])
            rec["contrast"].append(c)
            rec["cnr"] = max(rec["cnr"], cnr)
            rec["box_frac"] = max(rec["box_frac"], side / m.shape[0])
        if rec["contrast"]:
            out.append(rec)
    return out


def _contrast(img: np.ndarray, m: np.ndarray, pad: int = 0) -> tuple[float, float, int]:
    """(display contrast, Rose CNR, largest box side px) of one mask in one view.

    ``pad`` widens the box by that many pixels on each side (a reader's loose box).
    """
    w = max(np.percentile(img[img > 0], 99.5), 1.0)
    dark = np.clip(img / w, 0, 1) * 255.0
    rr, cc = np.nonzero(m)
    r0, r1 = max(rr.min() - pad, 0), min(rr.max() + 1 + pad, img.shape[0])
    c0, c1 = max(cc.min() - pad, 0), min(cc.max() + 1 + pad, img.shape[1])
    hr, hc = max((r1 - r0) // 2, 1), max((c1 - c0) // 2, 1)
    R0, R1 = max(r0 - hr, 0), min(r1 + hr, img.shape[0])
    C0, C1 = max(c0 - hc, 0), min(c1 + hc, img.shape[1])
    ring = np.ones((R1 - R0, C1 - C0), bool)
    ring[r0 - R0:r1 - R0, c0 - C0:c1 - C0] = False
    inside = np.percentile(dark[r0:r1, c0:c1], 95)
    bg = max(float(np.median(dark[R0:R1, C0:C1][ring])), 1.0)
    n = int(m.sum())
    ring_mean = max(float(img[R0:R1, C0:C1][ring].mean()), 1e-3)
    cnr = (float(img[m].sum()) - n * ring_mean) / np.sqrt(n * ring_mean)
    return float(inside / bg), float(cnr), int(max(r1 - r0, c1 - c0))


def auc(pos: list[float], neg: list[float]) -> float:
    """Mann-Whitney AUC (ties count half)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n) + 0.5 * (p == n)).mean())


def study_stats(root: Path, row: dict) -> dict:
    """All per-study measurements of one manifest row."""
    views, p = read_views(root / row["image"])
    masks = np.stack([np.array(Image.open(root / part.split(":", 1)[1]))
                      for part in row["lesion_masks"].split(";")])
    truth = json.loads((root / row["truth"]).read_text())
    les = lesion_stats(views, masks, truth["lesions"], int(round(LOOSE_MM / p)))
    return {"label": row["label"], "pixel_mm": p, "rows": views.shape[1],
            "bsi": float(row["bsi"]), **body_stats(views, p), "lesions": les,
            "n_mal": sum(x["malignant"] for x in truth["lesions"]),
            "n_ben": sum(not x["malignant"] for x in truth["lesions"]),
            "oracle": max([max(x["contrast"]) for x in les], default=0.0)}


def _q(values, digits=2) -> str:
    """'median (q1-q3)'."""
    if len(values) == 0:
        return "-"
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{med:.{digits}f} ({q1:.{digits}f}-{q3:.{digits}f})"


def summarise(studies: list[dict]) -> dict[str, str]:
    """Cohort figures, keyed like :data:`REAL`."""
    met = [s for s in studies if s["label"] == "metastasis"]
    nor = [s for s in studies if s["label"] == "normal"]
    les = [x for s in studies for x in s["lesions"]]
    mal = [c for x in les if x["malignant"] for c in x["contrast"]]
    ben = [c for x in les if not x["malignant"] for c in x["contrast"]]
    n_mal = np.array([s["n_mal"] for s in met])
    out = {k: _q([s[k] for s in studies]) for k in (
        "body_px_median_ant", "body_px_median_post", "p99_over_median_ant",
        "p99_over_median_post", "body_height_frac", "spine_post_over_ant", "pixel_mm")}
    out.update({
        "counts_ant_M": _q([s["counts_ant_M"] for s in studies]),
        "counts_post_M": _q([s["counts_post_M"] for s in studies]),
        "mal_contrast": _q(mal), "ben_contrast": _q(ben),
        "mal_contrast_loose_box": _q([c for x in les if x["malignant"] for c in x["loose"]]),
        "ben_contrast_loose_box": _q([c for x in les if not x["malignant"]
                                      for c in x["loose"]]),
        "mal_per_met_study": _q(n_mal, 0) + " lesions",
        "met_groups": " / ".join(f"{100 * np.mean(g):.0f}" for g in (
            n_mal <= 3, (n_mal >= 4) & (n_mal <= 6), n_mal > 6)) + " %",
        "normals_with_benign": f"{100 * np.mean([s['n_ben'] > 0 for s in nor]):.0f} %",
        "benign_per_normal": f"{np.median([s['n_ben'] for s in nor]):.0f} (median)",
        "benign_per_met_mean": f"{np.mean([s['n_ben'] for s in met]):.2f}",
        "mal_box_frac": _q([100 * x["box_frac"] for x in les if x["malignant"]], 1) + " %",
        "ben_box_frac": _q([100 * x["box_frac"] for x in les if not x["malignant"]], 1) + " %",
        "visible_met_studies": f"{100 * np.mean([any(x['cnr'] >= 5 and x['malignant'] for x in s['lesions']) for s in met]):.0f} %",  # noqa: E501
        "visible_benign_normals": f"{100 * np.mean([any(x['cnr'] >= 5 for x in s['lesions']) for s in nor]):.0f} %",  # noqa: E501
        "oracle_auc": f"{auc([s['oracle'] for s in met], [s['oracle'] for s in nor]):.3f}",
        "bsi_met": _q([s["bsi"] for s in met], 2) + " %",
        "studies": f"{len(studies)} ({len(met)} metastatic)"})
    return out


def table(summary: dict[str, str]) -> str:
    """Markdown table: figure | site_x | real (REALISM.md)."""
    lines = ["| figure | site_x | real (REALISM.md) |", "|---|---|---|"]
    for k, v in summary.items():
        lines.append(f"| {k} | {v} | {REAL.get(k, '')} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``stats DIR [--json OUT]``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.foreign.site_x stats")
    ap.add_argument("cohort", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    with open(args.cohort / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    studies = [study_stats(args.cohort, r) for r in rows]
    summary = summarise(studies)
    print(table(summary))
    if args.json:
        from benchmarks.foreign.site_x.cohort import write_atomic

        write_atomic(args.json, json.dumps(summary, indent=1).encode())
    return 0
