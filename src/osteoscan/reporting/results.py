"""Per-study JSON records and the worklist CSV (schema in docs/analyze.md).

Also the atomic writer every reporting output goes through: a temporary file in the same
folder, then ``os.replace``, so a reader never sees a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from osteoscan.types import BoneScan, Hotspot

SCHEMA = "osteoscan.analyze/1"

_UMASK = os.umask(0o022)
os.umask(_UMASK)

WORKLIST_FIELDS = ("rank", "patient_id", "study_id", "probability", "decision", "positive",
                   "threshold", "n_hotspots", "bsi", "report", "json", "input")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    Args:
        path: destination (parent folders are created).
        data: the content.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def mask_rle(mask: np.ndarray) -> dict:
    """Run-length encode a boolean mask in row-major (C) order.

    ``counts`` alternate runs of False and True pixels, starting with False (the first
    run may be 0). Decode with :func:`rle_mask`.

    Example:
        >>> mask_rle(np.array([[0, 1, 1], [0, 0, 1]], bool))["counts"]
        [1, 2, 2, 1]
    """
    flat = np.asarray(mask, bool).ravel(order="C")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": list(mask.shape), "order": "C", "counts": [int(c) for c in counts]}


def rle_mask(rle: dict) -> np.ndarray:
    """Decode :func:`mask_rle` output back to a boolean mask."""
    values = np.zeros(len(rle["counts"]), bool)
    values[1::2] = True
    flat = np.repeat(values, rle["counts"])
    return flat.reshape(rle["size"], order="C")


def _num(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def hotspot_record(h: Hotspot, *, masks: bool) -> dict:
    """JSON-ready hotspot (mask as RLE when ``masks``, else omitted)."""
    rec = {"view": h.view, "row": float(h.row), "col": float(h.col),
           "area_mm2": float(h.area_mm2), "region": h.region, "probability": float(h.probability),
           "max_counts": float(h.max_counts), "mean_counts": float(h.mean_counts),
           "uptake_ratio": float(h.uptake_ratio), "match": h.match,
           "features": {k: _num(v) for k, v in (h.features or {}).items()}}
    if masks and h.mask is not None:
        rec["mask_rle"] = mask_rle(h.mask)
    return rec


def scan_record(scan: BoneScan) -> dict:
    """Study facts: ids, files, views (how identified), acquisition, geometry."""
    return {
        "patient_id": scan.patient_id, "study_id": scan.study_id,
        "shape": list(scan.shape),
        "spacing_mm": None if scan.spacing_mm is None else [float(v) for v in scan.spacing_mm],
        "views": [asdict(v) for v in scan.views],
        "source": asdict(scan.source),
        "acquisition": {k: _num(v) if not isinstance(v, tuple) else [_num(x) for x in v]
                        for k, v in asdict(scan.acquisition).items()},
        "posterior_mirrored": bool(scan.posterior_mirrored),
    }


def study_record(scan: BoneScan, result: Any, *, masks: bool = False, **extra: Any) -> dict:
    """Everything about one analysed study as a JSON-ready dict (schema ``osteoscan.analyze/1``).

    Args:
        scan: the study.
        result: its :class:`osteoscan.inference.Prediction`.
        masks: include hotspot masks as RLE.
        **extra: more top-level keys (paths of the report, input...).
    """
    rec = {"schema": SCHEMA, **scan_record(scan),
           "probability": float(result.probability),
           "probabilities": {k: float(v) for k, v in result.probabilities.items()},
           "decision": result.decision, "positive": bool(result.positive),
           "threshold": result.threshold,
           "gradcam": {"class": result.heatmap_class, **result.explain,
                       "peaks": {v: list(p) for v, p in result.heatmap_peaks().items()}},
           "hotspots": [hotspot_record(h, masks=masks) for h in result.hotspots],
           "bsi": None if result.bsi is None else float(result.bsi),
           "model": result.model,
           "timings_s": {k: round(float(v), 4) for k, v in result.timings.items()}}
    rec.update(extra)
    return rec


def clean(obj: Any) -> Any:
    """Recursively make ``obj`` JSON-safe: NaN/inf -> None, numpy scalars/arrays -> Python."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    return _num(obj)


def dumps(record: dict) -> str:
    """JSON text (indented; NaN and infinities written as null)."""
    return json.dumps(clean(record), indent=2, allow_nan=False)


def worklist_rows(records: list[dict]) -> list[dict]:
    """Worklist rows sorted by probability (highest first), ranked from 1."""
    rows = sorted(records, key=lambda r: (-r["probability"], r["study_id"]))
    out = []
    for i, r in enumerate(rows, 1):
        out.append({"rank": i, "patient_id": r["patient_id"], "study_id": r["study_id"],
                    "probability": round(r["probability"], 6), "decision": r["decision"],
                    "positive": r["positive"], "threshold": r.get("threshold"),
                    "n_hotspots": r.get("n_hotspots"), "bsi": r.get("bsi"),
                    "report": r.get("report", ""), "json": r.get("json", ""),
                    "input": r.get("input", "")})
    return out


def worklist_csv(rows: list[dict]) -> str:
    """The worklist as CSV text (columns :data:`WORKLIST_FIELDS`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=WORKLIST_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in WORKLIST_FIELDS})
    return buf.getvalue()
