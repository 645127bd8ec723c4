"""Build the bundled 3-D SPECT/CT lesion segmenter in one command (docs/seg3d.md, "Eleventh run").

    .venv/bin/python scripts/build_seg3d.py             # simulate (if missing), train, select, ship
    .venv/bin/python scripts/build_seg3d.py --no-ship   # all but the copy into the package
    .venv/bin/python scripts/build_seg3d.py --evaluate  # then score the held-out profile_9 once

Steps, each skipped when its output exists (an interrupted training resumes):

1. ``osteoscan seg3d simulate`` the training cohort (:data:`TRAIN`: six site profiles at
   their own CT sampling) and the selection cohort (:data:`SELECT`: ``profile_7``, never
   trained on);
2. ``osteoscan seg3d train`` :data:`TRAIN_ARGS` from scratch, then its lesion and origin
   models on its own instances of the training studies;
3. ``osteoscan seg3d select`` its post-processing on the selection cohort (:data:`SELECT_ARGS`),
   and ``seg3d baseline`` (the learning-free hot-spot rule) on the same scans;
4. ship: the selected checkpoint is copied into ``src/osteoscan/assets/seg3d/`` only if its
   selection criterion (lesion DSC + lesion sensitivity at 1.5 FP/scan) is at least the
   baseline's on the same scans (the rule of docs/seg3d.md, written before the first build);
5. ``--evaluate``: the test cohort (:data:`TEST`: ``profile_9``, used for nothing else) is
   scored once with the shipped model and with the baseline, into
   ``benchmarks/results/seg3d_bundled.json`` (``benchmarks.seg3d_heldout``).

About 75 min on one core of the 2-core machine (session 17, load 2-3): 30 min simulating the
88 studies (about 18-25 s a study), 15 min of training, 20 min of second-stage fits, a few
minutes of selection; ``--evaluate`` adds 10 min.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSET = ROOT / "src" / "osteoscan" / "assets" / "seg3d"
PROFILES = ("profile_0", "profile_5", "profile_6", "profile_8", "profile_10", "profile_11")
TRAIN = {"n": 60, "seed": 11000, "profiles": PROFILES}
"""The training cohort: 60 new patients (seed 11000, used by no earlier run) of six sites."""
SELECT = {"n": 12, "seed": 9500, "profiles": ("profile_7",)}
"""The selection cohort: the tenth run's 12 profile_7 studies (same seed, same patients)."""
TEST = {"n": 16, "seed": 9600, "profiles": ("profile_9",)}
"""The test cohort: the tenth run's 16 profile_9 studies (same seed, same patients)."""
TRAIN_ARGS = ("--arch", "mtunet3d", "--patch", "16,32,32", "--spacing", "5",
              "--widths", "16,32,64", "--negatives", "bone", "--channels", "spectct2w",
              "--crops", "kind", "--loss", "lesion", "--samples", "6", "--epochs", "40",
              "--lr", "2e-3", "--seed", "0")
"""The chosen card's recipe (sixth run, stage 5) trained from scratch on the current
simulator."""
SELECT_ARGS = ("--thresholds", "0.3,0.5,0.8", "--min-sizes", "2,4",
               "--min-p-lesion", "0,0.2,0.4", "--cuts", "all,mask")
NOTES = ("3-D SPECT/CT bone-lesion segmenter trained on simulated SPECT/CT only "
         "(scripts/build_seg3d.py); research use only, not a medical device, not validated on "
         "patients.")


def run(*args: str) -> None:
    """One ``osteoscan`` command in a subprocess (the user's command line)."""
    subprocess.run([sys.executable, "-m", "osteoscan", *args], check=True, cwd=ROOT)


def simulate(folder: Path, cohort: dict) -> Path:
    """Write the cohort (skipped when its manifest exists)."""
    if not (folder / "manifest.csv").is_file():
        profiles = [a for p in cohort["profiles"] for a in ("--profile", p)]
        run("seg3d", "simulate", str(folder), "--n", str(cohort["n"]), "--seed",
            str(cohort["seed"]), *profiles, "--ct-spacing", "profile")
    return folder


def train(data: Path, out: Path) -> Path:
    """Train (resume an interrupted run; refit nothing once the lesion model is in the card)."""
    card = out / "model.json"
    if card.is_file() and "lesion_model" in json.loads(card.read_text()).get("settings", {}):
        return out
    resume = ("--resume",) if (out / "state.json").is_file() else ()
    run("seg3d", "train", str(data), "--out", str(out), *TRAIN_ARGS, *resume)
    return out


def criterion(folder: Path) -> float:
    """Lesion DSC + lesion sensitivity at 1.5 FP/scan: the best row of ``selection.csv``, or
    the figures of an evaluation's ``summary.json``."""
    table = folder / "selection.csv"
    if table.is_file():
        with table.open(newline="") as fh:
            return max(float(r["criterion"]) for r in csv.DictReader(fh))
    s = json.loads((folder / "summary.json").read_text())
    return float(s["dice_lesion"]["value"]) + float(s["froc"].get("sens@1.5", 0.0))


def ship(selected: Path, baseline: Path) -> Path:
    """Copy the selected checkpoint into the package if it beats the baseline (the rule)."""
    from osteoscan.training.checkpoint import load_checkpoint, save_checkpoint

    mine, ref = criterion(selected), criterion(baseline)
    if mine < ref:
        raise SystemExit(f"not shipped: selection criterion {mine:.3f} is below the hot-spot "
                         f"baseline's {ref:.3f} on the same scans")
    model, card = load_checkpoint(selected)
    card.notes, card.created = NOTES, ""
    card.metrics["selection"] = {"criterion": round(mine, 4), "baseline": round(ref, 4),
                                 "cohort": f"{SELECT['profiles'][0]}, seed {SELECT['seed']}, "
                                           f"{SELECT['n']} studies"}
    if ASSET.exists():
        shutil.rmtree(ASSET)
    save_checkpoint(ASSET, model, card)
    return ASSET


def evaluate(out: Path, model: Path) -> Path:
    """Score the test cohort once with ``model`` and with the baseline (same code, same run)."""
    test = simulate(out / "test", TEST)
    for name, cmd in (("bundled", ("evaluate", str(model))), ("baseline", ("baseline",))):
        if not (out / f"test-{name}" / "summary.json").is_file():
            run("seg3d", *cmd, str(test), "--out", str(out / f"test-{name}"))
    result = ROOT / "benchmarks" / "results" / "seg3d_bundled.json"
    subprocess.run([sys.executable, "-m", "benchmarks.seg3d_heldout", str(result),
                    f"bundled={out / 'test-bundled'}", f"baseline={out / 'test-baseline'}",
                    "paired=bundled,baseline"], check=True, cwd=ROOT)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "seg3d")
    parser.add_argument("--no-ship", action="store_true", help="leave the package as it is")
    parser.add_argument("--evaluate", action="store_true", help="then score profile_9 once")
    args = parser.parse_args()
    out = args.out
    network = train(simulate(out / "train", TRAIN), out / "network")
    select = simulate(out / "select", SELECT)
    if not (out / "selected" / "selection.csv").is_file():
        run("seg3d", "select", str(network), str(select), "--out", str(out / "selected"),
            *SELECT_ARGS)
    if not (out / "select-baseline" / "summary.json").is_file():
        run("seg3d", "baseline", str(select), "--out", str(out / "select-baseline"))
    model = out / "selected" if args.no_ship else ship(out / "selected", out / "select-baseline")
    print(f"model: {model}")
    if args.evaluate:
        print(f"held-out figures: {evaluate(out, model)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
