"""``osteoscan demo``: argument parsing and a progress bar over :mod:`osteoscan.workflows.demo`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, \
    TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


def _bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description:<9}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[note]}"), console=console)


def _stage_callback(bar: Progress):
    """progress(stage, done, total, note) -> one rich task per stage."""
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int | None, note: str) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total, note=note)
        bar.update(tasks[stage], completed=done, total=total)

    return progress


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo-out"),
    quick: Annotated[bool, typer.Option("--quick", help="Smoke version (about a minute).")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", min=1, help="Worker processes for analyze (default: 2, or 1 with --quick).")] = None,
) -> None:
    """Simulate a 3-site cohort, train, evaluate (external site), analyze, and link it all."""
    from osteoscan.workflows.demo import run_demo

    t0 = time.perf_counter()
    with _bar() as bar:
        index = run_demo(out, quick=quick, workers=workers or (1 if quick else 2),
                         progress=_stage_callback(bar))
    console.print(f"demo finished in {time.perf_counter() - t0:.0f} s; open [bold]{index.resolve()}[/]")
    typer.echo(str(index.resolve()))


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the osteoscan command."""
    app.command("demo")(demo)
