"""The aggregate step of a multi-arm study: prediction files in, one comparison out (no torch).

Reads ``DIR/arms/<arm>/predictions/{fold-<k>,external}.csv`` (see
:mod:`osteoscan.evaluation.compare`) and writes ``DIR/comparison/`` (docs/results-layout.md).
Binary threshold figures use each model's own calls (the ``predicted`` column, which training
writes at the model card's threshold, fold by fold) and threshold 0.5 when a file has no
``predicted`` column; multi-class figures use the argmax.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from osteoscan.evaluation import plots
from osteoscan.artefacts import atomic_write_text
from osteoscan.evaluation.compare import fold_summary, load_manifest_for, pool, read_arm_folder
from osteoscan.evaluation.core import evaluate_predictions
from osteoscan.evaluation.io import Predictions, model_decisions
from osteoscan.evaluation.paired import compare_pair
from osteoscan.evaluation.report import (
    DISCLAIMER,
    TEMPLATE,
    fmt_ci,
    html_table,
    subgroups_table,
    write_json,
    write_table,
)
from osteoscan.evaluation.statistics import holm_adjust

logger = logging.getLogger(__name__)


def _common(pooled: dict[str, Predictions]) -> dict[str, Predictions]:
    """Restrict every arm to the studies all arms predicted (paired tests need pairs)."""
    common = set.intersection(*(set(p.study_id) for p in pooled.values()))
    out = {}
    for arm, p in pooled.items():
        if len(common) < p.n:
            logger.warning("arm %s: %d of %d studies shared by all arms", arm, len(common), p.n)
        keep = np.flatnonzero(np.isin(p.study_id, list(common)))
        out[arm] = p.take(keep[np.argsort(p.study_id[keep], kind="stable")])
    return out


def _p_vs_best(pooled: dict[str, Predictions], results: dict[str, dict]) -> tuple[str, dict]:
    aucs = {a: (r.get("auc") or {}).get("value") for a, r in results.items()}
    best = max(
        aucs, key=lambda a: -np.inf if aucs[a] is None or not np.isfinite(aucs[a]) else aucs[a]
    )
    tests = {
        a: compare_pair(pooled[best], pooled[a], name_a=best, name_b=a) for a in pooled if a != best
    }
    have = [a for a, t in tests.items() if t.get("delong_p") is not None]
    for a, p in zip(have, holm_adjust([tests[a]["delong_p"] for a in have]), strict=True):
        tests[a]["delong_p_holm"] = float(p)
    return best, tests


def evaluate_set(
    members: dict[str, list[Predictions]],
    *,
    n_boot: int,
    seed: int,
    manifest_dir: Path | None = None,
    by: tuple[str, ...] = (),
) -> dict:
    """Pooled and per-fold figures of every arm on one evaluation set, plus tests vs the best."""
    pooled = _common({arm: pool(folds) for arm, folds in members.items()})
    results = {}
    for arm, pred in pooled.items():
        manifest = load_manifest_for(manifest_dir, pred) if manifest_dir else None
        cols = tuple(
            c
            for c in by
            if manifest is not None and c in manifest.columns or c in pred.extra.columns
        )
        results[arm] = evaluate_predictions(
            pred,
            manifest=manifest,
            n_boot=n_boot,
            seed=seed,
            target_sensitivity=None,
            by=cols,
            decisions=model_decisions(pred),
        )
    best, tests = _p_vs_best(pooled, results)
    arms = {}
    for arm in pooled:
        arms[arm] = {
            "n": pooled[arm].n,
            "n_folds": len(members[arm]),
            "pooled": results[arm],
            "folds": fold_summary(members[arm]),
            "vs_best": tests.get(arm),
        }
    return {"best": best, "arms": arms, "_pooled": pooled}


def _mean_sd(entry: dict) -> str:
    if entry.get("mean") is None:
        return "n/a"
    return f"{entry['mean']:.3f}" + (
        f" +/- {entry['sd']:.3f}" if entry.get("sd") is not None else ""
    )


def set_table(result: dict) -> pd.DataFrame:
    """One row per arm: pooled figures with CIs, fold mean +/- SD, DeLong p vs the best."""
    rows = []
    for arm, a in result["arms"].items():
        vs = a["vs_best"] or {}
        p = vs.get("delong_p_holm", vs.get("delong_p"))
        rows.append(
            {
                "arm": arm,
                "n": a["n"],
                "folds": a["n_folds"],
                "auc_pooled": fmt_ci(a["pooled"].get("auc")),
                "auc_folds": _mean_sd(a["folds"]["auc"]),
                "accuracy": fmt_ci(a["pooled"].get("accuracy")),
                "sensitivity": fmt_ci(a["pooled"].get("sensitivity")),
                "specificity": fmt_ci(a["pooled"].get("specificity")),
                "f1": fmt_ci(a["pooled"].get("f1")),
                "p_vs_best_holm": "best"
                if arm == result["best"]
                else (f"{p:.4g}" if p is not None else "n/a"),
            }
        )
    return pd.DataFrame(rows)


def _subgroup_rows(result: dict) -> pd.DataFrame:
    frames = []
    for arm, a in result["arms"].items():
        df = subgroups_table(a["pooled"])
        if not df.empty:
            frames.append(df.assign(arm=arm)[["arm", *df.columns]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _read_yaml(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def aggregate_folder(
    folder: str | Path, *, out: str | Path | None = None, n_boot: int = 1000, seed: int = 0
) -> dict:
    """Aggregate a study folder's prediction files into ``<out>/comparison/``.

    Returns:
        The summary (also written as ``comparison/summary.json``) with an ``arms`` list of
        display rows for the primary set (internal if present, else external).
    """
    folder = Path(folder)
    dest = Path(out or folder) / "comparison"
    study = _read_yaml(folder / "study.yaml")
    by = tuple((study.get("evaluation") or {}).get("subgroups", ()))
    arms = _ordered_arms(read_arm_folder(folder / "arms"), study)
    summary = _summary_head(study, folder, n_boot, seed)
    failed = summary["failed"]
    sections, figures = [], []
    for set_name in ("internal", "external"):
        members = {a: s[set_name] for a, s in arms.items() if set_name in s}
        if members:
            result = evaluate_set(members, n_boot=n_boot, seed=seed, manifest_dir=folder, by=by)
            summary["sets"][set_name] = result
            _render_set(
                set_name,
                result,
                result.pop("_pooled"),
                dest / set_name,
                summary["name"],
                sections,
                figures,
            )
    primary = summary["sets"].get("internal") or next(iter(summary["sets"].values()))
    summary["arms"] = _display_rows(primary)
    write_json(dest / "summary.json", summary)
    atomic_write_text(
        dest / "report.html",
        TEMPLATE.render(
            title=f"Comparison: {summary['name']}",
            disclaimer=DISCLAIMER,
            figures=figures,
            sections=sections,
            summary=f"Protocol {summary['protocol']}; {len(arms)} arms; "
            f"failed: {', '.join(failed) or 'none'}.",
        ),
    )
    return summary


def _ordered_arms(arms: dict, study: dict) -> dict:
    """Arms in the study's order (unknown ones after, alphabetically)."""
    listed = [a.get("name") for a in study.get("arms", []) if isinstance(a, dict)]
    order = [name for name in listed if name in arms]
    return {name: arms[name] for name in [*order, *sorted(set(arms) - set(order))]}


def _summary_head(study: dict, folder: Path, n_boot: int, seed: int) -> dict:
    protocol = study.get("protocol", "from files")
    if isinstance(protocol, dict):
        protocol = protocol.get("kind", "from files")
    return {
        "name": study.get("name", folder.name),
        "protocol": str(protocol),
        "sets": {},
        "failed": sorted(_read_yaml(folder / "failed.yaml")),
        "bootstrap": {"replicates": n_boot, "seed": seed},
    }


def _render_set(
    set_name: str,
    result: dict,
    pooled: dict[str, Predictions],
    dest: Path,
    name: str,
    sections: list,
    figures: list,
) -> None:
    """Write one evaluation set's tables and ROC overlay; add its HTML parts."""
    table = set_table(result)
    write_table(table, dest / "table", latex=True, caption=f"{name}: {set_name}")
    sub = _subgroup_rows(result)
    if not sub.empty:
        write_table(sub, dest / "subgroups", latex=True, caption="Subgroups")
        sections.append((f"{set_name}: subgroups", html_table(sub), ""))
    fig = plots.roc_figure(pooled, title=f"ROC ({set_name}, pooled)")
    plots.save_figure(fig, dest / "roc.png")
    figures.append((f"ROC {set_name}", plots.figure_to_data_uri(fig)))
    sections.insert(
        len(figures) - 1,
        (
            set_name,
            html_table(table),
            "AUC pooled over out-of-fold predictions with 95% CI (DeLong); mean +/- SD "
            "over folds; p: DeLong vs the best arm, Holm-adjusted.",
        ),
    )


def _display_rows(result: dict) -> list[dict]:
    rows = []
    for arm, a in result["arms"].items():
        vs = a["vs_best"] or {}
        p = vs.get("delong_p_holm", vs.get("delong_p"))
        rows.append(
            {
                "arm": arm,
                "auc_pooled_text": fmt_ci(a["pooled"].get("auc")),
                "auc_folds_text": _mean_sd(a["folds"]["auc"]),
                "p_text": "best"
                if arm == result["best"]
                else (f"{p:.4g}" if p is not None else "n/a"),
            }
        )
    return rows
