"""The demo workflow: the whole pipeline on a simulated multi-site cohort, in minutes on a CPU.

Stages: simulate (DICOM + manifest, sites A and B for training, site C as the external
test site) -> train (patient-level external-site protocol, internal hold-out too) ->
evaluate (internal and external, 95% CIs) -> analyze a few external studies (reports,
worklist) -> ``index.html`` linking everything. ``quick=True`` is the smoke version that
the end-to-end test runs. Choices are documented in docs/analyze.md ("The demo").
Progress is reported through a callback (``osteoscan demo`` draws it with rich).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

StageProgress = Callable[[str, int, "int | None", str], None]
"""Called as ``progress(stage, done, total, note)`` when a stage starts and advances."""


def _quiet(stage: str, done: int, total: int | None, note: str) -> None:
    """The default progress callback: nothing."""


TRAIN_SITES = ("site_a", "site_b")
EXTERNAL_SITE = "site_c"


@dataclass(frozen=True)
class DemoPlan:
    """Sizes of one demo run.

    Attributes:
        n_studies: simulated studies (cycled over the three sites).
        size: network input (rows, cols).
        model: registry name; kwargs: its create_model keyword arguments.
        epochs: training epochs; batch_size: studies per step.
        n_analyze: external studies analysed with reports.
        n_boot: bootstrap replicates for the CIs.
        difficulty: simulator difficulty.
        init: initial weights ("reference" to fine-tune the bundled model) or None.
        lr: peak learning rate.
    """

    n_studies: int
    size: tuple[int, int]
    model: str
    kwargs: dict
    epochs: int
    batch_size: int
    n_analyze: int
    n_boot: int
    difficulty: str = "easy"
    init: str | None = None
    lr: float = 0.002


# The reference architecture (configs/reference.yaml): a narrow inRAC-18 on stacked views.
REFERENCE_MODEL = ("inrac18", {"widths": [16, 32, 64, 128], "stem_width": 16, "layers": [1, 1, 1, 1],
                               "reduction": 4})
QUICK = DemoPlan(n_studies=30, size=(256, 64), model=REFERENCE_MODEL[0], kwargs=REFERENCE_MODEL[1],
                 epochs=2, batch_size=8, n_analyze=3, n_boot=200)
FULL = DemoPlan(n_studies=240, size=(384, 96), model=REFERENCE_MODEL[0], kwargs=REFERENCE_MODEL[1],
                epochs=14, batch_size=16, n_analyze=8, n_boot=1000)


def plan_for(quick: bool) -> DemoPlan:
    """The quick plan, or the full plan fine-tuning the bundled reference when it is installed."""
    if quick:
        return QUICK
    from osteoscan.artefacts import paths, read_card

    if not (paths.reference_dir() / paths.CARD_NAME).is_file():
        return FULL
    card = read_card(paths.reference_dir())
    kwargs = {k: v for k, v in card.model_kwargs.items() if k not in ("num_classes", "in_chans", "img_size")}
    size = tuple(card.preprocess.get("size", FULL.size))
    return dataclasses.replace(FULL, model=card.architecture, kwargs=kwargs, size=size, epochs=4,
                               init="reference", lr=3e-4)


def stage_simulate(out: Path, plan: DemoPlan, progress: StageProgress = _quiet) -> Path:
    """Write the cohort as DICOM + manifest (sites A, B, C)."""
    from osteoscan.simulate.writer import write_cohort

    note = "DICOM + manifest, 3 sites"
    progress("simulate", 0, plan.n_studies, note)
    manifest = write_cohort(out / "data", plan.n_studies, seed=7, sites=(*TRAIN_SITES, EXTERNAL_SITE),
                            difficulty=plan.difficulty, workers=1,
                            progress=lambda n: progress("simulate", n, plan.n_studies, note))
    return manifest


def stage_train(out: Path, manifest: Path, plan: DemoPlan, progress: StageProgress = _quiet) -> Path:
    """Train on sites A+B (validation and an internal hold-out carved from them)."""
    from osteoscan.training import train
    from osteoscan.training.config import resolve_config

    note = f"{plan.model}, {plan.epochs} epochs, {plan.size[0]}x{plan.size[1]}"
    progress("train", 0, 1, note)
    cfg = resolve_config({
        "name": "demo", "seed": 0,
        "data": {"manifest": str(manifest), "cache": True},
        "protocol": {"kind": "external", "train_sites": list(TRAIN_SITES), "test_sites": [EXTERNAL_SITE],
                     "val_fraction": 0.2, "test_fraction": 0.2},
        "model": {"name": plan.model, "kwargs": dict(plan.kwargs), "init": plan.init},
        "preprocess": {"views": "stack", "size": list(plan.size)},
        "optim": {"epochs": plan.epochs, "batch_size": plan.batch_size, "lr": plan.lr, "patience": 0,
                  "amp": False,
                  "threads": 2, "warmup_epochs": 1.0 if plan.epochs > 2 else 0.0},
    })
    run = train(cfg, out / "run")
    progress("train", 1, 1, note)
    return run


def _split_predictions(run: Path, manifest: Path, out: Path) -> dict[str, Path]:
    """predictions_test.csv split into the internal hold-out (sites A+B) and the external site."""
    import pandas as pd

    from osteoscan.csvsafe import restore_frame
    from osteoscan.io import read_manifest
    from osteoscan.training.predict import write_predictions

    pred = restore_frame(pd.read_csv(run / "predictions_test.csv", dtype={"study_id": str, "patient_id": str}))
    sites = read_manifest(manifest, validate=False).frame[["study_id", "site"]]
    pred = pred.merge(sites, on="study_id", how="left")
    parts = {"internal": pred[pred["site"].isin(TRAIN_SITES)], "external": pred[pred["site"] == EXTERNAL_SITE]}
    files = {}
    for name, frame in parts.items():
        if len(frame) and frame["label"].nunique() == 2:
            path = out / "evaluation" / name / "predictions.csv"
            files[name] = write_predictions(frame.drop(columns=["site"]), path)
    return files


def stage_evaluate(out: Path, run: Path, manifest: Path, plan: DemoPlan,
                   progress: StageProgress = _quiet) -> dict[str, dict]:
    """Metrics with 95% CIs (osteoscan.evaluation) on the internal and external test studies."""
    from osteoscan.evaluation.core import evaluate_predictions
    from osteoscan.evaluation.io import read_predictions
    from osteoscan.evaluation.report import write_evaluation
    from osteoscan.training.checkpoint import resolve_checkpoint

    files = _split_predictions(run, manifest, out)
    note, total = f"{plan.n_boot} bootstrap replicates", max(len(files), 1)
    progress("evaluate", 0, total, note)
    _, card = resolve_checkpoint(run)
    results = {}
    for name, path in files.items():
        pred = read_predictions(path)
        res = evaluate_predictions(pred, card=card, n_boot=plan.n_boot, seed=0)
        write_evaluation(res, pred, path.parent)
        results[name] = res
        progress("evaluate", len(results), total, note)
    return results


def stage_analyze(out: Path, run: Path, manifest: Path, plan: DemoPlan, workers: int,
                  progress: StageProgress = _quiet):
    """Analyze a few external-site studies (both classes) into reports and a worklist."""
    from osteoscan.io import read_manifest
    from osteoscan.workflows.analyze import StudyTask, analyze_batch

    rows = [(i, r) for i, r in enumerate(read_manifest(manifest).rows()) if r["site"] == EXTERNAL_SITE]
    pos = [x for x in rows if x[1]["label"] == "metastasis"]
    neg = [x for x in rows if x[1]["label"] != "metastasis"]
    half = (plan.n_analyze + 1) // 2
    chosen = pos[:half] + neg[:plan.n_analyze - min(half, len(pos))]
    tasks = [StudyTask(r["study_id"], f"{manifest.name}#{i + 1} ({r['study_id']})", str(manifest), index=i)
             for i, r in chosen]
    note = f"Grad-CAM + reports, {workers} workers"
    progress("analyze", 0, len(tasks), note)
    return analyze_batch(tasks, out / "analyze", model=str(run), workers=workers,
                         progress=lambda done, total, label: progress("analyze", done, total, note))


def _metric(res: dict, key: str) -> str:
    from osteoscan.evaluation.report import fmt_ci

    return fmt_ci(res.get(key))


def write_demo_index(out: Path, plan: DemoPlan, manifest: Path, run: Path, evals: dict, batch,
                     timings: dict[str, float]) -> Path:
    """index.html linking the cohort, the run, the evaluations, the worklist and the reports."""
    from osteoscan.artefacts import final_card
    from osteoscan.io import read_manifest
    from osteoscan.reporting.html import write_index

    rel = lambda p: Path(p).relative_to(out).as_posix()  # noqa: E731
    frame = read_manifest(manifest, validate=False).frame
    counts = frame.groupby(["site", "label"]).size().unstack(fill_value=0)
    cohort = [(site, ", ".join(f"{n} {lab}" for lab, n in row.items())) for site, row in counts.iterrows()]
    results = [(f"{name} test ({'sites A+B hold-out' if name == 'internal' else 'site C'})",
                f"AUC {_metric(r, 'auc')}; sensitivity {_metric(r, 'sensitivity')}; "
                f"specificity {_metric(r, 'specificity')}; n={r['n']}") for name, r in evals.items()]
    card = final_card(run)
    sections = [
        {"title": "Cohort (simulated, DICOM)", "table": cohort,
         "links": [("manifest.csv", rel(manifest))]},
        {"title": "Model", "table": [("architecture", f"{plan.model} {plan.kwargs or ''}"),
                                      ("input", f"stack of both views, {plan.size[0]}x{plan.size[1]}"),
                                      ("training", f"{plan.epochs} epochs on sites A+B, "
                                                   f"{'fine-tuned from the bundled reference' if plan.init else 'from scratch'}")],
         "links": [("model card", rel(card)), ("training log", rel(run / "log.csv"))]},
        {"title": "Evaluation (95% CIs: DeLong for AUC, patient bootstrap otherwise)", "table": results,
         "links": [(f"{n} evaluation report", f"evaluation/{n}/report.html") for n in evals]},
        {"title": "Analysis of external-site studies",
         "text": f"{len(batch.records)} studies analysed, {len(batch.failures)} failed.",
         "links": [("worklist", "analyze/worklist.html")] +
                  [(f"{r['study_id']}  p={r['probability']:.3f} ({r['decision']})", f"analyze/{r['report']}")
                   for r in sorted(batch.records, key=lambda r: -r["probability"])]},
        {"title": "Timings", "table": [(k, f"{v:.1f} s") for k, v in timings.items()]},
    ]
    return write_index(out / "index.html", "osteoscan demo", sections,
                       intro="Simulated cohort -> training -> evaluation with an external site -> "
                             "analysis with Grad-CAM. Everything here is simulated; research use only.")


def run_demo(out: Path, *, quick: bool = False, workers: int = 2,
             progress: StageProgress = _quiet) -> Path:
    """Run every stage; returns the index.html path.

    Args:
        out: output folder (created).
        quick: the smoke plan (:data:`QUICK`) instead of :func:`plan_for`'s full plan.
        workers: analyze worker processes.
        progress: ``progress(stage, done, total, note)`` as the stages advance.
    """
    plan = plan_for(quick)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    manifest = stage_simulate(out, plan, progress)
    timings["simulate"] = time.perf_counter() - t
    t = time.perf_counter()
    run = stage_train(out, manifest, plan, progress)
    timings["train"] = time.perf_counter() - t
    t = time.perf_counter()
    evals = stage_evaluate(out, run, manifest, plan, progress)
    timings["evaluate"] = time.perf_counter() - t
    t = time.perf_counter()
    batch = stage_analyze(out, run, manifest, plan, workers, progress)
    if batch.interrupted:  # SIGINT/SIGTERM: the worklist of what finished is written; stop here
        raise KeyboardInterrupt("demo interrupted during analyze")
    timings["analyze"] = time.perf_counter() - t
    return write_demo_index(out, plan, manifest, run, evals, batch, timings)


