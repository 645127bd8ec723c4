"""``osteoscan seg3d ...``: 3-D SPECT/CT lesion segmentation (simulate, train, predict, evaluate).

A thin layer over :mod:`osteoscan.workflows.seg3d` and :mod:`osteoscan.volumetric`
(docs/seg3d.md); every figure it prints is in the JSON or CSV it writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from osteoscan.errors import ConfigError
from osteoscan.service import exits

log = logging.getLogger(__name__)
console = Console()
seg3d_app = typer.Typer(help="3-D SPECT/CT bone-lesion segmentation, instances and origin.",
                        no_args_is_help=True)
MODEL_HELP = "Checkpoint folder from `seg3d train`, or `bundled` (the bundled segmenter)."
INIT_HELP = "Transfer learning: start from this checkpoint (`bundled`: the bundled segmenter)."


def _ints(text: str, n: int, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError as exc:
        raise ConfigError(f"{what}: expected {n} comma-separated integers, got {text!r}") from exc
    if len(values) != n or min(values) < 1:
        raise ConfigError(f"{what}: expected {n} positive comma-separated integers, got {text!r}")
    return values


@seg3d_app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Argument(help="Folder for the cohort (manifest.csv, one folder per study).")],
    n: Annotated[int, typer.Option("--n", help="Number of studies.")] = 20,
    profile: Annotated[list[str], typer.Option(
        "--profile", help="Site profile(s) profile_<seed>, taken in turn (repeatable).")] = ("profile_1",),
    shape: Annotated[str | None, typer.Option(help="CT grid z,y,x (the torso's size is fixed; default 96,128,128).")] = None,
    ct_spacing: Annotated[str | None, typer.Option(
        "--ct-spacing", help="CT voxel instead of --shape: 'profile' (each site's slice "
        "thickness 1.25-5 mm and pixel) or SLICE,PIXEL in mm.")] = None,
    seed: Annotated[int, typer.Option(help="Cohort seed (patients and profile draws).")] = 0,
    dicom: Annotated[bool, typer.Option("--dicom", help="Also write DICOM CT series and NM SPECT.")] = False,
) -> None:
    """Simulate SPECT/CT studies with their lesion truth (NIfTI; --dicom adds DICOM)."""
    from osteoscan.workflows.seg3d import simulate_cohort

    if n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")
    if shape is not None and ct_spacing is not None:
        raise ConfigError("--shape and --ct-spacing both set the CT grid: give one")
    formats = ("nifti", "dicom") if dicom else ("nifti",)
    manifest = simulate_cohort(out, n, seed=seed, profiles=list(profile),
                               shape=_ints(shape or "96,128,128", 3, "--shape"), formats=formats,
                               spacing=_spacing(ct_spacing))
    console.print(f"{n} studies written, manifest {manifest}")


def _spacing(text: str | None):
    """--ct-spacing: None, "profile" or a (slice, pixel) pair of positive mm."""
    if text is None or text == "profile":
        return text
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise ConfigError(f"--ct-spacing: 'profile' or SLICE,PIXEL in mm, got {text!r}") from exc
    if len(values) != 2:
        raise ConfigError(f"--ct-spacing: 'profile' or SLICE,PIXEL in mm, got {text!r}")
    return values


def _settings(arch: str, channels: str, epochs: int, patch: str, spacing: float, widths: str,
              samples: int, lr: float, seed: int, tiny: bool, negatives: str = "any",
              crops: str = "posneg", loss: str = "voxel", modality_dropout: float = 0.0,
              kind_weights: dict | None = None):
    from osteoscan.volumetric.training import Seg3DSettings

    return Seg3DSettings(
        architecture=arch, channels=channels, epochs=epochs, patch=_ints(patch, 3, "--patch"),
        spacing_mm=spacing, widths=tuple(int(w) for w in widths.split(",")) if widths else None,
        samples_per_case=samples, lr=lr, seed=seed, tiny=tiny, negatives=negatives,
        crops=crops, loss=loss, modality_dropout=modality_dropout,
        kind_weights=kind_weights or {}).check()


def _kind_weights(items: list[str]) -> dict[str, float]:
    """--kind-weight KIND=FACTOR (repeatable) as a dict; the kinds are checked by the
    settings."""
    out = {}
    for item in items:
        kind, _, factor = item.partition("=")
        try:
            out[kind.strip()] = float(factor)
        except ValueError as exc:
            raise ConfigError(f"--kind-weight: KIND=FACTOR, got {item!r}") from exc
    return out


@seg3d_app.command("train")
def train(
    data: Annotated[Path, typer.Argument(help="Training cohort (manifest.csv, from `seg3d simulate`).")],
    out: Annotated[Path, typer.Option("--out", help="Checkpoint folder (or, with --cv, the study folder).")],
    arch: Annotated[list[str], typer.Option(
        "--arch", help="3-D network(s) from `osteoscan models list` (repeatable with --cv).")] = ("mtunet3d",),
    channels: Annotated[str, typer.Option(help="spect, ct, spectct or spectct2w (SPECT, CT bone window, CT trabecular window).")] = "spectct",
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    patch: Annotated[str, typer.Option(help="Patch / sliding-window ROI z,y,x in voxels.")] = "32,48,48",
    spacing: Annotated[float, typer.Option(help="Isotropic voxel size (mm) the network works at.")] = 4.0,
    widths: Annotated[str, typer.Option(help="Channel widths per level ('' = the entry's).")] = "8,16,32",
    samples: Annotated[int, typer.Option(help="Patches per case and epoch.")] = 4,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    tiny: Annotated[bool, typer.Option("--tiny", help="The registry's tiny variants.")] = False,
    cv: Annotated[int, typer.Option("--cv", help="k-fold patient-level comparison of every --arch (0: one model on all cases).")] = 0,
    init: Annotated[str | None, typer.Option("--init", help=INIT_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    negatives: Annotated[str, typer.Option(help="Centre negative patches on 'any' non-lesion voxel or on 'bone' (hard negatives).")] = "any",
    crops: Annotated[str, typer.Option(help="Centre lesion patches on any lesion voxel ('posneg') or equally on each lesion type ('kind').")] = "posneg",
    loss: Annotated[str, typer.Option(help="Weigh the cross-entropy per voxel ('voxel') or so that each lesion weighs the same whatever its size ('lesion').")] = "voxel",
    modality_dropout: Annotated[float, typer.Option(help="Probability per training patch that the SPECT channel is zeroed, so the network must find lesions from CT alone (0: never; 1: always, a CT-only network).")] = 0.0,
    kind_weight: Annotated[list[str], typer.Option("--kind-weight", help="KIND=FACTOR: multiply the loss weight of every lesion of that kind (e.g. osteolytic=4; needs --loss lesion; repeatable).")] = (),
) -> None:
    """Train a network and its origin model, or compare networks under k-fold CV (--cv)."""
    from osteoscan.workflows.seg3d import cross_validate, read_cases, train_and_fit

    cases = read_cases(data)
    made = {a: _settings(a, channels, epochs, patch, spacing, widths, samples, lr, seed, tiny,
                         negatives, crops, loss, modality_dropout, _kind_weights(kind_weight))
            for a in arch}
    if cv:
        result = cross_validate(cases, made, out, k=cv, seed=seed, resume=resume,
                                on_step=lambda s: console.print(f"training {s}"))
        _print_table(result["table"], f"{cv}-fold comparison ({len(cases)} cases)")
        return
    if len(made) != 1:
        raise ConfigError("several --arch need --cv K (one model is trained otherwise)")
    train_and_fit(cases, made[arch[0]], out, resume=resume, init=init,
                  on_epoch=lambda e, n, loss: console.print(f"epoch {e}/{n}: loss {loss:.4f}"))
    console.print(f"model written to {out}")


def _print_table(frame, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)


@seg3d_app.command("predict")
def predict(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    inputs: Annotated[list[Path], typer.Argument(help="Study folders (ct/ or ct.nii.gz, spect.dcm or spect.nii.gz), or CT series folders / NIfTI files.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (one sub-folder per input).")],
    spect: Annotated[Path | None, typer.Option("--spect", help="The SPECT of a single CT input.")] = None,
    sw_batch_size: Annotated[int, typer.Option(help="Sliding-window batch (memory grows with it).")] = 1,
) -> None:
    """NIfTI masks, lesions.json and a DICOM Segmentation referencing the source CT.

    A failed input is listed and the others go on (exit code 1)."""
    from osteoscan.errors import OsteoscanError
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.workflows.seg3d import find_inputs, predict_study

    if spect is not None and len(inputs) != 1:
        raise ConfigError("--spect pairs with a single CT input")
    segmenter = Segmenter3D.from_checkpoint(model, sw_batch_size=sw_batch_size)
    failed = []
    for path in inputs:
        try:
            ct_path, spect_path = find_inputs(path, spect)
            summary = predict_study(segmenter, ct_path, spect_path, out / path.name.split(".")[0])
            console.print(f"{path.name}: {len(summary['lesions'])} lesions -> "
                          f"{', '.join(summary['files'])}")
        except OsteoscanError as exc:
            failed.append(path.name)
            console.print(f"[red]failed[/red] {exc}", markup=True)
    if failed:
        console.print(f"{len(failed)} input(s) failed: {', '.join(failed)}")
    exits.finish(bool(failed))


@seg3d_app.command("evaluate")
def evaluate(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    data: Annotated[Path, typer.Argument(help="Test cohort with truth (from `seg3d simulate`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for summary.json, scans.csv, lesions.csv.")],
    n_boot: Annotated[int, typer.Option(help="Patient-bootstrap replicates.")] = 2000,
    threshold: Annotated[float | None, typer.Option(
        help="Lesion where 1 - P(background) exceeds this (default: the card's, chosen by "
             "`seg3d select`, else 0.5).", min=0.0, max=1.0)] = None,
    min_size: Annotated[int | None, typer.Option(
        help="Smallest instance in model-grid voxels (default: the card's, else 2).",
        min=1)] = None,
    origin: Annotated[str | None, typer.Option(
        help="Which metastatic instances the patient's origin averages: 'mask' (those kept "
             "in the mask; all when none is) or 'all' (default: the card's, else 'all').")] = None,
) -> None:
    """DSC, IoU, HD95, voxel and lesion figures (FROC), origin AUC with DeLong CI."""
    from osteoscan.volumetric.infer import ORIGINS, Segmenter3D

    if origin is not None and origin not in ORIGINS:
        raise ConfigError(f"--origin: expected one of {', '.join(ORIGINS)}, got {origin!r}")
    _score(Segmenter3D.from_checkpoint(model, threshold=threshold, min_voxels=min_size,
                                       origin_over=origin), model.name, data, out, n_boot)


def _floats(text: str, what: str, kind=float) -> tuple:
    try:
        values = tuple(kind(v) for v in text.split(","))
    except ValueError as exc:
        raise ConfigError(f"{what}: expected comma-separated numbers, got {text!r}") from exc
    if not values or min(values) < 0:
        raise ConfigError(f"{what}: expected non-negative comma-separated numbers, got {text!r}")
    return values


@seg3d_app.command("select")
def select(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    data: Annotated[Path, typer.Argument(help="Selection cohort with truth (a profile used neither for training nor for testing).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the checkpoint with the chosen post-processing (the source is not changed).")],
    thresholds: Annotated[str, typer.Option(help="Lesion thresholds to try.")] = "0.3,0.4,0.5,0.6,0.7,0.8",
    min_sizes: Annotated[str, typer.Option(help="Smallest instance sizes (model-grid voxels) to try.")] = "2,4,8",
    min_p_lesion: Annotated[str, typer.Option(help="Smallest P(real lesion) of the card's lesion model to try.")] = "0,0.2,0.4,0.6",
    cuts: Annotated[str, typer.Option(help="Where that cut applies: 'all' (instances and mask), 'mask' (the mask only; every instance stays a ranked candidate), or both.")] = "all,mask",
    ct_path: Annotated[Path | None, typer.Option("--ct-path", help="Late fusion: a checkpoint run with its SPECT channels zeroed, whose lesions are added where MODEL marks none; MODEL's own post-processing stays as its card has it, the --ct-* values are chosen.")] = None,
    ct_thresholds: Annotated[str, typer.Option(help="CT path: lesion thresholds to try.")] = "0.5,0.7,0.9",
    ct_min_sizes: Annotated[str, typer.Option(help="CT path: smallest instance sizes to try.")] = "4,8,16",
    ct_min_p_lesion: Annotated[str, typer.Option(help="CT path: smallest P(real lesion) of its card's lesion model to try.")] = "0,0.2,0.4,0.6",
    ct_max_contrast_hu: Annotated[str, typer.Option(help="CT path: largest mean HU minus that of the bone around the instance to try ('none': no cut; use --ct-max-contrast-hu=-50,... for a leading minus).")] = "none,0,-50,-100",
    ct_fit: Annotated[Path | None, typer.Option("--ct-fit", help="CT path: refit its lesion and origin models on its CT-only instances of this cohort (a training cohort, never the selection or test one) before choosing.")] = None,
) -> None:
    """Choose the post-processing on a selection cohort (--ct-path: a fused CT path's)."""
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.postprocess import select_postprocessing, write_selected
    from osteoscan.workflows.seg3d import read_cases

    if ct_path is not None:
        _select_ct_path(model, data, out, ct_path, (ct_thresholds, ct_min_sizes,
                        ct_min_p_lesion, ct_max_contrast_hu), ct_fit)
        return
    tried = _floats(thresholds, "--thresholds")
    sizes = _floats(min_sizes, "--min-sizes", int)
    p_real = _floats(min_p_lesion, "--min-p-lesion")
    if max(tried) > 1 or max(p_real) > 1 or min(sizes) < 1:
        raise ConfigError("--thresholds and --min-p-lesion lie in 0..1, --min-sizes are >= 1")
    where = tuple(c.strip() for c in cuts.split(","))
    if not where or not set(where) <= {"all", "mask"}:
        raise ConfigError(f"--cuts: expected 'all', 'mask' or 'all,mask', got {cuts!r}")
    segmenter = Segmenter3D.from_checkpoint(model)
    choice = select_postprocessing(segmenter, read_cases(data), thresholds=tried,
                                   min_voxels=sizes, min_p_lesion=p_real, cuts=where)
    write_selected(segmenter, choice, out)
    _print_table(_frame(choice["table"]), f"post-processing on {data.name}")
    console.print(f"chosen: threshold {choice['threshold']:g}, min size "
                  f"{choice['min_voxels']} voxels, min P(lesion) {choice['min_p_lesion']:g} "
                  f"cutting {'the mask only' if choice['cut'] == 'mask' else 'everywhere'} "
                  f"({choice['criterion']}); written to {out}")


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows).round(3)


def _select_ct_path(model: Path, data: Path, out: Path, ct_run: Path, grid: tuple[str, ...],
                    fit: Path | None) -> None:
    """``seg3d select --ct-path``: the CT path's post-processing (docs/seg3d.md)."""
    from osteoscan.volumetric.fusion import CTPath
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.postprocess import select_ct_path, write_fused
    from osteoscan.volumetric.training import fit_instance_models
    from osteoscan.workflows.seg3d import read_cases

    tried, sizes = _floats(grid[0], "--ct-thresholds"), _floats(grid[1], "--ct-min-sizes", int)
    p_real = _floats(grid[2], "--ct-min-p-lesion")
    if max(tried) > 1 or max(p_real) > 1:
        raise ConfigError("--ct-thresholds and --ct-min-p-lesion lie in 0..1")
    try:
        hu = tuple(None if v.strip().lower() == "none" else float(v) for v in grid[3].split(","))
    except ValueError as exc:
        raise ConfigError(f"--ct-max-contrast-hu: expected numbers or 'none', got {grid[3]!r}") from exc
    segmenter, ct_net = Segmenter3D.from_checkpoint(model), Segmenter3D.from_checkpoint(ct_run)
    if fit is not None:  # the instance models of the CT-only pass, at the loosest setting tried
        ct_net = CTPath.of(ct_net, threshold=min(tried), min_voxels=min(sizes)).net
        console.print(f"CT path instance models refitted: "
                      f"{fit_instance_models(ct_net, read_cases(fit))}")
    choice = select_ct_path(segmenter, ct_net, read_cases(data), thresholds=tried,
                            min_voxels=sizes, min_p_lesion=p_real, max_contrast_hu=hu)
    write_fused(segmenter, ct_net, choice, out)
    _print_table(_frame(choice["table"]), f"CT path post-processing on {data.name}")
    best, alone = choice["best"], choice["primary"]
    console.print(f"chosen CT path: {choice['ct_path']}; criterion {best['criterion']:.3f} "
                  f"(DSC {best['dice_lesion']:.3f} + sens {best['sens@1.5']:.3f}) against "
                  f"{alone['criterion']:.3f} for {model.name} alone; written to {out}")


@seg3d_app.command("baseline")
def baseline(
    data: Annotated[Path, typer.Argument(help="Test cohort with truth (from `seg3d simulate`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for summary.json, scans.csv, lesions.csv.")],
    ratio: Annotated[float, typer.Option(
        help="SPECT / median bone uptake above which a voxel near CT bone is lesion.",
        min=1.0)] = 2.5,
    n_boot: Annotated[int, typer.Option(help="Patient-bootstrap replicates.")] = 2000,
) -> None:
    """The learning-free reference: SPECT hot spots in CT bone, scored like `evaluate`."""
    from osteoscan.volumetric.baseline import HotSpotBaseline

    _score(HotSpotBaseline(ratio=ratio), f"hotspot x{ratio:g}", data, out, n_boot)


def _score(segmenter, name: str, data: Path, out: Path, n_boot: int) -> None:
    from osteoscan.evaluation.volumes import summarise
    from osteoscan.workflows.seg3d import evaluate_cases, read_cases, write_evaluation

    records, lesions = evaluate_cases(segmenter, read_cases(data))
    summary = summarise(records, n_boot=n_boot)
    write_evaluation(records, lesions, summary, out)
    table = Table(title=f"{name} on {data.name} ({summary['n_scans']} scans)")
    for col in ("figure", "value", "95% CI"):
        table.add_column(col)
    for key in ("dice_lesion", "dice_metastatic", "iou_lesion", "hd95_lesion_mm",
                "sensitivity_voxel", "specificity_voxel"):
        v = summary[key]
        table.add_row(key, f"{v['value']:.3f}", f"{v['ci_low']:.3f}-{v['ci_high']:.3f}")
    froc = summary["froc"]
    if froc.get("n_lesions"):
        ci = froc.get("sens@1.5_ci", {})
        table.add_row("lesion sens @1.5 FP/scan", f"{froc['sens@1.5']:.3f}",
                      f"{ci.get('ci_low', float('nan')):.3f}-{ci.get('ci_high', float('nan')):.3f}")
    auc = summary["origin_auc"]
    table.add_row("origin AUC (lung)", f"{auc['value']:.3f}", f"{auc['ci_low']:.3f}-{auc['ci_high']:.3f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``seg3d`` command group to the hub."""
    app.add_typer(seg3d_app, name="seg3d")


__all__ = ["register", "exits"]
