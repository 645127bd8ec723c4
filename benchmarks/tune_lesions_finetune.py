"""Choosing the fine-tuning rule of ``lesions cv --init bundled`` on a tuning cohort (issue 14).

The variants of docs/lesions.md "Fine-tuning rule", each a whole ``lesions cv``
(:func:`osteoscan.lesions.cv.cross_validate`) on 100 studies of ``profile_14`` (seeds
950000-950099: a cohort no reported figure uses), 2 folds, U-Nets 2 epochs, classifier 5, 500
bootstrap replicates. Variants that the rule no longer expresses (the classifier at 1e-3, false
positives at a fixed 0.5) are run by wrapping ``pipeline.fit_classifier`` and
``pipeline.classifier_samples``: an ablation, not a second way to train.

Run (niced, one thread, about 35 minutes on the shared machine; a finished variant in
``--work`` is kept): ``OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.tune_lesions_finetune
--work /tmp/tune``. Writes ``benchmarks/results/lesions_finetune_rule.json``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
FROZEN = {"seg_epochs": 0, "region_epochs": 0}
# name: (CVSettings overrides, classifier lr when fine-tuning (None: the rule's), false-positive threshold)
VARIANTS = {
    "bundle as shipped": ({**FROZEN, "clf_epochs": 0}, None, None),
    "U-Nets frozen, classifier lr 1e-3": (FROZEN, 1e-3, 0.5),
    "U-Nets frozen, classifier lr 1e-4": (FROZEN, None, 0.5),
    "U-Nets fine-tuned, classifier frozen": ({"clf_epochs": 0}, None, None),
    "previous rule (lr 1e-3, false positives at 0.5)": ({}, 1e-3, 0.5),
    "classifier lr 1e-4, false positives at 0.5": ({}, None, 0.5),
    "classifier lr 1e-3, false positives at the detector's threshold": ({}, 1e-3, None),
    "the rule": ({}, None, None),
    "scratch": ({"init": "scratch"}, None, None),
}


def run_variant(studies, name: str, work: Path, n_boot: int) -> dict:
    """One variant's ``lesions cv``; its summary figures."""
    from osteoscan.lesions import pipeline
    from osteoscan.lesions.cv import CVSettings, cross_validate

    overrides, lr, fp = VARIANTS[name]
    fit, samples = pipeline.fit_classifier, pipeline.classifier_samples
    if lr is not None:
        pipeline.fit_classifier = lambda *a, **k: fit(*a, **{**k, "lr": lr})
    pipeline.classifier_samples = lambda *a, **k: samples(*a, **{**k, "fp_threshold": fp})
    try:
        settings = CVSettings(**{"folds": 2, "stage": "cnn", "seg_epochs": 2, "region_epochs": 2,
                                 "clf_epochs": 5,
                                 "n_boot": n_boot, **overrides})
        out = cross_validate(studies, work / name.replace(" ", "_"), settings, resume=True)
    finally:
        pipeline.fit_classifier, pipeline.classifier_samples = fit, samples
    return {k: out[k] for k in ("patient_auc", "lesion_auc", "lesion_sensitivity", "lesion_specificity")}


def main(argv: list[str] | None = None) -> dict:
    """Simulate the tuning cohort, run every variant, write the JSON after each."""
    import torch

    from osteoscan.artefacts import atomic_write_json
    from osteoscan.lesions.pipeline import simulate_studies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--site", default="profile_14")
    ap.add_argument("--seed", type=int, default=950_000)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--work", default="/tmp/tune_lesions_finetune")
    ap.add_argument("--out", default=str(RESULTS / "lesions_finetune_rule.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    studies = [simulate_studies(1, args.seed + i, sites=(args.site,))[0] for i in range(args.n)]
    result = {"site": args.site, "seeds": f"{args.seed}-{args.seed + args.n - 1}", "variants": {}}
    for name in VARIANTS:
        result["variants"][name] = run_variant(studies, name, Path(args.work), args.n_boot)
        atomic_write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
