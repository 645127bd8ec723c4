"""Per-study JSON records and the worklist CSV (schema in docs/analyze.md).

Every output is written with the package's one atomic writer
(:func:`osteoscan.artefacts.atomic_write_text`, re-exported here).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

import numpy as np

from osteoscan.artefacts import (  # noqa: F401 (the writers: their old home)
    atomic_write_bytes,
    atomic_write_text,
    dumps_json,
    to_jsonable,
)
from osteoscan.csvsafe import neutralise_row
from osteoscan.types import BoneScan, Hotspot

SCHEMA = "osteoscan.analyze/1"

WORKLIST_FIELDS = ("rank", "patient_id", "study_id", "probability", "decision", "positive",
                   "threshold", "n_malignant", "bsi", "report", "json", "input")


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


def hotspot_record(h: Hotspot, *, masks: bool) -> dict:
    """JSON-ready hotspot (mask as RLE when ``masks``, else omitted)."""
    rec = {"view": h.view, "row": float(h.row), "col": float(h.col),
           "area_mm2": float(h.area_mm2), "region": h.region, "probability": float(h.probability),
           "max_counts": float(h.max_counts), "mean_counts": float(h.mean_counts),
           "uptake_ratio": float(h.uptake_ratio), "match": h.match,
           "features": {k: to_jsonable(v) for k, v in (h.features or {}).items()}}
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
        "acquisition": {k: to_jsonable(v) if not isinstance(v, tuple) else [to_jsonable(x) for x in v]
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
           "lesions": None if result.lesions is None else {
               "malignant_count": int(result.lesions.malignant_count),
               "lesion_count": int(result.lesions.lesion_count),
               "hotspot_threshold": float(result.lesions.threshold)},
           "model": result.model,
           "timings_s": {k: round(float(v), 4) for k, v in result.timings.items()}}
    rec.update(extra)
    return rec


clean = to_jsonable
"""Old name of :func:`osteoscan.artefacts.to_jsonable`."""


def dumps(record: dict) -> str:
    """JSON text (indented, one line per hotspot; NaN and infinities written as null)."""
    return dumps_json(record, one_line=("hotspots",))


def worklist_rows(records: list[dict]) -> list[dict]:
    """Worklist rows sorted by probability (highest first), ranked from 1."""
    rows = sorted(records, key=lambda r: (-r["probability"], r["study_id"]))
    out = []
    for i, r in enumerate(rows, 1):
        out.append({"rank": i, "patient_id": r["patient_id"], "study_id": r["study_id"],
                    "probability": round(r["probability"], 6), "decision": r["decision"],
                    "positive": r["positive"], "threshold": r.get("threshold"),
                    "n_malignant": r.get("n_malignant"), "bsi": r.get("bsi"),
                    "report": r.get("report", ""), "json": r.get("json", ""),
                    "input": r.get("input", "")})
    return out


def worklist_csv(rows: list[dict]) -> str:
    """The worklist as CSV text (columns :data:`WORKLIST_FIELDS`; cells neutralised against
    formula injection, :mod:`osteoscan.csvsafe`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=WORKLIST_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(neutralise_row({k: "" if row.get(k) is None else row.get(k) for k in WORKLIST_FIELDS}))
    return buf.getvalue()
