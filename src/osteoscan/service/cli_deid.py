"""``osteoscan deid``: de-identify DICOM files (PS3.15 basic profile) into a new folder.

Exit codes: 0 every DICOM file written (files that are not DICOM and, with no
``--keep-burned-in``, burned-in files are skipped and listed); 1 some files failed (listed,
the others were written); 2 usage error, nothing done; 130 interrupted (what was written
stays, and is listed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from osteoscan.service import exits
from osteoscan.service._progress import counted_progress

console = Console(stderr=True)


def _summary(report, out: Path, interrupted: bool = False) -> None:
    for src, reason in report.skipped:
        console.print(f"[yellow]skipped[/] {src}: {reason}", soft_wrap=True)
    for src in report.burned_in:
        if any(s == src for s, _ in report.written):
            console.print(f"[yellow]warning[/] {src}: Burned In Annotation YES, written as asked; "
                          "its pixels may show a name or id (Patient Identity Removed = NO)")
    for src, reason in report.failed:
        console.print(f"[red]failed[/] {src}: {reason}", soft_wrap=True)
    head = "interrupted: " if interrupted else ""
    console.print(f"{head}{len(report.written)} written to {out}, {len(report.skipped)} skipped, "
                  f"{len(report.failed)} failed")


def _finish(run, report, out: Path, links: Path | None, interrupted: bool = False) -> None:
    if links is not None:
        console.print(f"link table (re-identifies the patients): {run.write_links(links)}")
    _summary(report, out, interrupted)


def deid(
    inputs: Annotated[list[Path], typer.Argument(
        help="DICOM files or folders (searched recursively). Never modified.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder: OUT/<new StudyInstanceUID>/<new SOPInstanceUID>.dcm.")],
    keep_burned_in: Annotated[bool, typer.Option(
        "--keep-burned-in", help="Also write files that declare Burned In Annotation YES "
        "(the profile does not clean pixels; they keep Patient Identity Removed = NO).")] = False,
    links: Annotated[Path | None, typer.Option(
        "--links", dir_okay=False, help="Also write a CSV linking each input and its original "
        "PatientID/StudyInstanceUID to the new ones (a re-identification key: keep it private; "
        "not allowed inside OUT).")] = None,
) -> None:
    """De-identify DICOM files: PS3.15 Basic Application Level Confidentiality Profile.

    Names, ids, dates, institutions, free text and private tags are removed or replaced;
    UIDs get new values, the same for every file of one run, so studies still group.
    Pixel data is not touched: text burned into the image stays (see docs/privacy.md).
    """
    from osteoscan.io.deid import Deidentifier, collect

    from osteoscan.errors import ConfigError

    if links is not None and links.resolve().is_relative_to(out.resolve()):
        raise ConfigError(f"--links {links}: the link table may not be written inside {out}")
    run = Deidentifier(keep_burned_in=keep_burned_in)
    candidates, report = collect(inputs, out)
    try:
        with counted_progress(console) as bar:
            job = bar.add_task("deid", total=len(candidates))
            for src in candidates:
                run.add(src, out, report)
                bar.advance(job)
    except KeyboardInterrupt:
        _finish(run, report, out, links, interrupted=True)
        raise typer.Exit(exits.INTERRUPTED) from None
    _finish(run, report, out, links)
    exits.finish(bool(report.failed))


def register(app: typer.Typer) -> None:
    """Add ``deid`` to the osteoscan command."""
    app.command("deid")(deid)
