"""``osteoscan lesions ...``: train, evaluate and compare the lesion stage; inspect a study.

A thin layer over :mod:`osteoscan.lesions`; every figure it prints is in the JSON it writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from osteoscan.artefacts import atomic_write_json
from osteoscan.errors import ConfigError, OsteoscanError
from osteoscan.service import exits
from osteoscan.service._progress import counted_progress

log = logging.getLogger(__name__)
console = Console()
lesions_app = typer.Typer(help="Lesion stage: hotspots, skeletal regions, lesion classifier, BSI.",
                          no_args_is_help=True)


LabelMap = Annotated[Path | None, typer.Option(
    "--label-map", help="With a manifest: YAML mapping LabelMe label names to malignant, benign or "
    "ignore (docs/ingest.md); unknown names are one error listing them all.")]


def _progress() -> Progress:
    return counted_progress(console)


def _epochs(prog: Progress, tasks: dict[str, int]):
    """``progress(network, epoch, epochs, loss)`` drawing one bar per network in ``tasks``."""
    def cb(name: str, epoch: int, epochs: int, loss: float) -> None:
        if name not in tasks:
            tasks[name] = prog.add_task(name, total=epochs)
        prog.update(tasks[name], completed=epoch, description=f"{name} loss {loss:.3f}")

    return cb


def _sites(text: str) -> tuple[str, ...]:
    from osteoscan.simulate.sites import get_site

    sites = tuple(s.strip() for s in text.split(",") if s.strip())
    for s in sites:
        get_site(s)  # raises ConfigError naming the site
    return sites


def _simulate(n: int, seed: int, sites: str, difficulty: str):
    from osteoscan.lesions.pipeline import simulate_studies

    if n < 1:
        raise ConfigError(f"--simulate must be >= 1, got {n}")
    with _progress() as prog:
        prog.add_task(f"simulating {n} studies", total=None)
        return simulate_studies(n, seed, sites=_sites(sites), difficulty=difficulty)


@lesions_app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Folder for the three models (safetensors + JSON cards).")],
    simulate: Annotated[int, typer.Option("--simulate", help="Number of simulated training studies.")] = 160,
    sites: Annotated[str, typer.Option(help="Comma-separated simulated sites.")] = "site_a,site_b",
    difficulty: Annotated[str, typer.Option(help="easy, default, hard or 0..1.")] = "default",
    seed: Annotated[int, typer.Option(help="Simulation and training seed.")] = 0,
    seg_epochs: Annotated[int, typer.Option(help="Epochs of the hotspot U-Net.")] = 12,
    region_epochs: Annotated[int, typer.Option(help="Epochs of the region U-Net.")] = 12,
    clf_epochs: Annotated[int, typer.Option(help="Epochs of the lesion classifier.")] = 15,
    tiny: Annotated[bool, typer.Option("--tiny", help="Tiny networks (smoke runs).")] = False,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Train on a dataset manifest instead of simulating (docs/data-format.md).")] = None,
    supervision: Annotated[str, typer.Option(
        help="With --data: auto (mask where a row has lesion_masks, else its LabelMe outlines), "
        "mask, polygon (LabelMe polygons and rectangles) or box (box pseudo-masks).")] = "auto",
    label_map: LabelMap = None,
    init: Annotated[str, typer.Option(
        help="scratch, or bundled: fine-tune the bundled networks (as lesions cv --init bundled).")] = "scratch",
) -> None:
    """Train the hotspot U-Net, the region U-Net and the lesion classifier (simulated scans,
    or a manifest with masks, polygons or boxes). Unreadable rows are listed; exit code 1."""
    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.cv import INITS
    from osteoscan.lesions.pipeline import train_all

    if init not in INITS:
        raise ConfigError(f"--init must be one of {', '.join(INITS)}, got {init!r}")
    failures: list[tuple[str, str]] = []
    if data is not None:
        studies, failures = _studies(data, supervision, label_map)
    else:
        studies = _simulate(simulate, seed, sites, difficulty)
    with _progress() as prog:
        train_all(studies, out, seg_epochs=seg_epochs, region_epochs=region_epochs,
                  clf_epochs=clf_epochs, tiny=tiny, seed=seed, progress=_epochs(prog, {}),
                  init=LesionAnalyzer.default() if init == "bundled" else None)
    console.print(f"lesion models written to {out}")
    for study_id, problem in failures:
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    exits.finish(bool(failures))


def _fmt(value, ci=None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def _metrics_table(ev: dict) -> Table:
    table = Table(title=f"lesion stage ({ev['stage']}): {ev['studies']} studies, "
                        f"{ev['metastatic']} metastatic")
    table.add_column("figure")
    table.add_column("value (95% CI)", justify="right")
    patient, bsi = ev.get("patient") or {}, ev.get("bsi") or {}
    froc, ci = ev.get("froc_metastasis") or {}, ev.get("froc_metastasis_ci") or {}
    normals = ev["normals"]
    rows = [("patient AUC", _fmt(patient.get("auc"), patient.get("auc_ci"))),
            ("specificity at sensitivity 0.90",
             _fmt(patient.get("spec_at_sens90"), patient.get("spec_at_sens90_ci"))),
            ("FROC CPM (metastases)", _fmt(froc.get("cpm"), ci.get("cpm"))),
            ("sensitivity at 1 FP per scan", _fmt(froc.get("sens@1"), ci.get("sens@1"))),
            ("FROC CPM (all lesions)", _fmt(ev["froc_detection"]["cpm"])),
            ("normals: median malignant lesions", _fmt(normals["median"])),
            ("normals with >= 2 malignant (%)", _fmt(normals["pct_ge2"])),
            ("BSI Pearson r", _fmt(bsi.get("pearson_r"), bsi.get("pearson_r_ci"))),
            ("BSI bias (pred - truth)", _fmt(bsi.get("bias"))),
            ("lesion AUC (delineated)", _fmt((ev["lesion_auc_delineated"] or {}).get("value"))),
            ("seconds per study", _fmt(ev["seconds_per_study"]))]
    for name, value in rows:
        table.add_row(name, value)
    return table


def lesion_stage(models: Path | None):
    """Your lesion stage from ``models`` (a detector fold or the three networks), else the
    bundled default (the detector)."""
    from osteoscan.errors import ModelError
    from osteoscan.lesions.patient import bundled_lesion_stage, load_lesion_stage

    if models is not None:
        return load_lesion_stage(models)
    stage = bundled_lesion_stage()
    if stage is None:
        raise ModelError("no bundled lesion stage is installed: pass --models FOLDER")
    return stage


ModelsOpt = Annotated[Path | None, typer.Option(
    help="Folder of your own lesion stage: a detector (lesions cv --stage detector) or the three "
    "networks (lesions train). Default: the bundled detector, as analyze uses.")]


@lesions_app.command("evaluate")
def evaluate(
    out: Annotated[Path, typer.Option("--out", help="JSON file for the metrics.")],
    models: ModelsOpt = None,
    simulate: Annotated[int, typer.Option("--simulate", help="Number of simulated test studies.")] = 40,
    sites: Annotated[str, typer.Option(help="Comma-separated simulated test sites.")] = "site_c",
    difficulty: Annotated[str, typer.Option(help="easy, default, hard or 0..1.")] = "default",
    seed: Annotated[int, typer.Option(help="Simulation seed (keep apart from training seeds).")] = 10_000,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Evaluate on a dataset manifest instead of simulating (docs/data-format.md).")] = None,
    label_map: Annotated[Path | None, typer.Option(
        "--label-map", help="With --data: YAML mapping LabelMe label names to malignant, benign "
        "or ignore (docs/ingest.md).")] = None,
) -> None:
    """Patient AUC, FROC, normals, BSI agreement (with 95 % CIs) and the lesion confusion matrix
    of the lesion stage on simulated scans, or on your manifest (--data). Unreadable rows are
    listed; exit code 1."""
    from osteoscan.lesions.scoring import evaluate as run_eval

    _sites(sites)  # check the options before loading anything
    failures: list[tuple[str, str]] = []
    if data is not None:
        from osteoscan.lesions.data import studies_from_manifest

        studies, failures = studies_from_manifest(data, "auto", label_map=label_map)
        if not studies:
            raise ConfigError(f"{data.name}: no usable study ({len(failures)} failed)")
    stage = lesion_stage(models)
    if data is None:
        studies = _simulate(simulate, seed, sites, difficulty)
    with _progress() as prog:
        task = prog.add_task(f"analyzing {len(studies)} studies", total=len(studies))
        ev = run_eval(stage, studies, progress=lambda k, n: prog.update(task, completed=k))
    atomic_write_json(out, ev, default=float)
    console.print(_metrics_table(ev))
    console.print(f"metrics written to {out}")
    for study_id, problem in failures:
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    exits.finish(bool(failures))


@lesions_app.command("compare")
def compare(
    config: Annotated[Path, typer.Argument(help="Study YAML (e.g. configs/papers/lesion_level.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (osteoscan compare layout).")],
    tiny: Annotated[bool, typer.Option("--tiny", help="Apply the config's tiny overrides.")] = False,
) -> None:
    """Benign/malignant lesion classifiers under patient-level k-fold CV (AUC by burden, primary)."""
    from osteoscan.lesions.compare import compare_classifiers, load_study_config
    from osteoscan.lesions.training import classifier_samples

    cfg = load_study_config(config, tiny=tiny)
    sim = cfg["data"]["simulate"]
    studies = _simulate(int(sim["n"]), int(sim.get("seed", 0)), ",".join(sim.get("sites", ["site_a"])),
                        str(sim.get("difficulty", "default")))
    samples = classifier_samples(studies)
    atomic_write_json(out / "study.json", cfg, default=float)
    with _progress() as prog:
        task = prog.add_task("folds", total=len(cfg["arms"]) * cfg["protocol"]["folds"])
        summary = compare_classifiers(
            samples, cfg["arms"], out, folds=cfg["protocol"]["folds"], seed=cfg.get("seed", 0),
            epochs=cfg["optim"]["epochs"],
            progress=lambda arm, k, n: prog.update(task, advance=1, description=f"{arm} fold {k}/{n}"))
    table = Table(title=f"{cfg.get('name', 'lesion study')}: lesion AUC")
    for col in ("arm", "AUC", "95% CI", "<=3", "4-6", ">6"):
        table.add_column(col)

    def f(v):
        return "-" if v is None else f"{v:.3f}"

    for arm, b in summary.items():
        o = b["overall"]
        table.add_row(arm, f(o["value"]), f"{f(o['ci_low'])}-{f(o['ci_high'])}",
                      *[f(b["by_burden"][g]["value"]) for g in ("<=3", "4-6", ">6")])
    console.print(table)


def _studies(data: Path, supervision: str, label_map: Path | None = None):
    """Every readable row of a manifest as a LesionStudy (with a spinner), and the failures."""
    from osteoscan.lesions.data import SUPERVISION, studies_from_manifest

    if supervision not in SUPERVISION:
        raise ConfigError(f"--supervision must be one of {', '.join(SUPERVISION)}, got {supervision!r}")
    with _progress() as prog:
        prog.add_task(f"reading {data.name}", total=None)
        studies, failures = studies_from_manifest(data, supervision, label_map=label_map)
    if not studies:
        raise ConfigError(f"{data.name}: no usable study ({len(failures)} failed)")
    return studies, failures


def _cv_table(summary: dict) -> Table:
    table = Table(title=f"lesions cv: {summary['n_lesions']} lesions, {summary['n_studies']} studies, "
                        f"{summary['n_patients']} patients")
    for col in ("figure", "value", "95% CI (patient bootstrap)"):
        table.add_column(col)

    def f(v):
        return "-" if v is None or v != v else f"{v:.3f}"

    for name in ("lesion_auc", "patient_auc", "lesion_sensitivity", "lesion_specificity",
                 "patient_sensitivity", "patient_specificity"):
        b = summary[name]
        table.add_row(name, f(b["value"]), f"{f(b['ci_low'])}-{f(b['ci_high'])}")
    for group, b in summary["by_burden"].items():
        table.add_row(f"lesion AUC, burden {group} (n={b['n']})", f(b["value"]),
                      f"{f(b['ci_low'])}-{f(b['ci_high'])}")
    return table


@lesions_app.command("cv")
def cv(
    manifest: Annotated[Path, typer.Argument(help="Dataset manifest with annotated studies (docs/data-format.md).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (summary.json, lesions_oof.csv, studies_oof.csv).")],
    folds: Annotated[int, typer.Option(help="Patient-grouped, stratified folds.")] = 5,
    stage: Annotated[str, typer.Option(
        help="detector (the hotspot-first detector analyze ships) or cnn (the three lesion networks).")] = "detector",
    init: Annotated[str, typer.Option(help="bundled (start from the bundled models) or scratch.")] = "bundled",
    bundled_rule: Annotated[str | None, typer.Option(
        help="detector with --init bundled: stage2 (the default: a second tree stage of your own "
        "on the bundled first stage's probabilities, with the patient model and calibration), "
        "patient (the bundled trees, their patient model and calibration refitted on your "
        "studies) or none (the bundled detector as it is).",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Fold and training seed.")] = 0,
    supervision: Annotated[str, typer.Option(
        help="auto (mask where a row has lesion_masks, else its LabelMe outlines), mask, polygon "
        "or box (box pseudo-masks).")] = "auto",
    label_map: LabelMap = None,
    seg_epochs: Annotated[int, typer.Option(help="Epochs of the hotspot U-Net per fold.")] = 12,
    region_epochs: Annotated[int, typer.Option(help="Epochs of the region U-Net per fold (region maps only).")] = 12,
    clf_epochs: Annotated[int, typer.Option(help="Epochs of the lesion classifier per fold.")] = 15,
    tiny: Annotated[bool, typer.Option("--tiny", help="Tiny networks (cnn, with --init scratch) or small "
                                                      "forests (detector); smoke runs.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the folds already written in --out.")] = False,
) -> None:
    """Cross-validate the lesion stage on your cohort: patient-grouped stratified folds, lesion
    and patient AUC with patient-bootstrap CIs (docs/lesions.md). Unreadable rows: exit code 1."""
    from osteoscan.lesions.cv import BUNDLED_RULE, CVSettings, cross_validate

    settings = CVSettings(folds=folds, init=init, stage=stage, seed=seed, seg_epochs=seg_epochs,
                          bundled_rule=bundled_rule or BUNDLED_RULE,
                          region_epochs=region_epochs, clf_epochs=clf_epochs, tiny=tiny)
    studies, failures = _studies(manifest, supervision, label_map)
    with _progress() as prog:
        fold_task = prog.add_task(f"folds ({stage}, {init})", total=None)
        tasks: dict[str, int] = {}

        def on_fold(done: int, total: int) -> None:
            prog.update(fold_task, completed=done, total=total)
            for task in tasks.values():
                prog.remove_task(task)
            tasks.clear()

        summary = cross_validate(studies, out, settings, resume=resume, on_fold=on_fold,
                                 progress=_epochs(prog, tasks))
    console.print(_cv_table(summary))
    console.print(f"written to {out}: summary.json, lesions_oof.csv, studies_oof.csv")
    for study_id, problem in failures:
        console.print(f"[red]skipped[/] {study_id}: {problem}")
    exits.finish(bool(failures))


@lesions_app.command("show")
def show(
    study: Annotated[Path, typer.Argument(help="A study file or folder (DICOM, PNG...).")],
    models: ModelsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the lesion JSON here.")] = None,
) -> None:
    """Run the lesion stage on one study and print its region table, BSI and probability."""
    from osteoscan.io import load_study

    scan = load_study(study)
    result = lesion_stage(models).analyze(scan)
    from osteoscan.reporting.html import REGION_HEADERS

    table = Table(title=f"{study.name}: p(metastasis) {result.probability:.2f}, "
                        f"{result.malignant_count} lesion(s) called malignant, BSI {result.bsi:.2f} %")
    keys = ("region", "hotspots", "malignant", "involvement", "bsi")
    for key in keys:
        table.add_column(REGION_HEADERS[key])
    for r in result.regions:
        table.add_row(r.region.replace("_", " "), str(r.hotspots), str(r.malignant),
                      f"{100 * r.involvement:.2f}", f"{r.bsi:.2f}")
    console.print(table)
    if out:
        atomic_write_json(out, result.to_dict(), default=float)


def register(app: typer.Typer) -> None:
    """Add the ``lesions`` command group to the hub."""
    app.add_typer(lesions_app, name="lesions")


__all__ = ["register", "OsteoscanError"]
