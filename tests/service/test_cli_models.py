"""``osteoscan models list/info``."""

from __future__ import annotations

from typer.testing import CliRunner

from osteoscan.errors import ModelError
from osteoscan.service.cli import app


def test_models_list_shows_every_family():
    res = CliRunner().invoke(app, ["models", "list"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    for name in ("inrac18", "swin_base", "convnextv2_atto", "efficientnet_lite0"):
        assert name in res.output
    only = CliRunner().invoke(
        app, ["models", "list", "--family", "transformer"], env={"COLUMNS": "250"}
    )
    assert "swin_base" in only.output and "inrac18" not in only.output


def test_models_info_and_unknown_name():
    res = CliRunner().invoke(
        app, ["models", "info", "inrac18", "--params", "--in-chans", "1"], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    assert "layer4" in res.output and "11,25" in res.output  # 11.25 M parameters at 1 channel
    bad = CliRunner().invoke(app, ["models", "info", "resnet19"])
    assert bad.exit_code != 0 and isinstance(bad.exception, ModelError)
    assert "unknown model 'resnet19'" in str(bad.exception)
