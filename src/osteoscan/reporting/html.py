"""HTML pages: the per-study report, the worklist and index pages (jinja2 templates).

Every page carries the "Research use only" banner. Reports are single files: the view
images are embedded as PNG data URIs, so a report can be mailed or archived alone.

Example:
    >>> write_report(scan, result, "report.html")            # doctest: +SKIP
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from osteoscan import __version__
from osteoscan.artefacts import atomic_write_text
from osteoscan.lesions.burden import LESION_ID
from osteoscan.reporting.figures import body_box, view_panels
from osteoscan.reporting.results import worklist_csv, worklist_rows
from osteoscan.types import BoneScan

log = logging.getLogger(__name__)

MAPPING_TEXT = {
    "stack": "views stacked as channels, so one map is shared by both views",
    "aggregate": "map computed on the aggregated view and carried onto the posterior view "
                 "through the alignment shift",
    "single": "single-view input",
}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return "" if v is None else str(v)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["basename"] = lambda p: Path(str(p)).name if p else ""
    env.filters["fmt"] = _fmt
    env.filters["words"] = words
    return env


def _render(template: str, **context: Any) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _env().get_template(template).render(version=__version__, generated=now, **context)


def _acquisition_rows(scan: BoneScan) -> list[tuple[str, str]]:
    a, s = scan.acquisition, scan.source
    counts = ", ".join(f"{c:,.0f}" for c in a.total_counts) if a.total_counts else ""
    rows = [
        ("Source format", s.format), ("Vendor / model", " / ".join(x for x in (s.vendor, s.model) if x)),
        ("Image size (rows x cols)", "%d x %d" % scan.shape),
        ("Pixel spacing (mm)", "" if scan.spacing_mm is None else "%.2f x %.2f" % tuple(scan.spacing_mm)),
        ("Total counts per view", counts),
        ("Scan length (mm)", _fmt(a.scan_length_mm)), ("Frame duration (ms)", _fmt(a.frame_duration_ms)),
        ("Scan velocity (mm/s)", _fmt(a.scan_velocity_mm_s)),
        ("Radiopharmaceutical", _fmt(a.radiopharmaceutical)), ("Injected activity (MBq)", _fmt(a.injected_mbq)),
        ("Posterior mirrored on reading", "yes" if scan.posterior_mirrored else "no"),
        ("Reader notes", "; ".join(s.notes)),
        ("Files", ", ".join(Path(f).name for f in s.files)),
        ("Files not used", "; ".join(f"{Path(f).name} ({why})" for f, why in s.skipped)),
    ]
    return [(k, v) for k, v in rows if v not in ("", None)]


def _metric_text(value: Any) -> str:
    if isinstance(value, dict) and ("value" in value or "auc" in value):
        from osteoscan.evaluation.statistics import ci_value

        ci = ""
        if value.get("ci_low") is not None and value.get("ci_high") is not None:
            ci = f" (95% CI {value['ci_low']:.3f}-{value['ci_high']:.3f}"
            ci += f", n={value['n']})" if "n" in value else ")"
        return f"{ci_value(value):.3f}{ci}"
    return "" if isinstance(value, (dict, list)) else _fmt(value)


def _model_rows(model: dict) -> list[tuple[str, str]]:
    metrics = model.get("metrics") or {}
    flat = "; ".join(f"{k}: {_metric_text(v)}" for k, v in metrics.items() if _metric_text(v))
    thr = model.get("threshold")
    rows = [
        ("Architecture", model.get("architecture", "")),
        ("Classes", ", ".join(model.get("classes", []))),
        ("Operating threshold", "" if thr is None else f"{thr:.3f} ({model.get('threshold_rule', '')})"),
        ("Preprocessing", ", ".join(f"{k}={v}" for k, v in (model.get("preprocess") or {}).items())),
        ("Validation metrics", flat),
        ("Trained on", ", ".join(f"{k}: {_fmt(v)}" for k, v in (model.get("data") or {}).items()
                                 if not isinstance(v, (dict, list)))),
        ("Created", model.get("created", "")), ("Weights", model.get("source", "")),
        ("Notes", model.get("notes", "")),
    ]
    return [(k, v) for k, v in rows if v]


def words(name: Any) -> Any:
    """A skeletal region's code as a reader writes it (``lumbar_spine`` -> ``lumbar spine``)."""
    return name.replace("_", " ") if isinstance(name, str) else name


REGION_HEADERS = {"region": "Region", "hotspots": "Candidates examined",
                  "malignant": "Lesions called malignant", "involvement": "Involvement (%)",
                  "bsi": "BSI share (%)"}
"""Readable headers of the lesion stage's region table (``lesions.burden.RegionRow``);
``involvement`` (a fraction of the region's bone) is shown in percent. Other keys (a user's
own analyzer's table) are shown as they are."""


def _regions(result: Any) -> list[dict]:
    table = getattr(result.lesions, "regions", None)
    if table is None:
        return []
    if hasattr(table, "to_dict"):  # pandas DataFrame
        rows = list(table.to_dict(orient="records"))
    else:
        rows = [dict(r) for r in table]
    shown = {"involvement": lambda v: 100.0 * v, "region": words}
    return [{REGION_HEADERS.get(k, k): shown.get(k, lambda v: v)(v) for k, v in row.items()}
            for row in rows]


DISPLAY_FLOOR = 0.10
"""Hotspots below this P(malignant) are neither outlined nor listed in the report (the
candidate stage examines up to hundreds per study; the JSON keeps every one)."""


def shown_hotspots(result: Any) -> list:
    """The hotspots a reader should see: P(malignant) >= :data:`DISPLAY_FLOOR`, most
    suspicious first."""
    hot = [h for h in result.hotspots if h.probability >= DISPLAY_FLOOR]
    return sorted(hot, key=lambda h: -h.probability)


def lesion_numbers(result: Any, shown: list) -> list[int]:
    """A lesion number per shown hotspot, most suspicious first; the anterior and posterior
    hotspots of one lesion (``Hotspot.match``: index in the other view's list) share it, as
    the malignant count and the BSI count a pair once; so do the hotspots the detector joins
    into one lesion (feature ``lesion``, :mod:`osteoscan.lesions.lesion_count`)."""
    if shown and all(LESION_ID in h.features for h in result.hotspots):
        ids: dict[float, int] = {}
        return [ids.setdefault(h.features[LESION_ID], len(ids) + 1) for h in shown]
    position, seen = {}, {}
    for h in result.hotspots:
        seen[h.view] = seen.get(h.view, -1) + 1
        position[id(h)] = (h.view, seen[h.view])
    other = {"anterior": "posterior", "posterior": "anterior"}
    number: dict[tuple[str, int], int] = {}
    out = []
    for h in shown:
        key = position.get(id(h), (h.view, -1))
        if key not in number:
            number[key] = len(set(number.values())) + 1
            if h.match is not None and h.view in other:
                number[(other[h.view], int(h.match))] = number[key]
        out.append(number[key])
    return out


def _report_views(scan: BoneScan) -> dict[str, np.ndarray]:
    views = {"anterior": scan.anterior}
    if scan.posterior is not None:
        views["posterior"] = scan.posterior
    if scan.views and scan.views[0].view == "composite":
        views = {"composite": scan.anterior}
    return views


def _cropped_panels(views: dict, result: Any, shown: list) -> dict[str, dict[str, str]]:
    """The view panels cropped to the body (one box for all views), with the shown
    hotspots' outlines (or centres) and the heatmaps cropped the same way."""
    rows, cols = body_box(list(views.values()))
    heat = {k: v[rows, cols] for k, v in (result.heatmaps or {}).items()
            if v is not None and k in views and v.shape == views[k].shape}
    marks: dict[str, list[tuple[float, float]]] = {}
    outlines: dict[str, list] = {}
    for h in shown:
        marks.setdefault(h.view, []).append((h.row - rows.start, h.col - cols.start))
        mask = getattr(h, "mask", None)
        if mask is not None and h.view in views and mask.shape == views[h.view].shape:
            outlines.setdefault(h.view, []).append(replace(h, mask=mask[rows, cols]))
    return view_panels({k: v[rows, cols] for k, v in views.items()}, heat, marks, outlines)


def render_report(scan: BoneScan, result: Any, *, view_height: int = 720) -> str:
    """The per-study report as HTML text.

    Args:
        scan: the study.
        result: its :class:`osteoscan.inference.Prediction`.
        view_height: displayed height of each view in CSS pixels.
    """
    shown = shown_hotspots(result)
    panels = _cropped_panels(_report_views(scan), result, shown)
    r = dict(vars(result))
    r["hotspots_available"] = result.lesions is not None or bool(result.hotspots)
    r["shown_hotspots"] = list(zip(lesion_numbers(result, shown), shown, strict=True))
    r["malignant_count"] = getattr(result.lesions, "malignant_count", None)
    r["hotspot_threshold"] = getattr(result.lesions, "threshold", None)
    return _render(
        "report.html.j2", r=r, scan=scan, panels=panels, view_height=view_height,
        mapping_text=MAPPING_TEXT.get(result.explain.get("mapping", ""), "see docs/analyze.md"),
        acquisition=_acquisition_rows(scan), model_rows=_model_rows(result.model),
        regions=_regions(result), display_floor=DISPLAY_FLOOR,
    )


def write_report(scan: BoneScan, result: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write the per-study HTML report (atomically).

    Args:
        scan: the study.
        result: its :class:`osteoscan.inference.Prediction`.
        path: output ``.html`` file.
        **kwargs: passed to :func:`render_report`.

    Returns:
        The path written.
    """
    return atomic_write_text(path, render_report(scan, result, **kwargs))


def write_worklist(records: list[dict], out_dir: str | Path, *, failures: list[dict] | None = None,
                   model: str = "") -> tuple[Path, Path]:
    """Write ``worklist.csv`` and ``worklist.html``, sorted by probability (highest first).

    Args:
        records: per-study dicts with at least patient_id, study_id, probability, decision,
            positive; optional n_malignant, bsi, report (relative link), json, input.
        out_dir: folder to write into.
        failures: {"input", "error"} dicts listed at the end of the HTML page.
        model: model description shown on the page.

    Returns:
        (csv path, html path).
    """
    out = Path(out_dir)
    rows = worklist_rows(records)
    csv_path = atomic_write_text(out / "worklist.csv", worklist_csv(rows))
    html = _render("worklist.html.j2", rows=rows, failures=failures or [], model=model)
    return csv_path, atomic_write_text(out / "worklist.html", html)


def write_index(path: str | Path, title: str, sections: list[dict], *, intro: str = "") -> Path:
    """Write an index page linking outputs.

    Args:
        path: output ``.html`` file.
        title: page title.
        sections: dicts with "title" and optional "text", "table" [(key, value)],
            "links" [(text, relative href)].
        intro: a paragraph under the title.
    """
    return atomic_write_text(path, _render("index.html.j2", title=title, sections=sections, intro=intro))
