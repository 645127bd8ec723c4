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
    OriginModel, feature_names, find_instances, patient_origin,
)
from osteoscan.volumetric.origin import (
    add_origin_features, kept_instances, fit_second_stage, instance_matrix, patient_probability,
)

CANDIDATES = ("A_instance_mean", "B_instance_mean_plus", "C_patient")


KINDS = dict(zip(CANDIDATES, ("instance", "instance_plus", "patient"), strict=True))


def study_tables(npz: Path, rec: dict, card: dict) -> dict:
    """One study's predicted instances, unfiltered and marked ``real`` / ``hits_met`` (the
    training rows of ``fit_second_stage``), and the true metastases as instances."""
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
    real = set(np.unique(labels[(true > 0) & (labels > 0)]).tolist())
    for t in table:
        t.update(hits_met=t["id"] in hit, real=t["id"] in real)
    true_prob = np.stack([1.0 - met_mask, 0 * met_mask, met_mask]).astype(np.float32)
    tl, ttable = find_instances(true_prob, heat, image, mm, names, 0.5, 1)
    add_origin_features(image, tl, ttable, names, s["hu_window"])
    for t in ttable:
        t.update(hits_met=True, real=True)
    return {"patient_id": rec["patient_id"], "primary": rec["primary"], "pred": table,
            "true": ttable}


def load(folder: Path, card: dict) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text())
        out.append(study_tables(path.with_suffix(".npz"), rec, card))
    return out


def fit(kind: str, studies: list[dict], base: list[str], source: str, post: dict) -> dict:
    """A candidate's card settings, fitted by the toolkit's own ``fit_second_stage`` on
    training studies (``source``: "pred" or "true" instances)."""
    settings = {"postprocess": dict(post)}
    fit_second_stage(settings, [(s[source], s["primary"]) for s in studies], base,
                     kind=KINDS[kind])
    return settings


def score(settings: dict, study: dict, base: list[str], source: str) -> float:
    """The patient's P(lung) as ``Segmenter3D`` computes it from these settings."""
    post = settings["postprocess"]
    table = kept_instances(study[source], settings.get("lesion_model"), post)
    if "origin_patient" in settings:
        return patient_probability(table, OriginModel.from_dict(settings["origin_patient"]),
                                   base, post.get("origin", "mask"))
    model = OriginModel.from_dict(settings["origin"])
    for t, p in zip(table, model.predict_proba(instance_matrix(table, model.names))
                    if table else [], strict=True):
        t["p_lung"] = float(p)
    return patient_origin(table, post.get("origin", "mask"))


def cv_scores(kind: str, studies: list[dict], base: list[str], source: str, post: dict,
              repeats: int = 10) -> np.ndarray:
    """Patient-level out-of-fold P(lung) (NaN -> 0.5), averaged over repeated 5-fold."""
    from sklearn.model_selection import StratifiedKFold

    known = [s for s in studies if s["primary"] in ("lung", "other")]
    y = np.array([s["primary"] == "lung" for s in known], int)
    out = np.zeros(len(known))
    for r in range(repeats):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=r).split(y, y):
            settings = fit(kind, [known[i] for i in tr], base, source, post)
            p = np.array([score(settings, known[i], base, source) for i in te])
            out[te] += np.where(np.isfinite(p), p, 0.5) / repeats
    return out


def cv_block(studies: list[dict], base: list[str], source: str, post: dict) -> dict:
    known = [s for s in studies if s["primary"] in ("lung", "other")]
    y = np.array([s["primary"] == "lung" for s in known], int)
    pid = np.array([s["patient_id"] for s in known])
    scores = {k: cv_scores(k, studies, base, source, post) for k in CANDIDATES}
    out = {k: auc_ci(y, v, pid, n_boot=2000, seed=0) for k, v in scores.items()}
    for k in CANDIDATES[1:]:
        out[f"{k}_vs_A_delong"] = delong_roc_test(y == 1, scores[k], scores[CANDIDATES[0]])
    return out


def heldout_block(train: list[dict], other: list[dict], base: list[str], card: dict) -> dict:
    """Candidates fitted on the whole training cohort, scored on another cohort, with the
    card's own origin model as the baseline (paired DeLong against it)."""
    known = [s for s in other if s["primary"] in ("lung", "other")]
    prim = [s["primary"] for s in known]
    post = card["settings"].get("postprocess") or {}
    shipped = {k: card["settings"][k] for k in ("origin", "lesion_model", "postprocess")}
    scores = {"card": [score(shipped, s, base, "pred") for s in known]}
    for k in CANDIDATES:
        settings = fit(k, train, base, "pred", post)
        scores[k] = [score(settings, s, base, "pred") for s in known]
    y = np.array([p == "lung" for p in prim])
    out = {"n_patients": len(known), "n_lung": int(y.sum())}
    for k, v in scores.items():
        out[k] = origin_auc(prim, v)
        if k != "card" and 0 < y.sum() < len(y):
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
    return cv_block(load(folder, card), base, "true", card["settings"].get("postprocess") or {})


def main(argv: list[str]) -> None:
    checkpoint, dump, what, target = Path(argv[0]), Path(argv[1]), argv[2].split(","), argv[3]
    load_checkpoint(checkpoint)  # the card must load as the toolkit loads it
    card = json.loads((checkpoint / "model.json").read_text())
    base = feature_names(check_channels(card["settings"]["channels"]))
    train = load(dump / "train", card)
    result = {"checkpoint": str(checkpoint), "train_studies": len(train)}
    if "cv" in what:
        post = card["settings"].get("postprocess") or {}
        result["cv_pred"] = cv_block(train, base, "pred", post)  # true instances: ceiling
    for name in ("select", "test"):
        if name in what:
            result[name] = heldout_block(train, load(dump / name, card), base, card)
    atomic_write_json(Path(target), result)
    print(json.dumps({k: v for k, v in result.items()}, indent=1, default=str)[:6000])


if __name__ == "__main__":
    main(sys.argv[1:])
