"""``osteoscan simulate``: write a simulated multi-site cohort (DICOM + manifest + truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


def _site_names(site: list[str] | None, profile_seed: int | None, n_profiles: int
                ) -> tuple[str, ...]:
    """The named sites plus the generated profiles asked for (site_a when none)."""
    from osteoscan.errors import ConfigError
    from osteoscan.simulate.sites import profile_names

    if n_profiles < 1 or (profile_seed is not None and profile_seed < 0):
        raise ConfigError(f"--n-profiles {n_profiles} / --profile-seed {profile_seed}: "
                          "use a positive count and a non-negative seed")
    generated = profile_names(profile_seed, n_profiles) if profile_seed is not None else ()
    return tuple(site or ()) + generated or ("site_a",)


def _layouts(captures: str | None) -> tuple[str, ...] | None:
    """The --captures layouts ('all' or comma-separated), checked; None without the option."""
    from osteoscan.simulate.captures import LAYOUTS, check_layouts

    if captures is None:
        return None
    names = LAYOUTS if captures.strip() == "all" else tuple(
        x.strip() for x in captures.split(",") if x.strip())
    check_layouts(names)
    return names


def _simulate(
    out: Annotated[Path, typer.Argument(help="Output folder (created).")],
    n: Annotated[int, typer.Option("--n", help="Number of studies.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Cohort seed (same seed, same files).")] = 0,
    site: Annotated[list[str] | None, typer.Option(
        "--site", help="Site profile (repeat for several): site_a, site_b, site_c, or "
        "profile_<seed> (a generated profile).")] = None,
    profile_seed: Annotated[int | None, typer.Option(
        "--profile-seed", help="Add generated site profiles profile_<seed>, profile_<seed+1>, ... "
        "(drawn from the ranges of real cameras; docs/simulator.md).")] = None,
    n_profiles: Annotated[int, typer.Option(
        "--n-profiles", help="How many generated profiles --profile-seed adds.")] = 1,
    difficulty: Annotated[str, typer.Option(
        "--difficulty", help="easy, default, hard, or a number in 0..1.")] = "default",
    prevalence: Annotated[float, typer.Option(
        "--prevalence", help="Fraction of patients with metastases.")] = 0.5,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    uptake_balance: Annotated[bool, typer.Option(
        "--uptake-balance", help="Give each patient his own balance of normal uptake between "
        "the skeleton's parts (spine and pelvis against ribs, skull and limbs; "
        "docs/simulator.md, Physiology).")] = False,
    captures: Annotated[str | None, typer.Option(
        "--captures", help="Write reading-station screen captures (JPEG + LabelMe boxes in "
        "picture pixels + label_map.yaml) instead of DICOM: 'all' or comma-separated layouts "
        "(plain, black, framed, spots, laterals, header, wide; docs/ingest.md).")] = None,
) -> None:
    """Simulate whole-body bone scans with ground truth, written as each site's scanner would
    (or, with --captures, as screen captures of a reading station)."""
    from osteoscan.simulate import get_site, write_capture_cohort, write_cohort
    from osteoscan.simulate.study import difficulty_value

    console = Console(stderr=True)
    sites = _site_names(site, profile_seed, n_profiles)
    for name in sites:  # fail before the progress bar starts
        get_site(name)
    difficulty_value(difficulty)
    layouts = _layouts(captures)
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("simulate", total=n)
        tick = lambda done: bar.update(task, completed=done)  # noqa: E731
        if layouts is not None:
            manifest = write_capture_cohort(out, n, layouts=layouts, seed=seed, sites=sites,
                                            difficulty=difficulty, prevalence=prevalence,
                                            uptake_balance=uptake_balance, progress=tick)
        else:
            manifest = write_cohort(out, n, seed=seed, sites=sites, difficulty=difficulty,
                                    workers=workers, prevalence=prevalence,
                                    uptake_balance=uptake_balance, progress=tick)
    console.print(f"[green]wrote[/] {n} studies; manifest: {manifest}")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the osteoscan app."""
    app.command("simulate")(_simulate)
