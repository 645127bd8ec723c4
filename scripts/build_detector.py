"""Build the bundled hotspot-first detector in one command (seeded, CPU, torch-free fit).

    .venv/bin/python scripts/build_detector.py [--cache DIR] [bench args that replace the recipe's]

Runs ``benchmarks/bench_detector.py`` with :data:`RECIPE` (the bundle's cohorts: training on
site_a and 41 generated profiles, seeds from 130000; selection on site_b and four generated
profiles, seeds 400000-400199; test site_c, profile_7 and profile_13, 80 studies each, seeds
700000-700079; the design ``stack_bsi``), which fits the detector, scores it and the bundled
lesion stage on the held-out test sites, writes ``benchmarks/results/detector.json`` and
saves the detector into ``src/osteoscan/assets/lesions/hotspot_detector.{safetensors,json}``.
The card gets the held-out figures. A further argument replaces the recipe's (argparse keeps
the last: ``--n-train 200`` for a quick check, ``--cache DIR`` to reuse records). With
``--previous-cache DIR`` (records of the same test studies made by the code the current
bundle shipped with) the bundle being replaced is scored beside the new one as a second
baseline, with a paired DeLong test; ``--no-baseline`` skips the bundled lesion stage.

``--picture`` builds the bundle's picture-domain variant instead (docs/robustness.md, "The
picture-domain detector"): the same recipe, design and seeds with every training, selection
and test study rendered as its screen export (:data:`PICTURE`), saved into
``assets/lesions/picture/`` with ``domain: "picture"`` in its card, scored on the test
sites' exports beside the bundled detector (``benchmarks/results/picture_detector.json``).
It reads the shared candidate and context code, so after a change to the features one
command rebuilds it: ``scripts/build_detector.py --picture --cache DIR``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ASSET = ROOT / "src" / "osteoscan" / "assets" / "lesions"
RESULT = ROOT / "benchmarks" / "results" / "detector.json"


def _without_probabilities(block: dict) -> dict:
    """A held-out block for the card: the figures, not the per-study probabilities."""
    return {k: ({kk: vv for kk, vv in v.items() if kk != "probabilities"}
                if isinstance(v, dict) else v) for k, v in block.items()}


KEPT = ("count_band", "count_band_source")
"""Card settings that are not fitted here (docs/robustness.md: the count band, set by hand)
and survive a rebuild."""


def _kept_settings(card_path: Path) -> dict:
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: card[k] for k in KEPT if k in card}


def recipe() -> list[str]:
    """The bundle's arguments to ``bench_detector`` (docs/lesions.md); its picture-domain
    variant adds :data:`PICTURE`."""
    from benchmarks.select_detector import SELECT, TRAIN, TRAIN_SEED

    aug = []
    if AUGMENT:
        modes, counts, seeds = zip(*AUGMENT, strict=True)
        aug = ["--n-augmented", *map(str, counts), "--augment-mode", *modes,
               "--augmented-seed", *map(str, seeds)]
    return ["--train", *TRAIN, "--n-train", str(N_TRAIN), "--train-seed", str(TRAIN_SEED), *aug,
            "--select", *SELECT, "--n-select", "200", "--test", "site_c",
            "--extra-test", "profile_7", "profile_13", "--n-test", "80",
            "--design", "stack_bsi", "--stack", STACK, "--count-band", COUNT_BAND,
            "--bsi-hotspots", BSI_HOTSPOTS, "--context-features", *CONTEXT_FEATURES,
            *(["--uptake-balance"] if UPTAKE_BALANCE else []), "--timing", "0"]


N_TRAIN = 3600
"""Plain training studies of the bundle (seeds from TRAIN_SEED)."""

AUGMENT: tuple[tuple[str, int, int], ...] = ()
"""Augmented training studies of the bundle, (mode, studies, first seed) per cohort, on the
same training sites (:func:`osteoscan.lesions.augment.augment_scan`; docs/lesions.md,
"Augmented training")."""

COUNT_BAND = "card"
"""The bundle's count band: "card" keeps the bundled card's ``count_band`` (``[1.15, None]``),
which the selection sites favoured over none (docs/lesions.md, "Count band")."""


PICTURE = ["--domain", "picture", "--count-band", "none", "--match-fpr", "bundled",
           "--against", "bundled", "--no-baseline", "--bsi-hotspots", "all",
           "--n-augmented", "1800", "--augment-mode", "capture", "--augmented-seed", "960000"]
"""The picture-domain variant's arguments after :func:`recipe`: every study as its screen
export; no count band (pictures are never count-normalised); the BSI of every candidate, as
the variant was selected (the called-hotspots BSI, :data:`BSI_HOTSPOTS`, was chosen for the
count detector later and never on pictures; docs/robustness.md); the decision threshold at
sensitivity 0.90 on the selection exports, raised where needed to the bundled detector's
false-positive rate on the same studies' DICOM records; scored beside the bundled detector
on the same exports (the CNN lesion stage is not re-run on pictures); and 1,800 more training
studies drawn as screen captures and read back (``--augment-mode capture``, seeds from
960000; adopted in session 17 by the rule of docs/independent-sites.md, "The picture variant
trained on captures read back")."""


BSI_HOTSPOTS = "malignant"
"""The BSI of the hotspots called malignant only (card ``bsi_hotspots``), chosen with the
count band's seed noise on fresh selection studies (docs/lesions.md, "Low counts")."""


CONTEXT_FEATURES: tuple[str, ...] = (
    "y_body", "x_body", "abs_x_body", "peak_ratio", "sym_ratio", "vert_ratio",
    "other_ratio", "other_rel", "other_dist_mm", "area_mm2", "eccentricity", "extent",
    "major_axis_mm", "minor_axis_mm", "orientation", "row_neighbours", "view_candidates",
    "is_posterior", "soft_rel", "kidney_rel",
)
"""The context columns the bundle's trees take (card ``features``; a subset of
``osteoscan.lesions.context.FEATURES``): no column that measures a candidate against the
whole skeleton (``peak_z``, ``mean_z``, ``band_rel``), and the view's soft tissue and kidneys
(the arm ``kidney_var``, adopted in session 12 by the rule of docs/independent-sites.md, "The
kidneys and the soft tissue"); the picture variant takes the same ("The picture variant on
the new recipe")."""

UPTAKE_BALANCE = True
"""The training and selection studies draw each patient's balance of uptake between the
skeleton's parts (``bench_detector --uptake-balance``; the test sites are rendered without),
for the count detector and its picture variant alike."""


STACK = "all"
"""The second stage's stack columns (``bench_detector --stack``): "all" of
``stacking.STACK_FEATURES``, or "local" (``stacking.LOCAL_STACK``: no study-wide column;
docs/lesions.md, "The second stage's context")."""


def _last(args: list[str], flag: str) -> str | None:
    """The value of the last ``flag`` in ``args`` (argparse keeps the last)."""
    hits = [i for i, a in enumerate(args) if a == flag and i + 1 < len(args)]
    return args[hits[-1] + 1] if hits else None


def main(argv: list[str]) -> int:
    import shutil
    import tempfile

    from benchmarks.bench_detector import main as bench
    from osteoscan.artefacts import atomic_write_text, dumps_json

    picture = "--picture" in argv
    argv = [a for a in argv if a != "--picture"]
    asset = ASSET / "picture" if picture else ASSET
    result_path = RESULT.with_name("picture_detector.json") if picture else RESULT
    card_path = asset / "hotspot_detector.json"
    args = ["--save", str(asset), "--out", str(result_path), *recipe(),
            *(PICTURE if picture else []), *argv]
    kept = _kept_settings(card_path) if _last(args, "--count-band") == "card" else {}
    with tempfile.TemporaryDirectory() as previous:
        if _last(args, "--previous-cache") and card_path.is_file():
            # the bundle being replaced is the second baseline (bench_detector --previous)
            for path in asset.glob("hotspot_detector.*"):
                shutil.copy2(path, previous)
            args += ["--previous", previous]
        code = bench(args)
    if code:
        return code
    card = {**json.loads(card_path.read_text()), **kept,
            **({"domain": "picture"} if picture else {})}
    result = json.loads(result_path.read_text())
    card["held_out"] = {"config": result["config"],
                        **{k: _without_probabilities(v) for k, v in result.items()
                           if k.startswith("test")}}
    card["caveat"] = "trained, selected and tested on simulated scans only; research use"
    atomic_write_text(card_path, dumps_json(card, default=float))
    size = sum(p.stat().st_size for p in asset.glob("hotspot_detector.*")) / 1e6
    print(f"wrote {card_path} and its trees ({size:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
