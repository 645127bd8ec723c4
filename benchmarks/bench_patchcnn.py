"""Does the patch CNN help the detector's hotspot trees? Measured on SELECTION sites only.

In one run, on the same studies:

* the patch CNN alone (``cnn_p``, :mod:`osteoscan.lesions.patchnet`): hotspot-level AUC on
  the selection candidates, and its out-of-fold AUC on the training candidates;
* the trees on the context features (``FEATURES``) vs the trees on ``FEATURES + cnn_p``,
  both fitted on the same training studies (the second with out-of-fold ``cnn_p``,
  3 folds by study) with everything else of :func:`fit_detector` unchanged:
  hotspot-level AUC (a candidate is positive when it overlaps a malignant lesion; 95 % CI
  by bootstrap over studies, the paired difference too), FROC (CPM, sensitivity at 1 FP per
  scan; their paired differences, uncapped, with bootstrap CIs over studies), patient AUC
  (DeLong CI, paired DeLong test).

Training: ``--n-train`` studies, study ``i`` (seed 100000 + i) on the ``i % 10``-th of the
training sites (as ``scripts/build_detector.py``); selection: ``--n-select`` studies
alternating site_b and profile_9 (seeds 400000-). The patient model's Platt scaling and
threshold are fitted on the first half of the selection studies; the figures that depend
on them (``second_half``) are scored on the other half; the hotspot AUC, uncapped FROC and
patient AUC do not depend on them and are scored on every selection study (``all``).
No test site (site_c, profile_7, profile_13, profile_9001) is read.

Run (records cached, with patches, under ``--cache``; the fitted networks and the
out-of-fold ``cnn_p`` are kept in ``--run`` and reused with ``--resume``)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_patchcnn \\
        --cache /tmp/det-patch-cache --run /tmp/det-patch-run --n-train 1000 --n-select 120

Writes ``benchmarks/results/detector_patchcnn.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
TRAIN = ("site_a", "profile_0", "profile_1", "profile_2", "profile_3", "profile_4",
         "profile_5", "profile_6", "profile_8", "profile_11")
SELECT = ("site_b", "profile_9")


def _oof(train, run: Path, resume: bool, seed: int, settings: dict):
    """The shipped patch net and the training records with out-of-fold ``cnn_p`` (kept in
    ``run``: the net as safetensors + card, the probabilities as one .npz)."""
    from osteoscan.lesions.patchnet import PatchScorer, with_cnn_p

    stem, probs = run / "hotspot_patch", run / "oof_cnn_p.npz"
    if resume and probs.is_file() and stem.with_suffix(".json").is_file():
        saved = np.load(probs, allow_pickle=False)
        if int(saved["studies"]) == len(train):
            cuts = np.cumsum([len(r["X"]) for r in train])[:-1]
            parts = np.split(saved["cnn_p"], cuts)
            return PatchScorer.load(stem), [{**r, "cnn_p": p} for r, p in zip(train, parts,
                                                                               strict=True)]
    scorer, out = with_cnn_p(train, seed=seed, **settings)
    run.mkdir(parents=True, exist_ok=True)
    scorer.save(stem)
    tmp = run / "oof_cnn_p.tmp.npz"
    np.savez(tmp, cnn_p=np.concatenate([r["cnn_p"] for r in out]), studies=len(train))
    tmp.replace(probs)
    return scorer, out


def _hotspot_aucs(records, scores: dict[str, list[np.ndarray]], n_boot: int = 1000) -> dict:
    """Hotspot-level AUC of each score and the paired differences with ``trees``, 95 % CIs
    by bootstrap over studies (:mod:`osteoscan.evaluation.statistics`)."""
    from osteoscan.evaluation.metrics import weighted_auc
    from osteoscan.evaluation.statistics import bootstrap_block

    y = np.concatenate([r["y"] for r in records]) == 1
    study = np.concatenate([np.full(len(r["y"]), i) for i, r in enumerate(records)])
    flat = {k: np.concatenate(v) for k, v in scores.items()}

    def stat(w):
        out = {k: weighted_auc(y, s, w) for k, s in flat.items()}
        if "trees" in flat:
            out.update({f"{k}_minus_trees": out[k] - out["trees"] for k in flat if k != "trees"})
        return out

    block = bootstrap_block(stat, study, n_boot=n_boot, seed=0)
    return {**block, "candidates": int(len(y)), "positives": int(y.sum())}


def _froc_difference(records, raw0: list, raw1: list, n_boot: int = 1000) -> dict:
    """CPM and sensitivity at 1 FP per scan (uncapped hotspot probabilities: no calibration
    involved) of ``raw1`` minus ``raw0``, with percentile 95 % CIs by bootstrap over studies."""
    from benchmarks.bench_detector import _froc_matches
    from osteoscan.evaluation.lesions import froc_score
    from osteoscan.evaluation.statistics import percentile_interval

    m0, m1 = _froc_matches(records, raw0), _froc_matches(records, raw1)

    def diff(idx):
        a, b = froc_score([m0[i] for i in idx]), froc_score([m1[i] for i in idx])
        return b["cpm"] - a["cpm"], b["sens@1"] - a["sens@1"]

    rng = np.random.default_rng(0)
    reps = np.array([diff(rng.integers(0, len(records), len(records))) for _ in range(n_boot)])
    point = diff(np.arange(len(records)))
    return {name: {"value": float(point[k]), "ci": list(percentile_interval(reps[:, k]))}
            for k, name in enumerate(("cpm_diff", "sens_at_1fp_diff"))}


def _study_figures(det, records) -> dict:
    from benchmarks.bench_detector import score_detector

    r = score_detector(det, records)
    return {"patient": r["patient"], "cpm": r["froc_metastasis"]["cpm"],
            "sens_at_1fp": r["sens_at_1fp"], "froc": r["froc_metastasis"],
            "cpm_uncapped": r["froc_metastasis_uncapped"]["cpm"],
            "sens_at_1fp_uncapped": r["froc_metastasis_uncapped"]["sens@1"],
            "normals": r["normals"], "bsi_r": r["bsi"]["pearson_r"],
            "sens_spec_at_threshold": r["sens_spec_at_threshold"],
            "probabilities": r["probabilities"]}


def compare(det0, det1, scorer, sel, half: int) -> dict:
    """Every figure of the module docstring for the two detectors on the selection records."""
    from osteoscan.evaluation.statistics import delong_roc_test
    from osteoscan.lesions.detector_train import arrays

    scores = {"cnn": [scorer.predict(r["patches"]) for r in sel],
              "trees": [det0.score(arrays(r))[0] for r in sel],
              "trees_cnn": [det1.score(arrays(r))[0] for r in sel]}
    out = {"hotspot_auc": _hotspot_aucs(sel, scores),
           "froc_uncapped_trees_cnn_minus_trees": _froc_difference(sel, scores["trees"],
                                                                   scores["trees_cnn"])}
    for name, part in (("all", sel), ("second_half", sel[half:])):
        a, b = _study_figures(det0, part), _study_figures(det1, part)
        y = np.array([int(r["label"]) for r in part])
        out[name] = {"studies": len(part), "trees": a, "trees_cnn": b,
                     "paired_delong_trees_cnn_minus_trees": delong_roc_test(
                         y, np.array(b["probabilities"]), np.array(a["probabilities"]))}
    return out


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="folder of the per-study .npz records")
    ap.add_argument("--run", required=True, help="folder for the patch nets and out-of-fold cnn_p")
    ap.add_argument("--resume", action="store_true", help="reuse the nets of --run")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-select", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="patch net epochs (FIT_DEFAULTS)")
    ap.add_argument("--save", default=None, help="write the detector with cnn_p to this folder")
    ap.add_argument("--out", default=str(RESULTS / "detector_patchcnn.json"))
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    from osteoscan.artefacts import atomic_write_text, dumps_json
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_detector

    torch.set_num_threads(1)
    t0 = time.time()
    train = simulated_records(TRAIN, range(100_000, 100_000 + args.n_train), args.cache,
                              patches=True)
    sel = simulated_records(SELECT, range(400_000, 400_000 + args.n_select), args.cache,
                            patches=True)
    t1 = time.time()
    settings = {} if args.epochs is None else {"epochs": args.epochs}
    scorer, train_oof = _oof(train, Path(args.run), args.resume, args.seed, settings)
    t2 = time.time()
    half = len(sel) // 2
    det0 = fit_detector(train, sel[:half], seed=args.seed)
    det1 = fit_detector(train_oof, sel[:half], seed=args.seed, patch=scorer)
    if args.save:
        det1.save(args.save)
    oof_auc = _hotspot_aucs(train_oof, {"cnn_oof": [r["cnn_p"] for r in train_oof]},
                            n_boot=200)["cnn_oof"]
    result = {"config": vars(args), "patch_net": scorer.card, "cnn_oof_train_hotspot_auc": oof_auc,
              "selection": compare(det0, det1, scorer, sel, half),
              "seconds": {"records": t1 - t0, "patch_nets": t2 - t1, "rest": time.time() - t2}}
    atomic_write_text(args.out, dumps_json(result, default=float))
    show = {k: result["selection"]["hotspot_auc"][k]["value"]
            for k in ("cnn", "trees", "trees_cnn", "trees_cnn_minus_trees")}
    print(json.dumps({"hotspot_auc": show, "oof": oof_auc["value"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
