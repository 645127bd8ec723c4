"""``osteoscan dataset build|check``: thin typer layers over osteoscan.io.dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from osteoscan.service import exits
from osteoscan.service._progress import counted_progress

console = Console(stderr=True)
out_console = Console()
dataset_app = typer.Typer(
    help="Build and check dataset manifests (docs/data-format.md).", no_args_is_help=True
)


@dataset_app.command("build")
def build(
    folder: Annotated[
        Path, typer.Argument(help="Folder tree of DICOM files (searched recursively).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Manifest to write (default FOLDER/manifest.csv); its folder must contain FOLDER.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing manifest.")] = False,
) -> None:
    """Write a manifest with one row per DICOM study (PatientID + StudyInstanceUID).

    Exit code 0; 2 when the folder holds no readable study (nothing written)."""
    from osteoscan.errors import ConfigError, InputError
    from osteoscan.io.dataset import build_manifest
    from osteoscan.io.manifest import write_manifest

    output = output or folder / "manifest.csv"
    if output.exists() and not force:
        raise ConfigError(f"{output} exists; pass --force to overwrite it")
    with console.status(f"reading DICOM headers under {folder}"):
        table, skipped = build_manifest(folder, output)
    for path, reason in skipped:
        console.print(f"[yellow]skipped[/] {path}: {reason}")
    if len(table) == 0:  # nothing to write: a user error (exit 2), no empty manifest
        raise InputError(folder, f"no readable DICOM study ({len(skipped)} files skipped)")
    write_manifest(table, output)
    patients = table["patient_id"].nunique() if len(table) else 0
    out_console.print(
        f"wrote {output}: {len(table)} studies of {patients} patients "
        f"({len(skipped)} files skipped)"
    )


def _problems_table(report) -> Table:
    table = Table(title=f"{len(report.problems)} problem(s)")
    for col in ("line", "column", "severity", "problem"):
        table.add_column(col)
    for p in report.problems:
        colour = "red" if p.severity == "error" else "yellow"
        table.add_row(str(p.row + 2), p.column, f"[{colour}]{p.severity}[/]", p.problem)
    return table


def _counts_table(report) -> Table:
    counts = report.class_counts
    table = Table(title="studies per site and label")
    table.add_column("site")
    for label in counts.columns:
        table.add_column(str(label), justify="right")
    for site, row in counts.iterrows():
        table.add_row(str(site), *(str(int(v)) for v in row))
    return table


def _layouts_table(report) -> Table:
    table = Table(title=f"{len(report.layouts)} picture(s): layout found, what was left out")
    for col in ("line", "file", "layout and views", "discarded"):
        table.add_column(col, overflow="fold")
    for row, name, layout, gone in report.layouts:
        table.add_row(str(row + 2), name, layout, gone)
    return table


@dataset_app.command("check")
def check(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV to check.")],
    classes: Annotated[
        str | None, typer.Option(help="Allowed study labels, comma separated (default: any).")
    ] = None,
    label_map: Annotated[Path | None, typer.Option(
        "--label-map", help="YAML mapping annotation label names to malignant, benign or "
        "ignore (docs/ingest.md).")] = None,
) -> None:
    """Load every study; report unreadable files, duplicates, label problems, class counts and,
    per picture (screen capture), the layout found and what was discarded.

    Exit code 0 without errors (warnings allowed), 1 with errors."""
    from osteoscan.io.annotations import read_label_map
    from osteoscan.io.dataset import check_manifest
    from osteoscan.io.manifest import read_manifest

    m = read_manifest(manifest, validate=False)
    allowed = {c.strip() for c in classes.split(",") if c.strip()} if classes else None
    mapping = read_label_map(label_map) if label_map else None
    progress = counted_progress(console)
    with progress:
        task = progress.add_task("checking studies", total=len(m))
        report = check_manifest(m, classes=allowed, on_row=lambda _: progress.advance(task),
                                label_map=mapping)
    if report.layouts:
        out_console.print(_layouts_table(report))
    if report.problems:
        out_console.print(_problems_table(report))
    if len(report.class_counts):
        out_console.print(_counts_table(report))
    for pid, n in report.multi_study_patients.items():
        out_console.print(f"[yellow]patient {pid} has {n} studies[/] (keep them in one split)")
    warnings = len(report.problems) - report.n_errors
    out_console.print(
        f"{report.n_rows} rows, {report.n_loaded} loaded, {report.n_errors} error(s), "
        f"{warnings} warning(s)"
    )
    exits.finish(report.n_errors > 0)


def register(app: typer.Typer) -> None:
    """Add the ``dataset`` command group to the main app."""
    app.add_typer(dataset_app, name="dataset")
