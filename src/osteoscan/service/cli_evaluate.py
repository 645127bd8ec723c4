"""``osteoscan evaluate`` and ``osteoscan compare``: thin typer layers over osteoscan.evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    Progress,
)
from rich.table import Table

from osteoscan.service import exits
from osteoscan.service._progress import counted_progress

console = Console(stderr=True)
out_console = Console()


def _progress() -> Progress:
    return counted_progress(console, spinner=True)


def _summary_table(result: dict, comparison: dict | None) -> Table:
    from osteoscan.evaluation.metrics import MULTICLASS_METRICS
    from osteoscan.evaluation.report import fmt_ci

    table = Table(title=f"{result['n']} studies, {result['n_patients']} patients")
    table.add_column("metric")
    table.add_column("value (95% CI)")
    for key in MULTICLASS_METRICS:  # a superset of the binary figures, in report order
        if key in result:
            table.add_row(key, fmt_ci(result[key]))
    for row in (comparison or {}).get("comparisons", []):
        p = row.get("delong_p")
        delong = f"DeLong p={p:.4g}" if p is not None else "DeLong n/a"
        table.add_row(f"vs {row['model_b']}", f"{delong}, McNemar p={row['mcnemar_p']:.4g}")
    return table


PredArg = Annotated[
    Path, typer.Argument(help="Predictions CSV (study_id, patient_id, label, prob_<class>).")
]
OptPath = Path | None
Paths = list[Path] | None


def evaluate(
    predictions: PredArg,
    manifest: Annotated[
        OptPath, typer.Option(help="Manifest CSV joined on study_id for subgroups.")
    ] = None,
    card: Annotated[
        OptPath, typer.Option(help="Model card JSON; its 'threshold' is the operating threshold.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Operating threshold when no card is given (default 0.5).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("evaluation"),
    bootstrap: Annotated[
        int, typer.Option(help="Patient-bootstrap replicates for the 95% CIs (0: none).")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    target_sensitivity: Annotated[
        float | None, typer.Option(help="Add the operating point reaching this sensitivity.")
    ] = 0.9,
    target_specificity: Annotated[
        float | None, typer.Option(help="Add the operating point reaching this specificity.")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Manifest column to break results down by (repeatable)."),
    ] = None,
    against: Annotated[
        Paths,
        typer.Option(
            "--against",
            help="Other model's predictions on the same studies (repeatable): "
            "paired DeLong + McNemar.",
        ),
    ] = None,
    against_card: Annotated[
        Paths,
        typer.Option(
            "--against-card",
            help="Model card of each --against model, in the same order (default threshold 0.5).",
        ),
    ] = None,
    use_predicted: Annotated[
        bool,
        typer.Option(
            "--use-predicted",
            help="Binary: score the file's 'predicted' column (the model's own calls) instead "
            "of a threshold.",
        ),
    ] = False,
    no_phi: Annotated[bool, typer.Option(
        "--no-phi", help="Write the predictions files' names, not their paths (the outputs "
        "hold no per-study ids either way; docs/privacy.md).")] = False,
) -> None:
    """Evaluate predictions: metrics with 95% CIs, operating points, subgroups, report.html."""
    from osteoscan.errors import ConfigError
    from osteoscan.evaluation.core import evaluate_predictions
    from osteoscan.evaluation.io import read_card_threshold, read_predictions
    from osteoscan.evaluation.paired import compare_predictions
    from osteoscan.evaluation.report import write_evaluation
    from osteoscan.io.redact import make_redactor

    if bootstrap < 0:
        raise ConfigError("--bootstrap must be >= 0")
    against, against_card = against or [], against_card or []
    if against_card and len(against_card) != len(against):
        raise ConfigError("give one --against-card per --against file, or none")
    with _progress() as progress:
        task = progress.add_task("reading predictions", total=3 + len(against))
        red = make_redactor(no_phi)
        pred = red.provenance(read_predictions(predictions))
        progress.update(task, advance=1, description=f"metrics, {bootstrap} bootstrap replicates")
        result = evaluate_predictions(
            pred,
            manifest=manifest,
            card=card,
            threshold=threshold,
            n_boot=bootstrap,
            seed=seed,
            target_sensitivity=target_sensitivity,
            target_specificity=target_specificity,
            by=tuple(by or ()),
            decisions=_decisions(pred, predictions) if use_predicted else None,
        )
        progress.update(task, advance=1, description="paired comparisons")
        comparison, others = None, {}
        if against:
            names = _unique_names([predictions, *against])
            others = {n: red.provenance(read_predictions(p))
                      for n, p in zip(names[1:], against, strict=True)}
            thresholds = {names[0]: result["threshold"] or 0.5}
            for n, c in zip(names[1:], against_card, strict=False):
                value = read_card_threshold(c)
                thresholds[n] = 0.5 if value is None else value
            comparison = compare_predictions(pred, others, name=names[0], thresholds=thresholds)
            progress.update(task, advance=len(against))
        progress.update(task, description="writing report")
        written = write_evaluation(result, pred, out, comparison=comparison, others=others)
        progress.update(task, advance=1)
    out_console.print(_summary_table(result, comparison))
    console.print(f"wrote {len(written)} files to {out}")


def _decisions(pred, path: Path):
    from osteoscan.errors import InputError
    from osteoscan.evaluation.io import model_decisions

    calls = model_decisions(pred)
    if calls is None:
        raise InputError(
            path, "--use-predicted needs a binary file with a 'predicted' column of class names"
        )
    return calls


def _unique_names(paths: list[Path]) -> list[str]:
    names: list[str] = []
    for p in paths:
        stem = p.stem if p.stem not in names else f"{p.parent.name}/{p.stem}"
        while stem in names:
            stem += "_"
        names.append(stem)
    return names


def _is_lesion_study(path: Path) -> bool:
    """True for a study YAML that declares ``task: lesion`` (lesion-level classifiers)."""
    import yaml

    try:
        cfg = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # load_study reports the unreadable file with its reason
    return isinstance(cfg, dict) and cfg.get("task") == "lesion"


def compare(
    study: Annotated[
        OptPath, typer.Argument(help="Study YAML (data, protocol, shared settings, arms).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("comparison"),
    render_only: Annotated[
        OptPath,
        typer.Option(
            "--render-only", help="Re-render from a finished comparison folder, no training."
        ),
    ] = None,
    tiny: Annotated[
        bool, typer.Option("--tiny", help="Smoke run: tiny models, few studies, one epoch.")
    ] = False,
    arm: Annotated[
        list[str] | None, typer.Option("--arm", help="Run only this arm (repeatable).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="key=value override for every arm (repeatable)."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Patient-bootstrap replicates for pooled CIs.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Run several models/ablations under one protocol and write one comparison.

    Exit code 0; 1 when an arm failed (the others are compared)."""
    from osteoscan.errors import ConfigError
    from osteoscan.evaluation.aggregate import aggregate_folder
    from osteoscan.evaluation.compare import load_study, run_study

    if render_only is not None:
        summary = aggregate_folder(render_only, out=render_only, n_boot=bootstrap, seed=seed)
    elif study is None:
        raise ConfigError("give a study YAML, or --render-only DIR")
    elif _is_lesion_study(study):  # one lesion per row: the lesion stage trains and scores it
        if arm or set_:
            raise ConfigError(f"{study.name}: --arm and --set are not available for a lesion "
                              "study (task: lesion); edit its arms or use its tiny overrides")
        from osteoscan.service.cli_lesions import compare as lesion_compare

        lesion_compare(study, out, tiny=tiny)
        return
    else:
        spec = load_study(study, tiny=tiny, overrides=set_, arms=arm)
        with _progress() as progress:
            task = progress.add_task("training arms", total=None)

            def step(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=label)

            run_study(spec, out, on_step=step)
        summary = aggregate_folder(out, out=out, n_boot=bootstrap, seed=seed)
    table = Table(title=f"comparison ({summary['protocol']})")
    for col in ("arm", "auc (pooled, 95% CI)", "auc mean +/- SD", "p vs best (Holm)"):
        table.add_column(col)
    for row in summary["arms"]:
        table.add_row(row["arm"], row["auc_pooled_text"], row["auc_folds_text"], row["p_text"])
    out_console.print(table)
    failed = summary.get("failed", [])
    if failed:
        console.print(f"[bold red]{len(failed)} arm(s) failed:[/] " + ", ".join(failed))
    exits.finish(bool(failed))


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``compare`` to the osteoscan app."""
    app.command("evaluate")(evaluate)
    app.command("compare")(compare)
