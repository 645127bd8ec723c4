"""Recompute every bundled model card's figures from the SHIPPED weights.

Lesion models (``src/osteoscan/assets/lesions``): each card's ``metrics`` were computed by
``scripts/build_models.py`` on the recipe's held-out studies (``held_out``: simulated site_c,
never seen in training). This benchmark simulates the same studies, runs the shipped weights
and reports, per figure: the card's value and 95 % CI, the recomputed value, their absolute
difference and whether the recomputed value lies in the card's CI. ``--subset k`` uses only
the first k held-out studies, compared with the card's ``metrics_subset`` (its figures on the
first ``CHECK_STUDIES`` = 8; the default test suite's fast variant does that).

Reference classifier (``src/osteoscan/assets/reference``): the card's
``test_auc_external_subset`` (the first 16 site_c studies of its cohort, rendered in memory:
:mod:`osteoscan.workflows.reference`) is always recomputed; with ``--reference-manifest`` (the
cohort ``scripts/build_reference.py`` simulates into ``runs/reference-cohort``: 1,000 studies,
seed 2027, training and selection profiles plus site_c) the shipped weights predict its
site_c files through ``osteoscan predict`` (the external test set: site_c is never used for
training or selection) and ``test_auc_external`` is recomputed with the card's bootstrap (500
replicates, seed 0).

Writes ``benchmarks/results/cards.json``. Run:
``.venv/bin/python -m benchmarks.bench_cards [--subset 8] [--reference-manifest runs/reference-cohort/manifest.csv]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def lesion_cards(subset: int | None = None) -> dict:
    """{model: {figure: {card, card_ci, recomputed, abs_diff, within_ci}, seconds}}."""
    from osteoscan.lesions.bundle import ASSETS, read_card
    from osteoscan.lesions.recipes import RECIPES, figures, load, studies

    out = {}
    for r in RECIPES:
        card = read_card(ASSETS / r.name)
        held = studies(r.held_out, subset)
        t = time.perf_counter()
        fresh = figures(r, load(r, ASSETS / r.name), held)
        row = {"held_out": card.get("held_out"), "studies": len(held), "figures": {}}
        stated = card.get("metrics") or {}
        if subset is not None:  # the card states the first CHECK_STUDIES separately
            stated = {k: v for k, v in card["metrics_subset"].items() if k != "studies"}
            row["card_subset_studies"] = card["metrics_subset"]["studies"]
        for name, block in stated.items():
            value = fresh[name]["value"]
            row["figures"][name] = {
                "card": block["value"], "card_ci": [block["ci_low"], block["ci_high"]],
                "recomputed": value, "recomputed_ci": [fresh[name]["ci_low"], fresh[name]["ci_high"]],
                "abs_diff": abs(value - block["value"]),
                "within_ci": block["ci_low"] <= value <= block["ci_high"],
            }
        row["seconds"] = time.perf_counter() - t
        out[r.name] = row
    return out


def reference_card(manifest: Path) -> dict:
    """The reference card's external-test AUC recomputed on the cohort's site_c studies."""
    import pandas as pd

    from osteoscan.evaluation.statistics import auc_ci, ci_value
    from osteoscan.training.checkpoint import load_checkpoint

    _, card = load_checkpoint("reference")
    manifest = Path(manifest).resolve()
    frame = pd.read_csv(manifest, dtype=str)
    external = frame[frame["site"] == "site_c"]
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        # the sub-manifest sits beside the cohort's: its image paths are relative to that folder
        sub, preds = manifest.parent / "manifest_bench_cards_site_c.csv", Path(tmp) / "pred.csv"
        external.to_csv(sub, index=False)
        osteoscan = Path(sys.executable).with_name("osteoscan")
        try:
            subprocess.run([str(osteoscan), "predict", "reference", str(sub), "-o", str(preds)],
                           check=True, cwd=manifest.parent)
        finally:
            sub.unlink()
        p = pd.read_csv(preds, dtype={"study_id": str, "patient_id": str})
    y = (p["label"] == card.positive).to_numpy()
    fresh = auc_ci(y, p[f"prob_{card.positive}"].to_numpy(), p["patient_id"].to_numpy(), n_boot=500, seed=0)
    block = card.metrics["test_auc_external"]
    value = fresh["value"]
    return {"test_auc_external": {"card": ci_value(block), "card_ci": [block["ci_low"], block["ci_high"]],
                                  "recomputed": value, "abs_diff": abs(value - ci_value(block)),
                                  "within_ci": block["ci_low"] <= value <= block["ci_high"],
                                  "studies": int(len(p))},
            "seconds": time.perf_counter() - t}


def reference_subset() -> dict:
    """The reference card's ``test_auc_external_subset`` recomputed in memory."""
    from osteoscan.artefacts.paths import REFERENCE_DIR
    from osteoscan.workflows.reference import CHECK_STUDIES, external_auc

    block = json.loads((REFERENCE_DIR / "model.json").read_text())["metrics"].get(
        "test_auc_external_subset")
    if block is None:
        return {"missing": "the card has no test_auc_external_subset (built before it existed)"}
    t = time.perf_counter()
    value = external_auc(str(REFERENCE_DIR), first=CHECK_STUDIES)["value"]
    return {"card": block["value"], "card_ci": [block["ci_low"], block["ci_high"]],
            "recomputed": value, "abs_diff": abs(value - block["value"]),
            "within_ci": block["ci_low"] <= value <= block["ci_high"], "studies": CHECK_STUDIES,
            "seconds": time.perf_counter() - t}


def main(argv: list[str] | None = None) -> dict:
    """Run and write the JSON."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subset", type=int, default=None, help="first k held-out studies only")
    ap.add_argument("--reference-manifest", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = {"threads": 1, "subset": args.subset, "lesions": lesion_cards(args.subset),
           "reference_subset": reference_subset()}
    if args.reference_manifest:
        out["reference"] = reference_card(args.reference_manifest)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cards.json").write_text(json.dumps(out, indent=2, default=float))
    print(json.dumps(out, indent=1, default=float))
    return out


if __name__ == "__main__":
    main()
