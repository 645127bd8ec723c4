"""Lesion-level benign/malignant comparison under patient-level k-fold CV.

Reproduces the design of the 14,972-lesion study (configs/papers/lesion_level.yaml): every
delineated hotspot is a sample; 5-fold cross-validation grouped by patient; our patch+context
network against InceptionV3, VGG16 and DenseNet169 from the model registry; AUC overall, by
lesion burden of the patient (<=3, 4-6, >6 lesions) and by primary tumour.

Output layout (the same as ``osteoscan compare``, so that ``osteoscan compare --render-only
DIR`` can re-aggregate it; one lesion = one "study" row)::

    DIR/study.yaml                         the resolved configuration
    DIR/manifest.csv                       study_id (lesion), patient_id, primary, lesion_count
    DIR/arms/<arm>/predictions/fold-<k>.csv  study_id, patient_id, label, prob_benign, prob_malignant
    DIR/lesion_summary.json                per arm: AUC (DeLong CI), by burden, by primary,
                                           accuracy/sensitivity/specificity at 0.5, DeLong vs ours
    DIR/lesion_summary.md                  the same as a table
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from osteoscan.artefacts import atomic_write_json, atomic_write_text
from osteoscan.csvsafe import neutralise_frame, restore_frame
from osteoscan.lesions.training import fit_classifier

log = logging.getLogger(__name__)

BURDEN_GROUPS = (("<=3", 0, 3), ("4-6", 4, 6), (">6", 7, 10**9))


def lesion_folds(samples: dict[str, np.ndarray], k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index per lesion, grouped by patient and stratified by label."""
    from sklearn.model_selection import StratifiedGroupKFold

    folds = np.zeros(len(samples["y"]), dtype=int)
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(cv.split(samples["y"], samples["y"], samples["patient"].astype(str))):
        folds[test] = i
    return folds


def _auc_block(y: np.ndarray, p: np.ndarray) -> dict:
    """The AUC block of ``osteoscan.evaluation`` (value, DeLong CI; None when undefined, for
    JSON) plus the counts and the figures at 0.5."""
    from osteoscan.evaluation.statistics import auc_ci

    auc = auc_ci(y, p, method="delong")
    out: dict = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in auc.items()}
    out["n_malignant"] = int(y.sum())
    called = p >= 0.5
    out["accuracy"] = float((called == y.astype(bool)).mean()) if len(y) else None
    out["sensitivity"] = float(called[y == 1].mean()) if y.sum() else None
    out["specificity"] = float((~called[y == 0]).mean()) if (y == 0).any() else None
    return out


def summarise(samples: dict[str, np.ndarray], probs: dict[str, np.ndarray], reference: str) -> dict:
    """AUC overall, by burden and by primary per arm, plus DeLong against ``reference``."""
    from osteoscan.evaluation.statistics import delong_roc_test

    y = samples["y"].astype(int)
    out = {}
    for arm, p in probs.items():
        block = {"overall": _auc_block(y, p), "by_burden": {}, "by_primary": {}}
        for name, lo, hi in BURDEN_GROUPS:
            m = (samples["burden"] >= lo) & (samples["burden"] <= hi)
            block["by_burden"][name] = _auc_block(y[m], p[m])
        for prim in sorted(set(samples["primary"].astype(str))):
            m = samples["primary"].astype(str) == prim
            block["by_primary"][prim] = _auc_block(y[m], p[m])
        if arm != reference and 0 < y.sum() < len(y):
            test = delong_roc_test(y, probs[reference], p)
            block["delong_vs_reference"] = {k: float(v) for k, v in dict(test).items()
                                            if isinstance(v, (int, float, np.floating))}
        out[arm] = block
    return out


def _markdown(summary: dict) -> str:
    lines = ["| arm | AUC (95% CI) | <=3 | 4-6 | >6 | accuracy | sensitivity | specificity |",
             "|---|---|---|---|---|---|---|---|"]

    def f(v):
        return "-" if v is None else f"{v:.3f}"

    for arm, b in summary.items():
        o = b["overall"]
        bur = [f(b["by_burden"][g]["value"]) for g, _, _ in BURDEN_GROUPS]
        lines.append(f"| {arm} | {f(o['value'])} ({f(o['ci_low'])}-{f(o['ci_high'])}) | "
                     + " | ".join(bur) + f" | {f(o['accuracy'])} | {f(o['sensitivity'])} | "
                     f"{f(o['specificity'])} |")
    return "\n".join(lines) + "\n"


def compare_classifiers(
    samples: dict[str, np.ndarray],
    arms: Sequence[dict],
    out: str | Path,
    *,
    folds: int = 5,
    seed: int = 0,
    epochs: int = 15,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Train every arm on every fold, write predictions and the summary.

    Args:
        samples: from :func:`osteoscan.lesions.training.classifier_samples`.
        arms: ``[{"name": ..., "arch": "patchcontext" | registry name, "kwargs": {...}}]``;
            the first arm is the reference of the DeLong tests.
        out: output folder.
        folds: number of patient-level folds.
        seed: fold and training seed.
        epochs: training epochs per fold.
        progress: ``progress(arm, fold, folds)``.

    Returns:
        The summary (also written to ``lesion_summary.json``).
    """
    out = Path(out)
    fold = lesion_folds(samples, folds, seed)
    keys = [f"L{int(s):05d}-{i:05d}" for i, s in enumerate(samples["study"])]
    manifest = pd.DataFrame({"study_id": keys, "patient_id": samples["patient"].astype(str),
                             "primary": samples["primary"].astype(str),
                             "lesion_count": samples["burden"]})
    atomic_write_text(out / "manifest.csv", neutralise_frame(manifest).to_csv(index=False))
    probs: dict[str, np.ndarray] = {}
    for arm in arms:
        p = np.zeros(len(fold))
        for k in range(folds):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            clf = fit_classifier(samples, arch=arm["arch"], epochs=epochs, seed=seed + k,
                                 index=train, **arm.get("kwargs", {}))
            p[test] = clf.predict_arrays({n: samples[n][test] for n in ("patch", "context", "tab")})
            frame = manifest.iloc[test][["study_id", "patient_id"]].assign(
                label=np.where(samples["y"][test] == 1, "malignant", "benign"),
                prob_benign=1 - p[test], prob_malignant=p[test])
            atomic_write_text(out / "arms" / arm["name"] / "predictions" / f"fold-{k}.csv",
                              neutralise_frame(frame).to_csv(index=False))
            if progress:
                progress(arm["name"], k + 1, folds)
        probs[arm["name"]] = p
    summary = summarise(samples, probs, arms[0]["name"])
    atomic_write_json(out / "lesion_summary.json", summary)
    atomic_write_text(out / "lesion_summary.md", _markdown(summary))
    return summary


def load_study_config(path: str | Path, *, tiny: bool = False) -> dict:
    """Read a lesion study YAML (``name``, ``data.simulate``, ``protocol.folds``,
    ``optim.epochs``, ``arms``, ``tiny``; schema: :class:`osteoscan.config.study.LesionStudy`),
    apply its ``tiny`` overrides when asked, and return it with every default filled in.

    Raises:
        InputError: unreadable file; ConfigError: missing, unknown or invalid keys (naming the
        file and the key).
    """
    from osteoscan.config import load_lesion_study, to_dict

    return to_dict(load_lesion_study(path, tiny=tiny))


def summarise_folder(out: str | Path, reference: str | None = None) -> dict:
    """Re-aggregate a comparison folder from its prediction files (no training).

    Arms whose folds are incomplete are left out (logged); ``reference`` defaults to the
    first complete arm in name order of ``study.json`` (or alphabetical).
    """
    out = Path(out)
    manifest = restore_frame(pd.read_csv(out / "manifest.csv", dtype={"study_id": str, "patient_id": str}))
    order = [a["name"] for a in json.loads((out / "study.json").read_text())["arms"]] \
        if (out / "study.json").is_file() else sorted(p.name for p in (out / "arms").iterdir())
    probs, y = {}, None
    for arm in order:
        files = sorted((out / "arms" / arm / "predictions").glob("fold-*.csv"))
        frame = pd.concat([restore_frame(pd.read_csv(f, dtype={"study_id": str})) for f in files]) \
            if files else None
        if frame is None or len(frame) != len(manifest):
            log.warning("arm %s incomplete: left out", arm)
            continue
        frame = frame.set_index("study_id").loc[manifest["study_id"]]
        probs[arm] = frame["prob_malignant"].to_numpy()
        y = (frame["label"] == "malignant").to_numpy().astype(int)
    if not probs:
        raise ValueError(f"{out}: no complete arm")
    samples = {"y": y, "burden": manifest["lesion_count"].to_numpy(),
               "primary": manifest["primary"].astype(str).to_numpy()}
    summary = summarise(samples, probs, reference or next(iter(probs)))
    atomic_write_json(out / "lesion_summary.json", summary)
    atomic_write_text(out / "lesion_summary.md", _markdown(summary))
    return summary
