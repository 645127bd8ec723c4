"""A cohort folder in osteoscan's documented manifest format (docs/data-format.md).

Layout::

    DIR/manifest.csv
    DIR/studies/<patient>/NM000001.dcm, NM000002.dcm   (anterior / posterior, random order)
    DIR/masks/<study>_anterior.png, <study>_posterior.png   (uint16 instance masks)
    DIR/truth/<study>.json

Study ``i`` of seed ``S`` is drawn from ``numpy.random.default_rng([S, i])``, so a cohort is
deterministic and any study can be regenerated alone.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .dicomio import uid, write_atomic, write_view
from .study import simulate

SITE = "site_y"
COLUMNS = ["patient_id", "study_id", "image", "label", "site", "bsi", "lesion_count",
           "lesion_masks", "truth"]


def _save_png(path: Path, arr: np.ndarray) -> None:
    write_atomic(path, lambda p: Image.fromarray(arr.astype(np.uint16)).save(p, format="PNG"))


def _save_text(path: Path, text: str) -> None:
    write_atomic(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def make_study(out: Path, seed: int, i: int, metastatic_fraction: float) -> dict:
    """Simulate study ``i`` and write its files; returns its manifest row."""
    rng = np.random.default_rng([seed, i])
    metastatic = bool(rng.random() < metastatic_fraction)
    st = simulate(rng, metastatic)
    pid = f"Y{seed:03d}{i:05d}"
    study_uid = uid(seed, i, "study")
    info = dict(st.info, patient_id=pid, study_uid=study_uid,
                date=f"2026{1 + i % 12:02d}{1 + i % 28:02d}")
    names = ["NM000001.dcm", "NM000002.dcm"]
    if rng.random() < 0.5:
        names.reverse()
    folder = out / "studies" / pid
    write_view(folder / names[0], st.anterior, "anterior", info)
    write_view(folder / names[1], st.posterior_acquired, "posterior", info)
    for view, m in st.masks.items():
        _save_png(out / "masks" / f"{pid}_{view}.png", m)
    truth = dict(st.truth, study_id=study_uid, patient_id=pid, files={"anterior": names[0], "posterior": names[1]})
    _save_text(out / "truth" / f"{pid}.json", json.dumps(truth, indent=1, sort_keys=True))
    return {"patient_id": pid, "study_id": study_uid, "image": f"studies/{pid}", "label": st.truth["label"],
            "site": SITE, "bsi": f"{st.truth['bsi']:.4f}", "lesion_count": str(st.truth["lesion_count"]),
            "lesion_masks": f"anterior:masks/{pid}_anterior.png;posterior:masks/{pid}_posterior.png",
            "truth": f"truth/{pid}.json"}


def write_manifest(out: Path, rows: list[dict]) -> Path:
    """manifest.csv, written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path = out / "manifest.csv"
    _save_text(path, buf.getvalue())
    return path


def generate(out: Path, n: int, seed: int, metastatic_fraction: float = 0.5, quiet: bool = False) -> Path:
    """Write ``n`` studies and the manifest under ``out``; prints progress to stderr."""
    out.mkdir(parents=True, exist_ok=True)
    rows, t0 = [], time.time()
    for i in range(n):
        rows.append(make_study(out, seed, i, metastatic_fraction))
        if not quiet:
            el = time.time() - t0
            print(f"\r{SITE}: {i + 1}/{n} studies, {el:.0f} s, ~{el / (i + 1) * (n - i - 1):.0f} s left",
                  end="", file=sys.stderr, flush=True)
    if not quiet:
        print(file=sys.stderr)
    return write_manifest(out, rows)
