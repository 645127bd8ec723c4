"""How separable is the primary (lung vs other) from what the 3-D simulator puts in a volume?

Training cohort only (docs/seg3d.md, "Origin: ceiling and features (session 7)"). Three
oracles, each a patient-level origin AUC with a patient-bootstrap 95 % CI:

1. ``truth_bayes``: the simulator's own likelihood ratio from the true metastases' kinds
   (``volume_lesions._MIX``) and bones (``_PARTS``), with and without the lung tumour the
   CT shows in 60 % of lung primaries; no fitting, so no cross-validation is needed.
2. ``truth_summary``: a logistic regression on per-patient summaries of the truth (count,
   kind shares, bone shares, mean log volume), out-of-fold by repeated stratified 5-fold.
3. ``measured_true_instances``: the origin models of ``osteoscan.volumetric.origin`` on the
   features measured over the TRUE metastases' voxels (no network error), out-of-fold.

Needs ``benchmarks/seg3d_origin_dump.py``'s output for (3). Usage::

    nice -n 10 env OMP_NUM_THREADS=1 python -m benchmarks.seg3d_origin_ceiling \
        /tmp/origin3d/dump/train benchmarks/results/seg3d_origin_ceiling.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_json
from osteoscan.evaluation.statistics import auc_ci
from osteoscan.simulate import volume_canvas as vc
from osteoscan.simulate import volume_lesions as vl

KIND_SHARES = ("osteoblastic", "osteolytic", "mixed")
BONE_GROUPS = {"axial": ("vertebral body", "pelvis", "sacrum"),
               "rib_scapula": ("rib", "scapula", "sternum"), "femur": ("femur",)}


def load_truth(folder: Path) -> list[dict]:
    """The per-study truth of the patients with a lung/other primary and >= 1 met."""
    out = []
    paths = sorted(folder.glob("*/truth.json")) or sorted(folder.glob("*.json"))
    for path in paths:  # a cohort folder (its truth.json files) or the dump's records
        rec = json.loads(path.read_text())
        mets = [les for les in rec["lesions"] if les.get("malignant")]
        if rec["primary"] in vl.PRIMARIES and mets:
            out.append({**rec, "mets": mets})
    return out


def bayes_log_lr(rec: dict, tumour: bool) -> float:
    """log P(lesions | lung) / P(lesions | other) under the simulator's mix and bones (the
    number of metastases is drawn alike for both, so it carries nothing)."""
    part_p = {p: {vc.PARTS[k]: v for k, v in vl._PARTS[p]} for p in vl.PRIMARIES}
    total = 0.0
    for les in rec["mets"]:
        k = KIND_SHARES.index(les["kind"])
        total += np.log(vl._MIX["lung"][k] / vl._MIX["other"][k])
        part = les.get("part")
        if part in part_p["lung"] and part in part_p["other"]:
            total += np.log(part_p["lung"][part] / part_p["other"][part])
    if tumour:
        total += 10.0 if rec.get("tumour") else np.log(0.4)
    return float(total)


def summary_row(rec: dict) -> list[float]:
    mets = rec["mets"]
    kinds = [les["kind"] for les in mets]
    parts = [les.get("part") for les in mets]
    row = [np.log1p(len(mets))]
    row += [kinds.count(k) / len(mets) for k in KIND_SHARES]
    row += [sum(p in g for p in parts) / len(mets) for g in BONE_GROUPS.values()]
    row.append(float(np.mean([np.log(les["volume_ml"] + 1e-3) for les in mets])))
    return row


def oof_scores(X: np.ndarray, y: np.ndarray, repeats: int = 10, C: float = 1.0) -> np.ndarray:
    """Out-of-fold P(lung) of a standardised L2 logistic regression, averaged over repeated
    stratified 5-fold splits (every patient scored by models that never saw it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = np.zeros(len(y))
    for r in range(repeats):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=r).split(X, y):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
            out[te] += model.fit(X[tr], y[tr]).predict_proba(X[te])[:, 1] / repeats
    return out


def block(y: np.ndarray, score: np.ndarray, pid) -> dict:
    return auc_ci(y, score, np.asarray(pid), n_boot=2000, seed=0)


def truth_oracles(recs: list[dict]) -> dict:
    y = np.array([r["primary"] == "lung" for r in recs], int)
    pid = [r["patient_id"] for r in recs]
    X = np.array([summary_row(r) for r in recs])
    out = {"n_patients": len(recs), "n_lung": int(y.sum()),
           "bayes_kinds_bones": block(y, np.array([bayes_log_lr(r, False) for r in recs]), pid),
           "bayes_kinds_bones_tumour": block(
               y, np.array([bayes_log_lr(r, True) for r in recs]), pid),
           "tumour_only": block(y, np.array([float(bool(r.get("tumour"))) for r in recs]), pid),
           "summary_logistic_oof": block(y, oof_scores(X, y), pid)}
    names = ["log_count", *(f"share_{k}" for k in KIND_SHARES),
             *(f"share_{g}" for g in BONE_GROUPS), "mean_log_volume"]
    for j, name in enumerate(names):
        out[f"single_{name}"] = block(y, X[:, j], pid)
    return out


def main(argv: list[str]) -> None:
    folder, target = Path(argv[0]), Path(argv[1])
    recs = load_truth(folder)
    result = {"cohort": str(folder), "truth": truth_oracles(recs)}
    if len(argv) > 2 and argv[2] == "measured":
        from benchmarks.seg3d_origin_candidates import measured_oracle

        result["measured_true_instances"] = measured_oracle(folder, recs)
    atomic_write_json(target, result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
