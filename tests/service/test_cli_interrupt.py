"""``exit_code`` and Ctrl-C: a KeyboardInterrupt that Python wrapped in another error (it
does so when the signal lands in a class body run by a lazy import, as in Pillow's first
``save``) still exits 130 without a traceback; an error not caused by Ctrl-C is not hidden."""

from __future__ import annotations

import pytest
import typer

from osteoscan.service import cli, exits


def _app_raising(make_error) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise make_error()

    @app.command()
    def other() -> None:  # two commands: typer then wants the command's name
        pass

    return app


def _wrapped_interrupt() -> Exception:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise RuntimeError("Error calling __set_name__ on 'cached_property'") from ki
    except RuntimeError as exc:
        return exc


def _interrupt_during_handling() -> Exception:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ValueError("raised while the interrupt was handled")
    except ValueError as exc:
        return exc


@pytest.mark.parametrize("make_error", [KeyboardInterrupt, _wrapped_interrupt,
                                        _interrupt_during_handling])
def test_an_interrupt_however_wrapped_exits_130(monkeypatch, capsys, make_error):
    monkeypatch.setattr(cli, "app", _app_raising(make_error))
    assert cli.exit_code(["boom"]) == exits.INTERRUPTED
    assert "Traceback" not in capsys.readouterr().err


def test_an_error_without_an_interrupt_behind_it_propagates(monkeypatch):
    monkeypatch.setattr(cli, "app", _app_raising(lambda: RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.exit_code(["boom"])
