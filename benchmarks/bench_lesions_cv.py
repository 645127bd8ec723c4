"""Bundled vs scratch initialisation of the lesion stage on small simulated cohorts (issue 14).

Question: on a user's own cohort of a few hundred studies, does starting the lesion stage from
the bundled models (fine-tuning) beat training it from scratch with the same budget?

Cohort: studies of the generated site profile ``--site`` (default ``profile_11``: 1024 x 256,
2.21 mm, 0.55-0.86 M counts; never used to train or select any bundled model), seeds
``--seed``..., about 60 % metastatic, each study its own patient. The cohorts of 100, 300 and
1,000 studies are nested (the first n studies), simulated once.

Two parts, both with the folds of ``osteoscan lesions cv`` (patient-grouped, stratified,
:func:`osteoscan.lesions.cv.assign_folds`) and the one training loop; the two arms of a part
see the same folds, studies and epochs, and differ in the starting weights and in the fine-tuning
rule that goes with them (the bundled classifier continues at a tenth of its learning rate,
``pipeline.FINE_TUNE_CLF_LR``; docs/lesions.md "Fine-tuning rule", chosen on ``profile_14``):

1. **Lesion level, every cohort size** (``--sizes``): the lesion classifier alone
   (:func:`osteoscan.lesions.training.fit_classifier`, ``init`` = the bundled classifier or
   none), trained on the annotated lesions (true masks, true regions) of the training folds,
   scored on the held-out folds' annotated lesions.
2. **Patient level, the first n studies for each n of ``--patient-n``** (100): the whole
   ``lesions cv`` (:func:`osteoscan.lesions.cv.cross_validate`: hotspot U-Net, region U-Net and classifier
   per fold, each held-out study analysed by its fold's stage), ``--init bundled`` vs
   ``scratch``.

Figures: AUC per arm and the paired difference (bundled - scratch), all with 95 % CIs from the
patient bootstrap of ``osteoscan.evaluation.statistics`` (the same replicate weights for both
arms, so the difference's CI is paired).

Sized for a shared, loaded 2-core CPU (one torch thread, niced; about 0.6 s to simulate a
study and 0.7 s to analyse one there): part 1 with 3 folds and 5 classifier epochs; part 2 on
100 studies, 2 folds, 2 epochs of each U-Net and 5 of the classifier. Everything is loaded with
``threads=None``: two OpenMP threads on a machine with a load of 12 spun in barriers and made
the stage 10x slower. Run:
``nice -n 10 .venv/bin/python -m benchmarks.bench_lesions_cv --work /tmp/lcv``; the JSON goes to
``benchmarks/results/lesions_cv.json`` (rewritten after each part; a patient-level fold already
in ``--work`` is kept, so a rerun with the same ``--work`` and settings resumes it). ``bundle`` in
the JSON names the bundled weights measured (sha256 prefixes).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
log = logging.getLogger("bench_lesions_cv")


def _paired(y, p_bundled, p_scratch, patients, n_boot: int, seed: int) -> dict:
    """AUC of both arms and their difference, from the same patient-bootstrap replicates."""
    from osteoscan.evaluation.metrics import weighted_auc
    from osteoscan.evaluation.statistics import bootstrap_block

    y = np.asarray(y).astype(bool)

    def stat(w):
        a, b = weighted_auc(y, p_bundled, w), weighted_auc(y, p_scratch, w)
        return {"bundled": a, "scratch": b, "difference": a - b}

    return bootstrap_block(stat, np.asarray(patients).astype(str), n_boot=n_boot, seed=seed)


def simulate_cohort(n: int, seed: int, site: str, keep: int):
    """Classifier samples of ``n`` studies (streamed: scans are dropped after sampling) and the
    first ``keep`` studies whole (for the patient-level part)."""
    from osteoscan.lesions.pipeline import simulate_studies
    from osteoscan.lesions.training import classifier_samples

    chunks, kept = [], []
    for i in range(n):
        st = simulate_studies(1, seed + i, sites=(site,))[0]
        if i < keep:
            kept.append(st)
        if st.lesion_labels:
            s = classifier_samples([st])
            s["study"] = np.full(len(s["y"]), i)
            chunks.append(s)
        if (i + 1) % 50 == 0:
            log.info("simulated %d/%d", i + 1, n)
    samples = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    return samples, kept


def lesion_level(samples: dict, n: int, kept_labels: np.ndarray, args) -> dict:
    """Part 1 on the first ``n`` studies: classifier from the bundled weights vs from scratch."""
    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.lesions.bundle import ASSETS
    from osteoscan.lesions.pipeline import FINE_TUNE_CLF_LR
    from osteoscan.lesions.training import fit_classifier

    fold_of_study = _folds(kept_labels[:n], args.folds, args.seed)
    idx = np.flatnonzero(samples["study"] < n)
    fold = fold_of_study[samples["study"][idx]]
    probs = {"bundled": np.zeros(len(idx)), "scratch": np.zeros(len(idx))}
    t0 = time.perf_counter()
    for k in range(args.folds):
        train, test = idx[fold != k], idx[fold == k]
        for arm in probs:
            init = LesionAnalyzer.load(ASSETS, threads=None).classifier if arm == "bundled" else None
            clf = fit_classifier(samples, index=train, epochs=args.clf_epochs, seed=args.seed + k,
                                 width=16, init=init, **({"lr": FINE_TUNE_CLF_LR} if init else {}))
            probs[arm][fold == k] = clf.predict_arrays({c: samples[c][test] for c in ("patch", "context", "tab")})
    y = samples["y"][idx]
    return {"n_studies": n, "n_lesions": int(len(idx)), "n_malignant": int(y.sum()),
            "auc": _paired(y, probs["bundled"], probs["scratch"], samples["patient"][idx],
                           args.n_boot, args.seed),
            "seconds": time.perf_counter() - t0}


def _folds(positive: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The study folds of ``lesions cv`` for studies that are each their own patient."""
    from osteoscan.data.splits import kfold_splits

    out = np.full(len(positive), -1)
    ids = [str(i) for i in range(len(positive))]
    for k, split in enumerate(kfold_splits(positive.astype(str), ids, k=folds, val_fraction=0.0, seed=seed)):
        out[split.test] = k
    return out


def patient_level(studies: list, args, name: str | None = None) -> dict:
    """Part 2 on ``studies``: the whole ``lesions cv`` with ``--init bundled`` and ``--init scratch``
    (folders ``--work/<name>/cv-<arm>``, default ``patient-<n>``; a fold already there is kept)."""
    import pandas as pd

    from osteoscan.evaluation.statistics import delong_roc_test
    from osteoscan.lesions.cv import CVSettings, cross_validate

    work = Path(args.work) / (name or f"patient-{len(studies)}")
    runs, t0 = {}, time.perf_counter()
    for arm in ("bundled", "scratch"):
        settings = CVSettings(folds=args.patient_folds, init=arm, seed=args.seed, seg_epochs=args.seg_epochs,
                              region_epochs=args.seg_epochs, clf_epochs=args.clf_epochs,
                              n_boot=args.n_boot)
        runs[arm] = cross_validate(studies, work / f"cv-{arm}", settings, resume=True)
        log.info("patient level n=%d %s done", len(studies), arm)
    frames = {arm: pd.read_csv(work / f"cv-{arm}" / "studies_oof.csv", dtype={"study_id": str})
              .set_index("study_id").sort_index() for arm in runs}
    lesions = {arm: pd.read_csv(work / f"cv-{arm}" / "lesions_oof.csv", dtype={"study": str})
               for arm in runs}
    y = (frames["bundled"]["label"] == "metastasis").to_numpy()
    yl = (lesions["bundled"]["label"] == "malignant").to_numpy()
    p_bundled, p_scratch = (frames[a]["prob_metastasis"].to_numpy() for a in ("bundled", "scratch"))
    return {"n_studies": len(studies), "folds": args.patient_folds, "seg_epochs": args.seg_epochs,
            # each study is its own patient: DeLong's paired test holds at the patient level
            "patient_delong": delong_roc_test(y.astype(int), p_bundled, p_scratch),
            "patient_auc": _paired(y, p_bundled, p_scratch, frames["bundled"]["patient_id"].astype(str).to_numpy(), args.n_boot, args.seed),
            "lesion_auc": _paired(yl, lesions["bundled"]["probability"].to_numpy(),
                                  lesions["scratch"]["probability"].to_numpy(),
                                  lesions["bundled"]["patient"].astype(str).to_numpy(), args.n_boot, args.seed),
            "summaries": {arm: {k: runs[arm][k] for k in ("lesion_auc", "patient_auc", "lesion_sensitivity",
                                                          "lesion_specificity", "by_burden")} for arm in runs},
            "seconds": time.perf_counter() - t0}


def replicates(args) -> dict:
    """Part 2 again on independent 100-study cohorts (``--replicate-seeds``), and the mean of the
    per-cohort differences (bundled - scratch) with its CI from the patient bootstrap of all
    their patients together (each cohort's AUCs from its own patients' weights)."""
    import pandas as pd

    from osteoscan.evaluation.metrics import weighted_auc
    from osteoscan.evaluation.statistics import bootstrap_block
    from osteoscan.lesions.pipeline import simulate_studies

    seeds = [int(s) for s in args.replicate_seeds.split(",") if s]
    out, frames = {}, []
    for seed in seeds:
        studies = [simulate_studies(1, seed + i, sites=(args.site,))[0] for i in range(args.replicate_n)]
        name = f"replicate-{seed}"
        out[str(seed)] = patient_level(studies, args, name)
        arm = {a: pd.read_csv(Path(args.work) / name / f"cv-{a}" / "studies_oof.csv", dtype={"study_id": str})
               .set_index("study_id").sort_index() for a in ("bundled", "scratch")}
        frames.append(arm["bundled"].assign(scratch=arm["scratch"]["prob_metastasis"], cohort=seed))
        log.info("replicate %d: %s", seed, json.dumps(out[str(seed)]["patient_auc"]["difference"]))
    if not frames:
        return out
    pool = pd.concat(frames)
    y = (pool["label"] == "metastasis").to_numpy()
    masks = [(pool["cohort"] == s).to_numpy() for s in seeds]
    pb, ps = pool["prob_metastasis"].to_numpy(), pool["scratch"].to_numpy()

    def stat(w):
        return {"mean_difference": np.mean([weighted_auc(y[m], pb[m], w[:, m]) - weighted_auc(y[m], ps[m], w[:, m])
                                            for m in masks], axis=0)}

    out["pooled"] = bootstrap_block(stat, pool["patient_id"].astype(str).to_numpy(), n_boot=args.n_boot,
                                    seed=args.seed)["mean_difference"]
    out["pooled"]["cohorts"] = seeds
    return out


def bundle_digest() -> dict:
    """First 12 hex digits of the sha256 of each bundled lesion network: which bundle was measured."""
    import hashlib

    from osteoscan.lesions.bundle import ASSETS

    return {p.stem: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in sorted(ASSETS.glob("*.safetensors"))}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--patient-n", default="100",
                    help="cohort sizes of the patient-level part, comma-separated (first n studies; 0: skip)")
    ap.add_argument("--patient-folds", type=int, default=2)
    ap.add_argument("--site", default="profile_11")
    ap.add_argument("--seed", type=int, default=900_000)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--clf-epochs", type=int, default=5)
    ap.add_argument("--seg-epochs", type=int, default=2)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--replicate-seeds", default="",
                    help="first seeds of further cohorts for part 2, comma-separated (e.g. 901000,902000)")
    ap.add_argument("--replicate-n", type=int, default=100)
    ap.add_argument("--work", default="/tmp/bench_lesions_cv")
    ap.add_argument("--out", default=str(RESULTS / "lesions_cv.json"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Simulate, run the parts, write the JSON after each."""
    import torch

    from osteoscan.artefacts import atomic_write_json

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",") if int(s)]
    patient_ns = [int(s) for s in args.patient_n.split(",") if int(s)]
    t0 = time.perf_counter()
    n_sim = max(sizes + patient_ns, default=0)  # 0: replicates only
    samples, kept = (simulate_cohort(n_sim, args.seed, args.site, max(patient_ns, default=0)) if n_sim
                     else ({"study": np.zeros(0, int), "y": np.zeros(0)}, []))
    positive = np.zeros(n_sim, int)
    for i in np.unique(samples["study"]):
        positive[i] = int(samples["y"][samples["study"] == i].any())
    from osteoscan.lesions.pipeline import FINE_TUNE_CLF_LR

    result = {"site": args.site, "fine_tune_clf_lr": FINE_TUNE_CLF_LR, "false_positives": "detector threshold", "seeds": f"{args.seed}-{args.seed + len(positive) - 1}", "folds": args.folds,
              "clf_epochs": args.clf_epochs, "threads": 1, "bundle": bundle_digest(),
              "simulate_seconds": time.perf_counter() - t0, "lesion_level": {}, "patient_level": {}}
    for n in sizes:
        result["lesion_level"][str(n)] = lesion_level(samples, n, positive, args)
        atomic_write_json(args.out, result)
        log.info("lesion level n=%d: %s", n, json.dumps(result["lesion_level"][str(n)]["auc"]))
    for n in patient_ns:
        result["patient_level"][str(n)] = patient_level(kept[:n], args)
        atomic_write_json(args.out, result)
        log.info("patient level n=%d: %s", n, json.dumps(result["patient_level"][str(n)]["patient_auc"]))
    if args.replicate_seeds:
        result["replicates"] = replicates(args)
        atomic_write_json(args.out, result)
    result["seconds"] = time.perf_counter() - t0
    atomic_write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
