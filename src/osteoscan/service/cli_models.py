"""``osteoscan models``: list the model registry and show one entry (thin layer over the API)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _list(
    family: Annotated[
        str | None, typer.Option("--family", help="Only 'cnn' or 'transformer' models.")
    ] = None,
) -> None:
    """List every registered model with its family, source, size rule and paper."""
    from osteoscan.models import list_models, model_info

    table = Table(title="osteoscan models")
    for col in ("name", "family", "source", "built from", "Grad-CAM layer", "size rule", "paper"):
        table.add_column(col)
    for name in list_models():
        info = model_info(name)
        if family and info.family != family:
            continue
        table.add_row(
            name,
            info.family,
            info.source,
            info.timm_name or "-",
            info.gradcam_layer,
            info.size_rule or f">= {info.min_img_size[0]}x{info.min_img_size[1]}",
            info.paper or "-",
        )
    Console().print(table)  # made per call: the width follows COLUMNS at call time


def _info(
    name: Annotated[str, typer.Argument(help="Registry name, e.g. inrac18 or swin_base.")],
    params: Annotated[
        bool,
        typer.Option(
            "--params", help="Build the full model (random weights) and count parameters."
        ),
    ] = False,
    in_chans: Annotated[
        int, typer.Option("--in-chans", help="Input channels for --params (1-3).")
    ] = 2,
) -> None:
    """Show one model's registry entry (and, with --params, its parameter count)."""
    from dataclasses import asdict

    from osteoscan.models import create_model, model_info

    info = model_info(name)
    table = Table(title=name, show_header=False)
    for key, value in asdict(info).items():
        table.add_row(key, str(value))
    if params:
        classes = 1 if info.task == "lesion-classification" else 2  # one malignancy logit
        model = create_model(name, num_classes=classes, in_chans=in_chans, img_size=info.default_img_size)
        table.add_row("parameters", f"{sum(p.numel() for p in model.parameters()):,}")
    Console().print(table)  # made per call: the width follows COLUMNS at call time


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group to the hub."""
    group = typer.Typer(
        help="The model registry: architectures, sizes, Grad-CAM layers.", no_args_is_help=True
    )
    group.command("list")(_list)
    group.command("info")(_info)
    app.add_typer(group, name="models")
