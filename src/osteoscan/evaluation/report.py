"""Write evaluation results: metrics.json, tables (CSV, Markdown, LaTeX) and a self-contained
HTML report with the plots embedded as base64 PNG (layout: docs/results-layout.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from osteoscan.artefacts import (  # noqa: F401 (to_jsonable: its old home)
    atomic_write_json,
    atomic_write_text,
    to_jsonable,
)
from osteoscan.csvsafe import neutralise_frame
from osteoscan.evaluation import plots
from osteoscan.evaluation.io import Predictions

logger = logging.getLogger(__name__)

DISCLAIMER = "Research use only. Not for clinical decisions."


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as indented JSON (NaN written as null), atomically."""
    return atomic_write_json(path, data)


def fmt_ci(entry: dict | None, digits: int = 3) -> str:
    """``0.875 (0.840-0.909)`` from a {value, ci_low, ci_high} entry."""
    if not entry or entry.get("value") is None or not np.isfinite(entry["value"]):
        return "n/a"
    text = f"{entry['value']:.{digits}f}"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        text += f" ({low:.{digits}f}-{high:.{digits}f})"
    return text


def _is_metric(v) -> bool:
    return isinstance(v, dict) and "value" in v and "ci_low" in v


def metrics_table(result: dict) -> pd.DataFrame:
    """One row per figure: metric, value, ci_low, ci_high, method."""
    rows = [
        {"metric": k, **{f: v.get(f) for f in ("value", "ci_low", "ci_high", "method")}}
        for k, v in result.items()
        if _is_metric(v)
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "method"])


def operating_points_table(result: dict) -> pd.DataFrame:
    """One row per operating point: threshold and figures with CIs as text."""
    rows = []
    for op in result.get("operating_points", []):
        row = {
            "operating_point": op["name"],
            "threshold": None if op["threshold"] is None else round(op["threshold"], 4),
            "fit_on_evaluated_data": op["fit_on_evaluated_data"],
        }
        row.update({k: fmt_ci(v) for k, v in op["metrics"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def subgroups_table(result: dict) -> pd.DataFrame:
    """One row per subgroup: table, group, counts, AUC / sensitivity / specificity with CIs."""
    rows = []
    for table, spec in result.get("subgroups", {}).items():
        for group, g in spec["groups"].items():
            m = g["metrics"]
            rows.append(
                {
                    "table": table,
                    "group": group,
                    "n": g["n"],
                    "n_patients": g["n_patients"],
                    "n_positive": g["n_positive"],
                    "auc": fmt_ci(m.get("auc")),
                    "sensitivity": fmt_ci(m.get("sensitivity")),
                    "specificity": fmt_ci(m.get("specificity")),
                    "accuracy": fmt_ci(m.get("accuracy")),
                }
            )
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (pandas' to_markdown needs the extra 'tabulate')."""
    if df.empty:
        return "_(empty)_\n"
    cells = df.astype(object).where(df.notna(), "").astype(str)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(r) + " |" for r in cells.itertuples(index=False)]
    return "\n".join(lines) + "\n"


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_TEX_RELATIONS = (("<=", r"$\leq$"), (">=", r"$\geq$"), ("<", r"$<$"), (">", r"$>$"))


def _latex_text(value: object) -> str:
    """Escape a text cell for LaTeX; comparison signs (subgroup names like "<=3") go to math
    mode, since text-mode < and > print as inverted punctuation in the default font encoding."""
    out = "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(value))
    for plain, tex in _TEX_RELATIONS:
        out = out.replace(plain, tex)
    return out


def to_latex(df: pd.DataFrame, caption: str = "") -> str:
    """A LaTeX tabular (booktabs) via pandas' Styler."""
    if df.empty:
        return "% empty table\n"
    p_cols = [c for c in df.columns if str(c).endswith(("_p", "_p_holm"))]
    text_cols = [
        c for c in df.columns
        if c not in p_cols and (pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object)
    ]
    styler = (
        df.style.hide(axis="index")
        .format(precision=3, escape="latex")
        .format(_latex_text, subset=text_cols, na_rep="")
        .format("{:.3g}", subset=p_cols, na_rep="")
        .format_index(escape="latex", axis=1)
    )
    caption = caption.replace("%", r"\%") if caption else None
    return styler.to_latex(hrules=True, caption=caption)


def write_table(
    df: pd.DataFrame, stem: Path, *, latex: bool = False, caption: str = ""
) -> list[Path]:
    """Write ``stem``.csv and .md (and .tex when asked), atomically (CSV cells neutralised,
    :mod:`osteoscan.csvsafe`)."""
    paths = [
        atomic_write_text(stem.with_suffix(".csv"), neutralise_frame(df).to_csv(index=False)),
        atomic_write_text(stem.with_suffix(".md"), to_markdown(df)),
    ]
    if latex:
        paths.append(atomic_write_text(stem.with_suffix(".tex"), to_latex(df, caption)))
    return paths


TEMPLATE = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px}th{background:#f0f0f0}
.figs img{width:360px;margin:4px}.note{color:#555;font-size:.9em}</style></head>
<body><h1>{{ title }}</h1><p class="note">{{ disclaimer }}</p>
<p>{{ summary }}</p>
<div class="figs">{% for name, uri in figures %}
<img alt="{{ name }}" src="{{ uri }}">{% endfor %}</div>
{% for heading, html, note in sections %}<h2>{{ heading }}</h2>
{% if note %}<p class="note">{{ note }}</p>{% endif %}
{{ html }}{% endfor %}
</body></html>""",
    autoescape=False,
)


def html_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "<p>(none)</p>"
    return df.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="n/a", escape=True)


def _figures(
    result: dict, pred: Predictions, others: dict[str, Predictions] | None, name: str
) -> list:
    figs = [
        ("ROC", plots.roc_figure({name: pred, **others} if others else pred)),
        ("Precision-recall", plots.pr_figure(pred)),
        (
            "Calibration",
            plots.reliability_figure(result["calibration"], (result.get("ece") or {}).get("value")),
        ),
        ("Confusion", plots.confusion_figure(result["confusion_matrix"], result["class_names"])),
    ]
    return [(name, plots.figure_to_data_uri(fig)) for name, fig in figs]


def render_html(
    result: dict,
    pred: Predictions,
    comparison: dict | None = None,
    others: dict[str, Predictions] | None = None,
) -> str:
    """The self-contained HTML report."""
    thr = result.get("threshold")
    if thr is not None:
        decided = f"threshold {thr:.3g} ({result['threshold_source']}); "
    elif result.get("threshold_source") == "model":
        decided = "calls: the model's own (predicted column); "
    else:
        decided = "calls: arg-max class; "
    summary = (
        f"{result['n']} studies from {result['n_patients']} patients; classes "
        f"{result['class_counts']}; "
        + decided
        + f"95% CIs: {result['bootstrap']['replicates']} patient-bootstrap replicates "
        "(percentile), DeLong for the AUC."
    )
    sections = [
        ("Metrics", html_table(metrics_table(result)), ""),
        (
            "Operating points",
            html_table(operating_points_table(result)),
            "Points marked fit_on_evaluated_data chose their threshold on these same studies: "
            "their figures are optimistic.",
        ),
        (
            "Subgroups",
            html_table(subgroups_table(result)),
            "Burden groups: positives with that lesion count plus all negatives.",
        ),
    ]
    if comparison:
        sections.append(
            (
                "Paired comparisons",
                html_table(comparison_table(comparison)),
                "DeLong test for correlated AUCs; McNemar for accuracy at each model's threshold.",
            )
        )
    return TEMPLATE.render(
        title=f"Evaluation: {Path(result.get('source') or 'predictions').name}",
        disclaimer=DISCLAIMER,
        summary=summary,
        sections=sections,
        figures=_figures(result, pred, others, (comparison or {}).get("reference", "A")),
    )


def comparison_table(comparison: dict) -> pd.DataFrame:
    """One row per paired comparison in ``comparison.json``."""
    cols = [
        "model_a",
        "model_b",
        "n",
        "auc_a",
        "auc_b",
        "auc_diff",
        "diff_ci_low",
        "diff_ci_high",
        "delong_z",
        "delong_p",
        "delong_p_holm",
        "accuracy_a",
        "accuracy_b",
        "mcnemar_p",
        "mcnemar_method",
        "mcnemar_p_holm",
    ]
    rows = [{c: r.get(c) for c in cols} for r in comparison.get("comparisons", [])]
    return pd.DataFrame(rows, columns=cols).dropna(axis=1, how="all")


def write_evaluation(
    result: dict,
    pred: Predictions,
    out_dir: str | Path,
    *,
    comparison: dict | None = None,
    others: dict[str, Predictions] | None = None,
) -> list[Path]:
    """Write metrics.json, the tables, report.html (and comparison.json) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_json(out / "metrics.json", result)]
    written += write_table(
        metrics_table(result), out / "metrics", latex=True, caption="Metrics (95% CI)"
    )
    if result.get("operating_points"):
        written += write_table(operating_points_table(result), out / "operating_points")
    if result.get("subgroups"):
        written += write_table(
            subgroups_table(result), out / "subgroups", latex=True, caption="Subgroups"
        )
    if comparison:
        written.append(write_json(out / "comparison.json", comparison))
        written += write_table(
            comparison_table(comparison),
            out / "comparison",
            latex=True,
            caption="Paired comparisons",
        )
    written.append(
        atomic_write_text(out / "report.html", render_html(result, pred, comparison, others))
    )
    logger.info("wrote %d files to %s", len(written), out)
    return written
