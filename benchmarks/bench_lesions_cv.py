"""Bundled vs scratch initialisation of the lesion stage on small simulated cohorts (issue 14).

Question: on a user's own cohort of a few hundred studies, does starting the lesion stage from
the bundled models (fine-tuning) beat training it from scratch with the same budget?

Cohort: studies of the generated site profile ``--site`` (default ``profile_11``: 1024 x 256,
2.21 mm, 0.55-0.86 M counts; never used to train or select the CNN lesion stage; with
``--stage detector`` the default is ``profile_17``, seeds from 960000, because the hotspot
detector's bundle trained on ``profile_11`` and no bundled model has seen ``profile_17``), seeds
``--seed``...(900000 for the CNN stage), about 60 % metastatic, each study its own patient. The cohorts of 100, 300 and
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

**The detector stage** (``--stage detector``, the pipeline ``Predictor.default()`` ships):
``lesions cv --stage detector`` (:func:`osteoscan.lesions.cv.cross_validate_records`, 5
patient-grouped folds by default here) on the first n studies for each n of ``--patient-n``, one
arm per ``--arms`` entry (``scratch``, or ``bundled`` with the rule after a colon:
``bundled:stage2``, ``bundled:patient``, ``bundled:none``; plain ``bundled`` is the shipped
rule). Each study is simulated and reduced to its cohort record once (the scans are dropped), so
the 1,000-study cohort fits in memory. Figures per n: each arm's summary, and every bundled arm
against ``scratch``: DeLong's paired test of the patient AUC, and the paired patient bootstrap of
patient and lesion AUC. The CNN stage's figures of ``--cnn-results`` (this benchmark's CNN part,
run earlier) are copied beside them, marked as such. Run (tuning profile, to choose the rule and
the default stage):
``nice -n 10 .venv/bin/python -m benchmarks.bench_lesions_cv --stage detector --site profile_14
--seed 950000 --patient-n 100,300 --arms scratch,bundled:stage2,bundled:patient,bundled:none
--out benchmarks/results/lesions_cv_detector_tuning.json --work /tmp/lcvd-tune``; held out:
``nice -n 10 .venv/bin/python -m benchmarks.bench_lesions_cv --stage detector --patient-n
100,300,1000 --work /tmp/lcvd`` (JSON: ``benchmarks/results/lesions_cv_detector.json``).
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
        settings = CVSettings(folds=args.patient_folds, init=arm, stage="cnn", seed=args.seed, seg_epochs=args.seg_epochs,
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


def detector_records(n: int, seed: int, site: str, have: list[dict] | None = None) -> list[dict]:
    """Cohort records of the first ``n`` studies (:func:`osteoscan.lesions.detector_cv.cohort_record`,
    scans dropped), simulated as :func:`simulate_cohort` does (seed ``seed + i``); ``have``: the
    first ones, already made."""
    from osteoscan.lesions.cv import bundled_detector
    from osteoscan.lesions.detector_cv import cohort_record
    from osteoscan.lesions.pipeline import simulate_studies

    base, out = bundled_detector(), list(have or [])
    for i in range(len(out), n):
        out.append(cohort_record(simulate_studies(1, seed + i, sites=(site,))[0], base))
        if (i + 1) % 50 == 0:
            log.info("records %d/%d", i + 1, n)
    return out


def _arm(name: str) -> tuple[str, str]:
    """``scratch`` / ``bundled`` / ``bundled:RULE`` -> (init, rule)."""
    from osteoscan.lesions.cv import BUNDLED_RULE

    init, _, rule = name.partition(":")
    return init, rule or BUNDLED_RULE


def detector_level(records: list[dict], args) -> dict:
    """The detector stage's ``lesions cv`` per arm on ``records``; every bundled arm against scratch."""
    import pandas as pd

    from osteoscan.evaluation.statistics import delong_roc_test
    from osteoscan.lesions.cv import CVSettings, cross_validate_records

    work, t0 = Path(args.work) / f"detector-{len(records)}", time.perf_counter()
    runs, arms = {}, [a for a in args.arms.split(",") if a]
    for arm in arms:
        init, rule = _arm(arm)
        settings = CVSettings(folds=args.detector_folds, init=init, stage="detector", bundled_rule=rule,
                              seed=args.seed, n_boot=args.n_boot)
        t = time.perf_counter()
        summary = cross_validate_records(records, work / f"cv-{arm.replace(':', '-')}", settings, resume=True,
                                         final=False)
        runs[arm] = {**{k: summary[k] for k in ("lesion_auc", "patient_auc", "lesion_sensitivity",
                                                "lesion_specificity", "by_burden", "n_lesions", "n_studies")},
                     "seconds": time.perf_counter() - t}
        log.info("detector n=%d %s: patient %.3f lesion %.3f", len(records), arm,
                 summary["patient_auc"]["value"], summary["lesion_auc"]["value"])
    frames = {a: pd.read_csv(work / f"cv-{a.replace(':', '-')}" / "studies_oof.csv", dtype={"study_id": str})
              .set_index("study_id").sort_index() for a in arms}
    lesions = {a: pd.read_csv(work / f"cv-{a.replace(':', '-')}" / "lesions_oof.csv", dtype={"study": str})
               for a in arms}
    out = {"n_studies": len(records), "folds": args.detector_folds, "arms": runs, "versus_scratch": {}}
    for arm in (a for a in arms if a != "scratch" and "scratch" in arms):
        y = (frames[arm]["label"] == "metastasis").to_numpy()
        yl = (lesions[arm]["label"] == "malignant").to_numpy()
        pid = frames[arm]["patient_id"].astype(str).to_numpy()
        out["versus_scratch"][arm] = {
            # each study is its own patient: DeLong's paired test holds at the patient level
            "patient_delong": delong_roc_test(y.astype(int), frames[arm]["prob_metastasis"].to_numpy(),
                                              frames["scratch"]["prob_metastasis"].to_numpy()),
            "patient_auc": _paired(y, frames[arm]["prob_metastasis"].to_numpy(),
                                   frames["scratch"]["prob_metastasis"].to_numpy(), pid, args.n_boot, args.seed),
            "lesion_auc": _paired(yl, lesions[arm]["probability"].to_numpy(),
                                  lesions["scratch"]["probability"].to_numpy(),
                                  lesions[arm]["patient"].astype(str).to_numpy(), args.n_boot, args.seed)}
    out["seconds"] = time.perf_counter() - t0
    return out


def detector_main(args) -> dict:
    """``--stage detector``: records once (the largest n), then each n, JSON after each."""
    from osteoscan.artefacts import atomic_write_json

    ns = [int(s) for s in args.patient_n.split(",") if int(s)]
    t0, records = time.perf_counter(), []
    cnn = Path(args.cnn_results)
    result = {"site": args.site, "seeds": f"{args.seed}-{args.seed + max(ns) - 1}", "threads": 1,
              "bundle": bundle_digest(), "records_seconds_per_study": {}, "detector": {},
              "cnn_reference": {"source": str(cnn), "note": "the CNN stage (--stage cnn) measured by this "
                                "benchmark's CNN part earlier, on the same site and seeds (2 folds), copied",
                                "patient_level": json.loads(cnn.read_text())["patient_level"] if cnn.is_file() else None}}
    for n in sorted(ns):  # records made as the sizes grow: the small cohorts come first
        t, before = time.perf_counter(), len(records)
        records = detector_records(n, args.seed, args.site, records)
        result["records_seconds_per_study"][str(n)] = (time.perf_counter() - t) / max(n - before, 1)
        result["detector"][str(n)] = detector_level(records[:n], args)
        atomic_write_json(args.out, result)
    result["seconds"] = time.perf_counter() - t0
    atomic_write_json(args.out, result)
    return result


def bundle_digest() -> dict:
    """First 12 hex digits of the sha256 of each bundled lesion network (its safetensors, under
    its stem) and of the hotspot detector's card (``hotspot_detector.json``): which bundle was
    measured."""
    import hashlib

    from osteoscan.lesions.bundle import ASSETS

    return {p.stem if p.suffix == ".safetensors" else p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in sorted(ASSETS.glob("*.safetensors")) + sorted(ASSETS.glob("hotspot_detector.json"))}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--patient-n", default="100",
                    help="cohort sizes of the patient-level part, comma-separated (first n studies; 0: skip)")
    ap.add_argument("--patient-folds", type=int, default=2)
    ap.add_argument("--site", default=None, help="default: profile_17 with --stage detector, else profile_11")
    ap.add_argument("--seed", type=int, default=None, help="default: 960000 (detector), 900000 (cnn)")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--clf-epochs", type=int, default=5)
    ap.add_argument("--seg-epochs", type=int, default=2)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--replicate-seeds", default="",
                    help="first seeds of further cohorts for part 2, comma-separated (e.g. 901000,902000)")
    ap.add_argument("--replicate-n", type=int, default=100)
    ap.add_argument("--work", default="/tmp/bench_lesions_cv")
    ap.add_argument("--out", default=None, help="default: results/lesions_cv.json, "
                    "lesions_cv_detector.json with --stage detector")
    ap.add_argument("--stage", default="cnn", choices=("cnn", "detector"))
    ap.add_argument("--arms", default="bundled,scratch", help="--stage detector: scratch, bundled, bundled:RULE")
    ap.add_argument("--detector-folds", type=int, default=5)
    ap.add_argument("--cnn-results", default=str(RESULTS / "lesions_cv.json"))
    args = ap.parse_args(argv)
    detector = args.stage == "detector"
    # the detector bundle trained on profile_11 (benchmarks.select_detector.TRAIN); profile_17 no
    # bundled model has seen
    args.site = args.site or ("profile_17" if detector else "profile_11")
    args.seed = 960_000 if args.seed is None and detector else (900_000 if args.seed is None else args.seed)
    if args.out is None:
        args.out = str(RESULTS / ("lesions_cv_detector.json" if detector else "lesions_cv.json"))
    return args


def main(argv: list[str] | None = None) -> dict:
    """Simulate, run the parts, write the JSON after each."""
    import torch

    from osteoscan.artefacts import atomic_write_json

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    if args.stage == "detector":
        return detector_main(args)
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
