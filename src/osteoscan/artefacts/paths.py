"""Where artefacts live: bundled assets, run folders, checkpoint folders.

A run folder (``osteoscan train``) holds ``best/`` and ``last/`` checkpoint folders (k-fold
runs: ``fold<i>/best``); a checkpoint folder holds ``model.safetensors`` and ``model.json``.
"""

from __future__ import annotations

from pathlib import Path

from osteoscan.errors import ModelError

WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "model.json"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
"""The package's bundled models."""
REFERENCE_DIR = ASSETS_DIR / "reference"
"""The bundled reference classifier (model.json + model.safetensors)."""
LESION_ASSETS_DIR = ASSETS_DIR / "lesions"
"""The bundled lesion-stage models."""
SEG3D_DIR = ASSETS_DIR / "seg3d"
"""The bundled 3-D SPECT/CT lesion segmenter (``scripts/build_seg3d.py``)."""
BUNDLED_SEG3D = "bundled"
"""The name that stands for :data:`SEG3D_DIR` where a ``seg3d`` command takes a checkpoint."""
CHECKPOINT_SUBFOLDERS = ("", "best", "last", "fold0/best")
"""Where :func:`resolve_checkpoint` looks inside a folder, in order."""


def reference_dir() -> Path:
    """The bundled reference model's folder (read at call time, so tests can move it)."""
    return REFERENCE_DIR


def has_reference() -> bool:
    """True when the bundled reference model's card and weights are installed."""
    ref = reference_dir()
    return (ref / CARD_NAME).is_file() and (ref / WEIGHTS_NAME).is_file()


def require_reference() -> Path:
    """The bundled reference model's folder.

    Raises:
        ModelError: its card or weights are not installed.
    """
    ref = reference_dir()
    if not has_reference():
        raise ModelError(
            f"{ref}: the bundled reference model is missing (model.json + model.safetensors); "
            "reinstall osteoscan or pass a trained run with --model / Predictor.from_path()"
        )
    return ref


def seg3d_checkpoint(source: str | Path) -> Path:
    """The folder of a 3-D checkpoint: :data:`BUNDLED_SEG3D` names the bundled segmenter,
    anything else is taken as a path.

    Raises:
        ModelError: the bundled segmenter was asked for and is not installed.
    """
    if str(source) != BUNDLED_SEG3D:
        return Path(source)
    if not all((SEG3D_DIR / name).is_file() for name in (CARD_NAME, WEIGHTS_NAME)):
        raise ModelError(f"{SEG3D_DIR}: the bundled 3-D segmenter is missing (model.json + "
                         "model.safetensors); reinstall osteoscan or train one with "
                         "`osteoscan seg3d train` and pass its folder")
    return SEG3D_DIR


def resolve_checkpoint(source: str | Path) -> tuple[Path, Path]:
    """Find (weights file, card file) for a run folder, checkpoint folder, weights or card path.

    ``"reference"`` names the bundled reference model. A run folder resolves to ``best/``
    (then ``last/``); a k-fold run folder to ``fold0/best``.

    Raises:
        ModelError: nothing usable found.
    """
    path = reference_dir() if str(source) == "reference" else Path(source)
    if path.is_dir():
        for sub in CHECKPOINT_SUBFOLDERS:
            if (path / sub / CARD_NAME).is_file():
                path = path / sub / CARD_NAME
                break
        else:
            raise ModelError(f"{path.name}: no {CARD_NAME} in this folder or its best/ last/")
    if path.suffix == ".safetensors":
        weights, card = path, path.with_name(CARD_NAME)
        if not card.is_file():
            card = path.with_suffix(".json")
    elif path.suffix == ".json":
        card, weights = path, path.with_name(WEIGHTS_NAME)
    else:
        raise ModelError(f"{path.name}: expected a run folder, a .safetensors file or a model.json")
    for p in (weights, card):
        if not p.is_file():
            raise ModelError(f"{p.name}: not found (looked for it next to {path.name})")
    return weights, card


def run_cards(run: str | Path) -> list[Path]:
    """The best checkpoints' card files of a run folder (one, or one per fold)."""
    run = Path(run)
    return sorted(run.glob(f"best/{CARD_NAME}")) or sorted(run.glob(f"fold*/best/{CARD_NAME}"))


def fold_card(run: str | Path, fold: str) -> Path:
    """The card file of one fold's best checkpoint."""
    return Path(run) / fold / "best" / CARD_NAME


def final_card(run: str | Path) -> Path | None:
    """The card of a run's best checkpoint, else of its last one, else None."""
    run = Path(run)
    candidates = (run / "best" / CARD_NAME, run / "last" / CARD_NAME)
    return next((p for p in candidates if p.is_file()), None)
