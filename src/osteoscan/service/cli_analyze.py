"""``osteoscan analyze``: probabilities, Grad-CAM, per-study reports and a worklist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.table import Table

from osteoscan.service import exits
from osteoscan.service._privacy import IdKey, NoPhi

console = Console(stderr=True)


def progress_bar() -> Progress:
    """The progress bar every long osteoscan command shows (with ETA)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[item]}"), console=console, transient=False)


def run_analyze(inputs: list[Path], out: Path, model: str | None, workers: int,
                reports: bool = True, masks: bool = False, threads: int | None = None,
                lesions: bool = True, redactor=None, lesion_models: Path | None = None):
    """Discover, analyze with a progress bar (osteoscan.workflows.analyze); returns the
    BatchResult. User errors (missing input, missing model) are raised before the bar."""
    from osteoscan.workflows.analyze import analyze_batch, check_model, discover

    tasks = discover(inputs)
    check_model(model)
    with progress_bar() as bar:
        job = bar.add_task("analyze", total=len(tasks), item="")
        result = analyze_batch(
            tasks, out, model=model, workers=workers, reports=reports, masks=masks, threads=threads,
            redactor=redactor,
            lesions=lesions, lesion_models=lesion_models,
            progress=lambda done, total, label: bar.update(job, completed=done, item=Path(label).name),
        )
    return result


def _print_skipped(records: list[dict]) -> None:
    """Files of study folders that were not used, once each; a file of another study in the
    same folder is that study's, not skipped."""
    seen: set[str] = set()
    for r in records:
        for file, reason in r.get("skipped") or ():
            if file not in seen and not reason.startswith("another study"):
                seen.add(file)
                console.print(f"[yellow]skipped[/] {file}: {reason}", soft_wrap=True)


def _summary(result) -> None:
    table = Table(title=f"{len(result.records)} studies analysed in {result.seconds:.1f} s",
                  show_lines=False)
    for col in ("patient", "study", "probability", "decision"):
        table.add_column(col)
    for r in sorted(result.records, key=lambda r: -r["probability"])[:15]:
        table.add_row(str(r["patient_id"]), str(r["study_id"])[-24:], f"{r['probability']:.3f}",
                      str(r["decision"]))
    console.print(table)
    _print_skipped(result.records)
    for f in result.failures:
        console.print(f"[red]failed[/] {f['input']}: {f['error']}")
    if result.interrupted:
        done = len(result.records) + len(result.failures)
        console.print(f"[bold yellow]interrupted[/]: {done} of {result.n_tasks} studies finished; "
                      "the worklist lists those", soft_wrap=True)
    console.print(f"worklist: {result.worklist[1]}" if result.worklist else "")


def analyze(
    inputs: Annotated[list[Path], typer.Argument(
        help="Studies: DICOM files, pictures, folders (searched recursively) or manifest CSVs.")],
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Run folder, checkpoint folder or model.json; default: the bundled reference model.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("osteoscan-analyze"),
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, help="Worker processes (one torch thread each).")] = 2,
    reports: Annotated[bool, typer.Option(
        "--reports/--no-reports", help="Write a per-study HTML report.")] = True,
    masks: Annotated[bool, typer.Option(
        "--masks/--no-masks", help="Include hotspot masks (run-length encoded) in the JSON.")] = False,
    lesions: Annotated[bool, typer.Option(
        "--lesions/--no-lesions", help="Run the lesion stage (hotspots, regions, BSI).")] = True,
    lesion_models: Annotated[Path | None, typer.Option(
        "--lesion-models", help="Folder of your own lesion stage (lesions train --out, or a "
                                "lesions cv fold's models/: a hotspot detector or the lesion "
                                "networks) instead of the bundled lesion stage.")] = None,
    no_phi: NoPhi = False,
    id_key: IdKey = None,
) -> None:
    """Analyze studies: probability of metastasis, Grad-CAM, reports, worklist. Research use only.

    Exit code 0 when every study succeeded, 1 when some (or all) failed (they are listed),
    2 for a user error (nothing analysed), 130 when interrupted.
    """
    from osteoscan.io.redact import make_redactor

    result = run_analyze(inputs, out, model, workers, reports=reports, masks=masks,
                         lesions=lesions, redactor=make_redactor(no_phi, id_key),
                         lesion_models=lesion_models)
    _summary(result)
    if result.interrupted:
        raise typer.Exit(exits.INTERRUPTED)
    exits.finish(bool(result.failures))


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the osteoscan command."""
    app.command("analyze")(analyze)
