"""``osteoscan train`` and ``osteoscan predict``: thin typer layers over osteoscan.training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from osteoscan.service import exits
from osteoscan.service._privacy import IdKey, NoPhi

console = Console(stderr=True)


def train(
    config: Annotated[Path, typer.Argument(help="Experiment config YAML (see configs/).")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value, e.g. --set optim.lr=3e-4 (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run folder (default runs/<config name>).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from RUN/last (epoch, optimizer, RNG).")] = False,
    init: Annotated[str | None, typer.Option(
        "--init", help="Initial weights: reference, imagenet-lite0, timm, a run folder or a "
                       ".safetensors file (overrides model.init).")] = None,
) -> None:
    """Train a model under a patient-level protocol; writes a run folder with checkpoints."""
    from osteoscan.training.trainer import train as run_training

    run = run_training(config, out, overrides=list(set_ or []), resume=resume, init=init,
                       progress=True)
    _print_run(run)


def _print_run(run: Path) -> None:
    from osteoscan.artefacts import read_card_file, run_cards
    from osteoscan.evaluation.statistics import ci_value

    cards = run_cards(run)
    table = Table(title=f"run folder {run}")
    for col in ("model", "best epoch", "val AUC", "test AUC (95% CI)", "threshold"):
        table.add_column(col)
    for path in cards:
        card = read_card_file(path)
        m = card.metrics
        val, test = m.get("val_auc", {}), m.get("test_auc", {})
        test_txt = (f"{ci_value(test):.3f} ({test['ci_low']:.3f}-{test['ci_high']:.3f})"
                    if test else "-")
        thr = card.threshold
        table.add_row(str(path.parent.relative_to(run)), str(card.training.get("best_epoch")),
                      f"{ci_value(val):.3f}", test_txt,
                      "-" if thr is None else f"{thr:.3f}")
    Console().print(table)


def predict(
    model: Annotated[str, typer.Argument(help="'reference', a run folder, a model.json or a .safetensors file.")],
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV of the studies to predict.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions CSV to write.")] = Path("predictions.csv"),
    label_column: Annotated[str | None, typer.Option(
        help="Manifest column with true labels (default: the model's label column).")] = None,
    batch_size: Annotated[int, typer.Option(help="Studies per forward pass.")] = 8,
    no_phi: NoPhi = False,
    id_key: IdKey = None,
) -> None:
    """Predict every study of a manifest; bad studies are listed and the exit code is 1."""
    from osteoscan.data.table import table_from_manifest
    from osteoscan.io.redact import make_redactor
    from osteoscan.training.predict import predict_manifest

    total = len(table_from_manifest(manifest))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("predicting", total=total)
        result = predict_manifest(model, manifest, output, label_column=label_column,
                                  batch_size=batch_size, on_study=lambda n: bar.update(task, advance=n),
                                  redactor=make_redactor(no_phi, id_key))
    console.print(f"wrote {len(result.frame)} predictions to {result.path}")
    if result.failed:
        console.print(f"[bold red]{len(result.failed)} studies failed:[/]")
        for sid, why in result.failed:
            console.print(f"  {sid}: {why}")
    exits.finish(bool(result.failed))


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``predict`` to the osteoscan app."""
    app.command("train")(train)
    app.command("predict")(predict)
