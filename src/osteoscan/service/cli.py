"""The ``osteoscan`` command: a thin typer layer over the Python API.

Each group of commands lives in its own module under ``osteoscan.service`` and exposes
``register(app)``; :data:`COMMAND_MODULES` lists them. Errors a user can cause
(:class:`~osteoscan.errors.OsteoscanError`) are printed as one line, without a traceback,
unless ``--debug`` is given. Every command follows one exit-code convention
(:mod:`osteoscan.service.exits`): 0 all good, 1 finished with failed inputs or problems
found, 2 usage or user error (nothing done), 130 interrupted.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated

import click
import rich.markup
import typer
from rich.console import Console
from rich.logging import RichHandler

from osteoscan import __version__
from osteoscan.errors import OsteoscanError
from osteoscan.service import exits

COMMAND_MODULES: tuple[str, ...] = (
    # each module adds its commands through register(app); keep one line per module
    "cli_analyze",
    "cli_demo",
    "cli_dataset",
    "cli_evaluate",
    "cli_train",
    "cli_simulate",
    "cli_lesions",
    "cli_site",
    "cli_models",
    "cli_deid",
    "cli_seg3d",
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


for _name in COMMAND_MODULES:
    importlib.import_module(f"osteoscan.service.{_name}").register(app)


def exit_code(args: list[str] | None = None) -> int:
    """Run the app on ``args`` and return its exit code (the convention in
    :mod:`osteoscan.service.exits`): user errors and usage errors become one line on stderr
    and code 2, Ctrl-C code 130; ``--debug`` re-raises user errors with their traceback."""
    try:
        # standalone_mode=False: typer RETURNS the code of a typer.Exit (and 130 for Ctrl-C)
        rv = app(args=args, standalone_mode=False)
    except (OsteoscanError, OSError) as exc:  # OSError: permission denied, disk full...
        if _state["debug"]:
            raise
        _error(str(exc) if isinstance(exc, OsteoscanError) else f"{type(exc).__name__}: {exc}")
        return exits.USAGE
    except (typer.Abort, KeyboardInterrupt):
        console.print("interrupted", soft_wrap=True)
        return exits.INTERRUPTED
    except (typer.TyperException, click.ClickException) as exc:  # typer vendors its own click
        return _usage_error(exc)
    except Exception as exc:
        if not _interrupted(exc):
            raise
        console.print("interrupted", soft_wrap=True)
        return exits.INTERRUPTED
    return rv if isinstance(rv, int) else exits.OK


def _interrupted(exc: BaseException) -> bool:
    """True when a Ctrl-C caused ``exc``: Python turns a KeyboardInterrupt that lands in
    some places (a class body run by a lazy import, such as Pillow's first ``save``) into
    another error whose cause is the KeyboardInterrupt."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _error(message: str) -> None:
    # soft_wrap: one line whatever the terminal width (scripts grep stderr)
    message = " ".join(message.split())
    console.print(f"[bold red]error:[/] {rich.markup.escape(message)}", soft_wrap=True, highlight=False)


def _usage_error(exc: Exception) -> int:
    """Usage errors (unknown option or command, bad value): one line, exit 2. ``osteoscan``
    or a command group without arguments shows its help, also exit 2."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # typer has printed the help already
        return exits.USAGE
    hint = f" (try '{ctx.command_path} --help')" if ctx is not None else ""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    _error(message + hint)
    return exits.USAGE


def run() -> None:
    """Console entry point (``osteoscan``): exit with :func:`exit_code`."""
    sys.exit(exit_code(sys.argv[1:]))
