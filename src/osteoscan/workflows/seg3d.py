"""3-D SPECT/CT segmentation as experiments: simulate, train, evaluate, cross-validate.

The CLI (``osteoscan seg3d``) is a thin layer over these functions (docs/seg3d.md):

* :func:`simulate_cohort` / :func:`read_cases`: simulated studies written by
  ``osteoscan.simulate.volume_cohort`` (NIfTI or DICOM, masks, ``manifest.csv``) and read back
  through ``osteoscan.io``, each study when used, within a memory budget
  (:mod:`osteoscan.workflows.seg3d_cases`);
* :func:`train_and_fit`: a network (:func:`~osteoscan.volumetric.training.train_seg3d`) and its
  origin model, into one checkpoint folder;
* :func:`evaluate_cases`: per-scan figures, the summary (``osteoscan.evaluation.volumes``) and
  one row per true lesion (P(metastatic) of the lesion, for DeLong comparisons);
* :func:`cross_validate`: patient-level k-fold of several networks on the same folds, written
  in ``osteoscan compare``'s layout (``arms/<arm>/predictions/fold-<k>.csv``), then
  aggregated by :func:`osteoscan.evaluation.aggregate.aggregate_folder` (the DeLong p-values
  against the best arm) with the segmentation figures beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import atomic_write_json, atomic_write_text
from osteoscan.errors import InputError
from osteoscan.volumetric.inputs import Case, modalities, resize
from osteoscan.workflows.seg3d_cases import lesion_kinds, read_cases  # noqa: F401 (read_cases: re-exported for the CLI and benchmarks)

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


# ------------------------------------------------------------------------------- data
def case_from_study(study) -> Case:
    """A :class:`Case` from a ``SimStudy`` (CT grid; SPECT already resampled onto it)."""
    return Case(
        case_id=f"{study.patient_id}-{study.profile}", patient_id=str(study.patient_id),
        spacing_mm=tuple(float(v) for v in study.ct.spacing_mm), ct=study.ct.array,
        spect=study.spect.array, semantic=study.semantic, instances=study.instances,
        primary=study.primary, profile=study.profile,
        extra={"lesion_kinds": lesion_kinds(study.lesions)})


def simulate_cohort(folder: str | Path, n: int, *, seed: int = 0, profiles=("profile_1",),
                    shape=(96, 128, 128), formats=("nifti",), progress=None,
                    spacing=None) -> Path:
    """Simulated studies in the cohort layout of ``osteoscan.simulate.volume_cohort``
    (NIfTI and/or DICOM CT + NM, masks, truth.json, manifest.csv); returns the manifest.
    ``spacing`` ("profile" or (slice, pixel) mm) replaces ``shape`` (docs/volumes.md)."""
    from osteoscan.simulate.volume_cohort import write_volume_cohort

    return write_volume_cohort(folder, n, seed=seed, profiles=tuple(profiles),
                               shape=tuple(shape), formats=tuple(formats), progress=progress,
                               spacing=spacing)


# ------------------------------------------------------------------------- train, eval
def train_and_fit(cases: Sequence[Case], settings, out: str | Path, *, resume: bool = False,
                  init=None, on_epoch=None, origin: bool = True) -> Path:
    """Train the network, then (``origin``) fit its origin model on the same cases."""
    from osteoscan.volumetric.training import fit_origin, train_seg3d

    out = train_seg3d(cases, settings, out, resume=resume, init=init, on_epoch=on_epoch)
    if origin:
        fit_origin(out, cases)
    return out


LESION_COLUMNS = ("study_id", "patient_id", "label", "prob_metastasis")
"""Columns of the per-lesion rows (the predictions format of ``osteoscan compare``)."""


def _lesion_rows(case: Case, result) -> list[dict]:
    """One row per true lesion: mean P(metastatic | lesion) over its voxels."""
    prob = result.work["prob"]
    p_met = resize(prob[2:3], case.shape)[0]
    p_ben = resize(prob[1:2], case.shape)[0]
    rows = []
    for i in [int(v) for v in np.unique(case.instances) if v > 0]:
        mask = case.instances == i
        met, ben = float(p_met[mask].mean()), float(p_ben[mask].mean())
        rows.append({"study_id": f"{case.case_id}:{i}", "patient_id": case.patient_id,
                     "label": "metastasis" if (case.semantic[mask] == 2).mean() >= 0.5
                     else "benign",
                     "prob_metastasis": met / (met + ben) if met + ben > 1e-6 else 0.0})
    return rows


def evaluate_cases(segmenter, cases: Sequence[Case], *, hd95: bool = True,
                   on_case: Progress | None = None) -> tuple[list[dict], list[dict]]:
    """Predict and score every case.

    Returns:
        (per-scan records for :func:`osteoscan.evaluation.volumes.summarise`, per-lesion rows).
    """
    from osteoscan.evaluation.volumes import scan_metrics

    records, lesions = [], []
    for case in cases:
        result = segmenter.predict(case, keep_work=True)
        scores = [t["score"] for t in result.lesions]
        rec = scan_metrics(result.semantic, case.semantic, result.instances, scores,
                           case.instances, case.spacing_mm, hd95=hd95)
        rec.update(case_id=case.case_id, patient_id=case.patient_id, primary=case.primary,
                   profile=case.profile, origin_p_lung=result.origin_p_lung,
                   n_predicted=len(result.lesions))
        records.append(rec)
        lesions.extend(_lesion_rows(case, result))
        if on_case:
            on_case(case.case_id)
    return records, lesions


def records_frame(records: Sequence[dict]) -> pd.DataFrame:
    """The per-scan figures as a table (the lesion matches left out)."""
    return pd.DataFrame([{k: v for k, v in r.items() if k != "match"} for r in records])


def write_evaluation(records, lesions, summary: dict, out: str | Path) -> Path:
    """``summary.json``, ``scans.csv`` and ``lesions.csv`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "scans.csv", records_frame(records).to_csv(index=False))
    atomic_write_text(out / "lesions.csv", pd.DataFrame(lesions).to_csv(index=False))
    return out


# -------------------------------------------------------------------- cross-validation
def _fold_indices(cases: Sequence[Case], k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Patient-level stratified k-fold (``osteoscan.data.splits``), by primary."""
    from osteoscan.data.splits import kfold_splits

    labels = [c.primary or "none" for c in cases]
    splits = kfold_splits(labels, [c.patient_id for c in cases], k=k, val_fraction=0.0,
                          seed=seed)
    return [(np.sort(np.concatenate([s.train, s.val])), s.test) for s in splits]


def cross_validate(cases: Sequence[Case], arms: dict, out: str | Path, *, k: int = 5,
                   seed: int = 0, resume: bool = True, on_step: Progress | None = None) -> dict:
    """Train every arm (name -> Seg3DSettings) on the same patient-level folds.

    Writes ``arms/<arm>/predictions/fold-<i>.csv`` (per true lesion), ``arms/<arm>/seg/
    fold-<i>.csv`` (per scan) and the checkpoints under ``runs/<arm>/fold<i>``; then the
    comparison (``comparison/``, as ``osteoscan compare --render-only`` writes it) and
    ``seg3d_table.csv``.
    """
    from osteoscan.evaluation.aggregate import aggregate_folder

    out = Path(out)
    folds = _fold_indices(cases, k, seed)
    for arm, settings in arms.items():
        for i, (train, test) in enumerate(folds):
            if resume and (out / "arms" / arm / "predictions" / f"fold-{i}.csv").is_file():
                continue  # a finished fold of this arm (its files are written last)
            if on_step:
                on_step(f"{arm} fold {i}")
            _run_fold([cases[j] for j in train], [cases[j] for j in test],
                      replace(settings, seed=seed + i), out, arm, i, resume)
    atomic_write_text(out / "study.yaml", _study_yaml(arms, k))
    summary = aggregate_folder(out)
    table = seg_table(out, list(arms), summary)
    atomic_write_text(out / "seg3d_table.csv", table.to_csv(index=False))
    return {"summary": summary, "table": table}


def _run_fold(train: Sequence[Case], test: Sequence[Case], settings, out: Path, arm: str,
              i: int, resume: bool) -> None:
    """Train one arm on one fold's training cases and score its test cases; the per-scan rows
    carry the training's steps and seconds (this call's: a resumed training counts only the
    part it ran)."""
    import math
    import time

    from osteoscan.volumetric.infer import Segmenter3D

    start = time.perf_counter()
    run = train_and_fit(train, settings, out / "runs" / arm / f"fold{i}", resume=resume,
                        origin=False)
    seconds = time.perf_counter() - start
    records, lesions = evaluate_cases(Segmenter3D.from_checkpoint(run), test)
    steps = settings.epochs * math.ceil(len(train) * settings.samples_per_case
                                        / settings.batch_size)
    frame = records_frame(records).assign(train_steps=steps, train_seconds=round(seconds, 3))
    seg = out / "arms" / arm / "seg" / f"fold-{i}.csv"
    seg.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(seg, frame.to_csv(index=False))
    pred = out / "arms" / arm / "predictions" / f"fold-{i}.csv"
    pred.parent.mkdir(parents=True, exist_ok=True)
    # a fold whose test scans hold no lesion still gets a readable (header-only) file
    atomic_write_text(pred, pd.DataFrame(lesions, columns=LESION_COLUMNS).to_csv(index=False))


def _study_yaml(arms: dict, k: int) -> str:
    import yaml

    return yaml.safe_dump({"name": "seg3d-cv", "protocol": {"kind": "kfold", "folds": k},
                           "arms": [{"name": a} for a in arms]}, sort_keys=False)


def seg_table(out: Path, arms: Sequence[str], summary: dict) -> pd.DataFrame:
    """Per arm: pooled lesion DSC etc. (mean with patient-bootstrap CI), the lesion-level
    benign/metastatic AUC with its DeLong p-value against the best arm."""
    from osteoscan.evaluation.volumes import mean_ci

    rows, by_arm = [], {r["arm"]: r for r in summary.get("arms", [])}
    for arm in arms:
        files = sorted((out / "arms" / arm / "seg").glob("fold-*.csv"))
        if not files:
            continue
        frame = pd.concat([pd.read_csv(f).assign(fold=f.stem) for f in files],
                          ignore_index=True)
        row = {"arm": arm, "scans": len(frame)}
        for key in ("dice_lesion", "dice_metastatic", "iou_lesion", "hd95_lesion_mm",
                    "sensitivity_voxel", "specificity_voxel"):
            ci = mean_ci(frame[key].to_numpy(float), frame["patient_id"].astype(str).to_numpy(),
                         n_boot=1000)
            row[key] = f"{ci['value']:.3f} ({ci['ci_low']:.3f}-{ci['ci_high']:.3f})"
        row.update(_training_cost(frame))
        shown = by_arm.get(arm, {})
        row["lesion_auc"] = shown.get("auc_pooled_text", "")
        row["delong_p_vs_best"] = shown.get("p_text", "")
        rows.append(row)
    return pd.DataFrame(rows)


def _training_cost(frame: pd.DataFrame) -> dict:
    """Steps per training and minutes per training (mean over the folds) from the per-scan
    rows (empty before these columns were written)."""
    if "train_seconds" not in frame or "fold" not in frame:
        return {"train_steps": "", "train_min_per_fold": ""}
    per_fold = frame.groupby("fold")[["train_steps", "train_seconds"]].first()
    steps = sorted({int(v) for v in per_fold["train_steps"]})
    return {"train_steps": "/".join(map(str, steps)),
            "train_min_per_fold": round(float(per_fold["train_seconds"].mean()) / 60, 2)}


# --------------------------------------------------------------------------- predict
def find_inputs(path: Path, spect: Path | None = None) -> tuple[Path, Path | None]:
    """(CT, SPECT or None) of one input: a study folder holding ``ct/`` or ``ct.nii[.gz]``
    (and ``spect.dcm`` / ``spect.nii[.gz]``), or a CT series folder / NIfTI file itself."""
    path = Path(path)
    if path.is_dir():
        cts = [p for p in (path / "ct", path / "ct.nii.gz", path / "ct.nii") if p.exists()]
        if cts:
            spects = [p for p in (path / "spect.dcm", path / "spect.nii.gz", path / "spect.nii")
                      if p.exists()]
            return cts[0], spect or (spects[0] if spects else None)
    if not path.exists():
        raise InputError(path, "not found")
    return path, spect


def read_input(ct_path: Path, spect_path: Path | None, channels: str):
    """(CT volume or None, Case) of one input for a model of ``channels``."""
    from osteoscan.io.volumes import read_spect_ct, read_volume

    reads = modalities(channels)
    if reads == ("spect",):
        if spect_path is None:
            raise InputError(ct_path, "the SPECT model needs a SPECT (spect.dcm / --spect)")
        ct, spect = (read_spect_ct(ct_path, spect_path) if ct_path != spect_path
                     else (None, read_volume(spect_path, "NM")))
    elif "spect" in reads:
        if spect_path is None:
            raise InputError(ct_path, "the SPECT/CT model needs a SPECT beside the CT "
                                      "(spect.dcm or spect.nii.gz in the study folder, or --spect)")
        ct, spect = read_spect_ct(ct_path, spect_path)
    else:
        ct, spect = read_volume(ct_path, "CT"), None
    grid = ct if ct is not None else spect
    case = Case(Path(ct_path).name, "", tuple(grid.spacing_mm),
                ct=None if ct is None else ct.array, spect=None if spect is None else spect.array)
    return grid, case


def _lesion_json(result, grid, work_shape) -> list[dict]:
    """The instances with their centres as LPS (z, y, x) mm on the source grid."""
    scale = np.array(grid.shape, float) / np.array(work_shape, float)
    out = []
    for t in result.lesions:
        idx = (np.array(t["centre_vox"]) + 0.5) * scale - 0.5
        out.append({"id": t["id"], "class": t["cls"], "p_metastatic": t["score"],
                    "p_lesion": t.get("p_lesion"), "in_mask": t.get("in_mask", True),
                    "source": t.get("source", "primary"),
                    "volume_ml": t["volume_ml"], "p_lung": t.get("p_lung"),
                    "centre_lps_zyx_mm": [float(v) for v in grid.position(idx)]})
    return out


def predict_study(segmenter, ct_path: Path, spect_path: Path | None, out: Path) -> dict:
    """Segment one study into ``out``: ``semantic.nii.gz``, ``instances.nii.gz``,
    ``lesions.json`` and, when the CT is a DICOM series, ``seg.dcm`` (DICOM Segmentation)."""
    from osteoscan.io.nifti import write_nifti
    from osteoscan.reporting.dicom_seg import write_lesion_seg

    grid, case = read_input(ct_path, spect_path, segmenter.channels)
    result = segmenter.predict(case, keep_work=True)
    work = result.work["labels"].shape
    result.work.clear()
    out.mkdir(parents=True, exist_ok=True)
    write_nifti(grid.with_array(result.semantic), out / "semantic.nii.gz")
    write_nifti(grid.with_array(result.instances), out / "instances.nii.gz")
    summary = {"input": str(ct_path), "spect": str(spect_path or ""),
               "model": segmenter.card.architecture, "lesions": _lesion_json(result, grid, work),
               "origin_p_lung": result.origin_p_lung, "files": ["semantic.nii.gz",
                                                                "instances.nii.gz"]}
    if grid.source.kind == "dicom-ct-series":
        write_lesion_seg(grid, result.semantic, out / "seg.dcm")
        summary["files"].append("seg.dcm")
    atomic_write_json(out / "lesions.json", summary)
    return summary
