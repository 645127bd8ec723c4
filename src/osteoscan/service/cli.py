"""The ``osteoscan`` command: a thin typer layer over the Python API.

Each group of commands lives in its own module under ``osteoscan.service`` and exposes
``register(app)``; :data:`COMMAND_MODULES` lists them. Errors a user can cause
(:class:`~osteoscan.errors.OsteoscanError`) are printed as one line, without a traceback,
unless ``--debug`` is given.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from osteoscan import __version__
from osteoscan.errors import OsteoscanError

COMMAND_MODULES: tuple[str, ...] = (
    # each module adds its commands through register(app); keep one line per module
    "cli_analyze",
    "cli_demo",
    "cli_dataset",
    "cli_evaluate",
    "cli_train",
    "cli_simulate",
    "cli_lesions",
    "cli_models",
    "cli_deid",
)

console = Console(stderr=True)
app = typer.Typer(
    name="osteoscan",
    help="Find bone metastases in whole-body bone scans: simulate, train, evaluate, analyze.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"osteoscan {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """osteoscan: open toolkit for bone metastases on bone scintigraphy. Research use only."""
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
        force=True,
    )


def is_debug() -> bool:
    """True when ``--debug`` was given (commands may print more detail)."""
    return _state["debug"]


for _name in COMMAND_MODULES:
    importlib.import_module(f"osteoscan.service.{_name}").register(app)


def run() -> None:
    """Console entry point: run the app, turning user errors into one line and exit 2."""
    try:
        app(standalone_mode=False)
    except OsteoscanError as exc:
        if _state["debug"]:
            raise
        console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
