"""The demo workflow: the whole pipeline on a simulated multi-site cohort, in minutes on a CPU.

Stages: simulate (DICOM + manifest, sites A and B for training, site C as the external
test site) -> train (patient-level external-site protocol, internal hold-out too) ->
evaluate (internal and external, 95% CIs) -> analyze a few external studies (reports,
worklist) -> ``index.html`` linking everything. ``quick=True`` is the smoke version that
the end-to-end test runs. Choices are documented in docs/analyze.md ("The demo").
Progress is reported through a callback (``osteoscan demo`` draws it with rich).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from osteoscan.config.demo import EXTERNAL_SITE, FULL, QUICK, TRAIN_SITES, DemoPlan  # noqa: F401

log = logging.getLogger(__name__)

StageProgress = Callable[[str, int, "int | None", str], None]
"""Called as ``progress(stage, done, total, note)`` when a stage starts and advances."""


def _quiet(stage: str, done: int, total: int | None, note: str) -> None:
    """The default progress callback: nothing."""


def plan_for(quick: bool) -> DemoPlan:
    """The quick plan, or the full plan fine-tuning the bundled reference when it is installed
    (its architecture and preprocessing, 4 epochs at lr 3e-4)."""
    if quick:
        return QUICK
    import yaml

    from osteoscan.artefacts import paths, read_card

    if not (paths.reference_dir() / paths.CARD_NAME).is_file():
        return FULL
    card = read_card(paths.reference_dir())
    kwargs = {k: v for k, v in card.model_kwargs.items() if k not in ("num_classes", "in_chans", "img_size")}
    flow = lambda v: yaml.safe_dump(v, default_flow_style=True).strip()  # noqa: E731
    return FULL.with_train(f"model.name={card.architecture}", f"model.kwargs={flow(kwargs)}",
                           f"preprocess={flow(dict(card.preprocess))}", "model.init=reference",
                           "optim.epochs=4", "optim.lr=3e-4")


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
    """Train the reference recipe (configs/reference.yaml + the plan's overrides) on sites A+B
    (validation and an internal hold-out carved from them)."""
    from osteoscan.training import train

    cfg = plan.train_config(manifest)
    size = cfg.preprocess.get("size")
    note = f"{cfg.model.name}, {cfg.optim.epochs} epochs, {size[0]}x{size[1]}"
    progress("train", 0, 1, note)
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
    cfg = plan.train_config(manifest)
    size = cfg.preprocess["size"]
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
        {"title": "Model", "table": [("architecture", f"{cfg.model.name} {cfg.model.kwargs or ''}"),
                                      ("input", f"stack of both views, {size[0]}x{size[1]}"),
                                      ("training", f"{cfg.optim.epochs} epochs on sites A+B, "
                                                   f"{'fine-tuned from the bundled reference' if cfg.model.init else 'from scratch'}")],
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


