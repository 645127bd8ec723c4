"""3-D SPECT/CT segmentation as experiments: simulate, train, evaluate, cross-validate.

The CLI (``osteoscan seg3d``) is a thin layer over these functions (docs/seg3d.md):

* :func:`simulate_cases` / :func:`write_cases` / :func:`read_cases`: simulated studies
  (``osteoscan.simulate.volume_study``) as :class:`~osteoscan.volumetric.inputs.Case` objects,
  stored as one ``.npz`` per study (arrays only; read with ``allow_pickle=False``) plus
  ``cases.csv`` (id, patient, profile, primary);
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

from osteoscan.artefacts import atomic_write, atomic_write_json, atomic_write_text
from osteoscan.errors import InputError
from osteoscan.volumetric.inputs import Case, resize

logger = logging.getLogger(__name__)

CASES_CSV = "cases.csv"
Progress = Callable[[str], None]


# ------------------------------------------------------------------------------- data
def case_from_study(study) -> Case:
    """A :class:`Case` from a ``SimStudy`` (CT grid; SPECT already resampled onto it)."""
    return Case(
        case_id=f"{study.patient_id}-{study.profile}", patient_id=str(study.patient_id),
        spacing_mm=tuple(float(v) for v in study.ct.spacing_mm), ct=study.ct.array,
        spect=study.spect.array, semantic=study.semantic, instances=study.instances,
        primary=study.primary, profile=study.profile)


def simulate_cases(seeds: Sequence[int], profiles: Sequence[str], shape=(96, 128, 128),
                   on_case: Progress | None = None) -> list[Case]:
    """Simulate one study per seed, the profiles taken in turn."""
    from osteoscan.simulate.volume_study import simulate_study

    out = []
    for i, seed in enumerate(seeds):
        out.append(case_from_study(simulate_study(int(seed), profiles[i % len(profiles)],
                                                  tuple(shape))))
        if on_case:
            on_case(out[-1].case_id)
    return out


def write_cases(cases: Sequence[Case], folder: str | Path) -> Path:
    """One ``<case_id>.npz`` per case and ``cases.csv`` (written atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for c in cases:
        arrays = {k: getattr(c, k) for k in ("ct", "spect", "semantic", "instances")
                  if getattr(c, k) is not None}
        arrays["spacing_mm"] = np.asarray(c.spacing_mm, float)
        atomic_write(folder / f"{c.case_id}.npz", lambda tmp, a=arrays: _savez(tmp, a))
    table = pd.DataFrame([{"case_id": c.case_id, "patient_id": c.patient_id,
                           "profile": c.profile, "primary": c.primary or ""} for c in cases])
    atomic_write_text(folder / CASES_CSV, table.to_csv(index=False))
    return folder


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as fh:  # a file object: numpy would append ".npz" to a bare name
        np.savez_compressed(fh, **arrays)


def read_cases(folder: str | Path) -> list[Case]:
    """The cases written by :func:`write_cases` (``seg3d simulate``)."""
    folder = Path(folder)
    index = folder / CASES_CSV
    if not index.is_file():
        raise InputError(folder, f"no {CASES_CSV} (make one with `osteoscan seg3d simulate`)")
    table = pd.read_csv(index, dtype=str, keep_default_na=False)
    out = []
    for row in table.itertuples():
        path = folder / f"{row.case_id}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a readable case file ({exc})") from exc
        out.append(Case(row.case_id, row.patient_id, tuple(arrays.pop("spacing_mm")),
                        primary=row.primary or None, profile=row.profile, **arrays))
    return out


# ------------------------------------------------------------------------- train, eval
def train_and_fit(cases: Sequence[Case], settings, out: str | Path, *, resume: bool = False,
                  init=None, on_epoch=None, origin: bool = True) -> Path:
    """Train the network, then (``origin``) fit its origin model on the same cases."""
    from osteoscan.volumetric.training import fit_origin, train_seg3d

    out = train_seg3d(cases, settings, out, resume=resume, init=init, on_epoch=on_epoch)
    if origin:
        fit_origin(out, cases)
    return out


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
    from osteoscan.volumetric.infer import Segmenter3D

    out = Path(out)
    folds = _fold_indices(cases, k, seed)
    for arm, settings in arms.items():
        for i, (train, test) in enumerate(folds):
            pred = out / "arms" / arm / "predictions" / f"fold-{i}.csv"
            if resume and pred.is_file():
                continue
            if on_step:
                on_step(f"{arm} fold {i}")
            run = train_and_fit([cases[j] for j in train], replace(settings, seed=seed + i),
                                out / "runs" / arm / f"fold{i}", resume=resume, origin=False)
            records, lesions = evaluate_cases(Segmenter3D.from_checkpoint(run),
                                              [cases[j] for j in test])
            seg = out / "arms" / arm / "seg" / f"fold-{i}.csv"
            seg.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(seg, records_frame(records).to_csv(index=False))
            pred.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(pred, pd.DataFrame(lesions).to_csv(index=False))
    atomic_write_text(out / "study.yaml", _study_yaml(arms, k))
    summary = aggregate_folder(out)
    table = seg_table(out, list(arms), summary)
    atomic_write_text(out / "seg3d_table.csv", table.to_csv(index=False))
    return {"summary": summary, "table": table}


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
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        row = {"arm": arm, "scans": len(frame)}
        for key in ("dice_lesion", "dice_metastatic", "iou_lesion", "hd95_lesion_mm",
                    "sensitivity_voxel", "specificity_voxel"):
            ci = mean_ci(frame[key].to_numpy(float), frame["patient_id"].astype(str).to_numpy(),
                         n_boot=1000)
            row[key] = f"{ci['value']:.3f} ({ci['ci_low']:.3f}-{ci['ci_high']:.3f})"
        shown = by_arm.get(arm, {})
        row["lesion_auc"] = shown.get("auc_pooled_text", "")
        row["delong_p_vs_best"] = shown.get("p_text", "")
        rows.append(row)
    return pd.DataFrame(rows)
