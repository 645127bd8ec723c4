"""Origin models on the predicted instances of a 3-D network: the rule of session 7.

Reads ``benchmarks/seg3d_origin_dump.py``'s model-grid outputs of the chosen network
(stage 5, ``/tmp/seg3d6/exp/stage5-sel``) and scores three origin models
(docs/seg3d.md, "Origin: ceiling and features (session 7)"):

* ``A_instance_mean``: the current model: a logistic regression on the instance features
  (``instances.feature_names``) of the predicted instances that hit a true metastasis,
  the patient's P(lung) the mean over its metastatic instances kept in the mask;
* ``B_instance_mean_plus``: the same with ``origin.INSTANCE_ORIGIN_FEATURES`` added;
* ``C_patient``: a logistic regression on ``origin.PATIENT_FEATURES`` of each patient's
  kept metastatic instances (as inference sees them: lesion model and its cut applied).

``cv``: patient-level out-of-fold scores on the training cohort (10 x stratified 5-fold);
``select``: fitted on the whole training cohort, scored on the selection cohort; ``test``:
the same on the test cohort, once, with the card's own origin model as the baseline and the
paired DeLong test. Usage::

    nice -n 10 env OMP_NUM_THREADS=1 python -m benchmarks.seg3d_origin_candidates \
        /tmp/seg3d6/exp/stage5-sel /tmp/origin3d/dump cv,select OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_json
from osteoscan.evaluation.statistics import auc_ci, delong_roc_test
from osteoscan.evaluation.volumes import origin_auc
from osteoscan.training.checkpoint import load_checkpoint
from osteoscan.volumetric.inputs import check_channels
from osteoscan.volumetric.instances import (
    OriginModel, apply_lesion_model, feature_names, find_instances, patient_origin,
)
from osteoscan.volumetric.origin import (
    INSTANCE_ORIGIN_FEATURES, PATIENT_FEATURES, add_origin_features, instance_matrix,
    patient_features,
)

CANDIDATES = ("A_instance_mean", "B_instance_mean_plus", "C_patient")


def study_tables(npz: Path, rec: dict, card: dict) -> dict:
    """One study's instances: unfiltered (the training rows) and as inference keeps them."""
    s = card["settings"]
    post = s.get("postprocess") or {}
    names = check_channels(s["channels"])
    data = np.load(npz)
    image, prob = data["image"], data["prob"].astype(np.float32)
    heat, true = data["heat"].astype(np.float32), data["true"].astype(np.int32)
    mm = (float(s["spacing_mm"]),) * 3
    labels, table = find_instances(prob, heat, image, mm, names, post.get("threshold", 0.5),
                                   post.get("min_voxels", 2))
    add_origin_features(image, labels, table, names, s["hu_window"])
    malignant = [les["id"] for les in rec["lesions"] if les.get("malignant")]
    met_mask = np.isin(true, malignant)
    hit = set(np.unique(labels[met_mask & (labels > 0)]).tolist())
    for t in table:
        t["hits_met"] = t["id"] in hit
    lesion = OriginModel.from_dict(s["lesion_model"]) if s.get("lesion_model") else None
    cut = post.get("min_p_lesion", 0.0) if post.get("cut", "all") == "all" else 0.0
    _, kept = apply_lesion_model(labels, [dict(t) for t in table], lesion, cut)
    for t in kept:
        t["in_mask"] = t.get("p_lesion", 1.0) >= post.get("min_p_lesion", 0.0)
    true_prob = np.stack([1.0 - met_mask, 0 * met_mask, met_mask]).astype(np.float32)
    tl, ttable = find_instances(true_prob, heat, image, mm, names, 0.5, 1)
    add_origin_features(image, tl, ttable, names, s["hu_window"])
    return {"patient_id": rec["patient_id"], "primary": rec["primary"], "all": table,
            "kept": kept, "true": ttable}


def load(folder: Path, card: dict) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text())
        out.append(study_tables(path.with_suffix(".npz"), rec, card))
    return out


def fit(kind: str, studies: list[dict], base: list[str], source: str) -> OriginModel:
    """Fit one candidate on training studies (``source``: "pred" or "true" instances)."""
    known = [s for s in studies if s["primary"] in ("lung", "other")]
    if kind == "C_patient":
        rows = [(patient_features(s["kept" if source == "pred" else "true"], base),
                 s["primary"] == "lung") for s in known]
        rows = [(x, y) for x, y in rows if x is not None]
        return OriginModel(PATIENT_FEATURES).fit(np.array([x for x, _ in rows]),
                                                 np.array([y for _, y in rows], int))
    names = base + (list(INSTANCE_ORIGIN_FEATURES) if kind == "B_instance_mean_plus" else [])
    X, y = [], []
    for s in known:
        inst = [t for t in s["all"] if t["hits_met"]] if source == "pred" else s["true"]
        if inst:
            X.append(instance_matrix(inst, names, base))
            y += [s["primary"] == "lung"] * len(inst)
    return OriginModel(names).fit(np.vstack(X), np.array(y, int))


def score(kind: str, model: OriginModel, study: dict, base: list[str], source: str) -> float:
    table = [dict(t) for t in study["kept" if source == "pred" else "true"]]
    if kind == "C_patient":
        row = patient_features(table, base)
        return float("nan") if row is None else float(model.predict_proba(row[None])[0])
    for t, p in zip(table, model.predict_proba(instance_matrix(table, model.names, base))
                    if table else [], strict=True):
        t["p_lung"] = float(p)
    return patient_origin(table, "mask")


def cv_scores(kind: str, studies: list[dict], base: list[str], source: str,
              repeats: int = 10) -> np.ndarray:
    """Patient-level out-of-fold P(lung) (NaN -> 0.5), averaged over repeated 5-fold."""
    from sklearn.model_selection import StratifiedKFold

    known = [s for s in studies if s["primary"] in ("lung", "other")]
    y = np.array([s["primary"] == "lung" for s in known], int)
    out = np.zeros(len(known))
    for r in range(repeats):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=r).split(y, y):
            model = fit(kind, [known[i] for i in tr], base, source)
            p = np.array([score(kind, model, known[i], base, source) for i in te])
            out[te] += np.where(np.isfinite(p), p, 0.5) / repeats
    return out


def cv_block(studies: list[dict], base: list[str], source: str) -> dict:
    known = [s for s in studies if s["primary"] in ("lung", "other")]
    y = np.array([s["primary"] == "lung" for s in known], int)
    pid = np.array([s["patient_id"] for s in known])
    scores = {k: cv_scores(k, studies, base, source) for k in CANDIDATES}
    out = {k: auc_ci(y, v, pid, n_boot=2000, seed=0) for k, v in scores.items()}
    for k in CANDIDATES[1:]:
        out[f"{k}_vs_A_delong"] = delong_roc_test(y == 1, scores[k], scores[CANDIDATES[0]])
    return out


def heldout_block(train: list[dict], other: list[dict], base: list[str], card: dict) -> dict:
    """Candidates fitted on the whole training cohort, scored on another cohort, with the
    card's own origin model as the baseline (paired DeLong against it)."""
    known = [s for s in other if s["primary"] in ("lung", "other")]
    prim = [s["primary"] for s in known]
    shipped = OriginModel.from_dict(card["settings"]["origin"])
    scores = {"card": [score("A_instance_mean", shipped, s, base, "pred") for s in known]}
    for k in CANDIDATES:
        model = fit(k, train, base, "pred")
        scores[k] = [score(k, model, s, base, "pred") for s in known]
    y = np.array([p == "lung" for p in prim])
    out = {"n_patients": len(known), "n_lung": int(y.sum())}
    for k, v in scores.items():
        out[k] = origin_auc(prim, v)
        if k != "card":
            filled = [np.where(np.isfinite(v), v, 0.5), np.where(np.isfinite(scores["card"]),
                                                                 scores["card"], 0.5)]
            out[f"{k}_vs_card_delong"] = delong_roc_test(y, *filled)
    out["scores"] = {k: [float(x) for x in v] for k, v in scores.items()}
    out["primary"] = prim
    return out


def measured_oracle(folder: Path, recs=None, checkpoint: str = "/tmp/seg3d6/exp/stage5-sel"):
    """The candidates on the TRUE metastases' measured features (training cohort, CV)."""
    card = json.loads((Path(checkpoint) / "model.json").read_text())
    base = feature_names(check_channels(card["settings"]["channels"]))
    return cv_block(load(folder, card), base, "true")


def main(argv: list[str]) -> None:
    checkpoint, dump, what, target = Path(argv[0]), Path(argv[1]), argv[2].split(","), argv[3]
    load_checkpoint(checkpoint)  # the card must load as the toolkit loads it
    card = json.loads((checkpoint / "model.json").read_text())
    base = feature_names(check_channels(card["settings"]["channels"]))
    train = load(dump / "train", card)
    result = {"checkpoint": str(checkpoint), "train_studies": len(train)}
    if "cv" in what:
        result["cv_pred"] = cv_block(train, base, "pred")
        result["cv_true_instances"] = cv_block(train, base, "true")
    for name in ("select", "test"):
        if name in what:
            result[name] = heldout_block(train, load(dump / name, card), base, card)
    atomic_write_json(Path(target), result)
    print(json.dumps({k: v for k, v in result.items()}, indent=1, default=str)[:6000])


if __name__ == "__main__":
    main(sys.argv[1:])
