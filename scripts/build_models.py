"""Rebuild every bundled model from a seed (``make models``).

    .venv/bin/python scripts/build_models.py                   # everything, into the package
    .venv/bin/python scripts/build_models.py --only hotspot_unet --resume
    .venv/bin/python scripts/build_models.py --scale 0.1 --no-ship --out /tmp/check   # end-to-end check
    .venv/bin/python scripts/build_models.py --figures-only     # card figures of the SHIPPED weights

The bundled models are a list of recipes: the reference classifier
(``scripts/build_reference.py``: simulate its cohort, ``osteoscan train
configs/reference.yaml``, ship) and the lesion models of
:data:`osteoscan.lesions.recipes.RECIPES` (data seed, simulator settings, configuration,
stages); the hotspot detector and its picture variant come from ``scripts/build_detector.py``
(then ``--picture``), the 3-D SPECT/CT segmenter from ``scripts/build_seg3d.py``.
Each lesion stage writes ``OUT/<name>/stage<k>-<digest>.safetensors/.json`` (the digest of the
recipe up to that stage); ``--resume`` loads a finished stage of the same recipe instead of
training it again (delete the folder when a model it ``needs`` was rebuilt). The final model gets its card figures
(:mod:`osteoscan.lesions.figures`, on the recipe's held-out site_c studies) and is copied into
``src/osteoscan/assets/lesions/``. ``OUT/<name>/build.json`` records wall and CPU seconds per
stage (CPU time is what one core would take: the build runs on one thread by default).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "reference"
DETECTOR = "hotspot_detector"
SEG3D = "seg3d"
SCRIPT_BUILT = {REFERENCE: "scripts/build_reference.py", DETECTOR: "scripts/build_detector.py",
                SEG3D: "scripts/build_seg3d.py"}
"""Bundled models built by their own seeded script instead of a lesion recipe."""


def build_lesion_model(r, out: Path, *, resume: bool, built: dict, ship: bool) -> object:
    """Run the stages of recipe ``r`` (resuming finished ones), add figures, ship."""
    from osteoscan.lesions.bundle import ASSETS
    from osteoscan.lesions.recipes import card_figures, load, stage_key, studies

    folder = out / r.name
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {n: built.get(n) or load(_recipe(n), ASSETS / n) for n in r.needs}
    data = studies(r.data)
    model, seconds, cpu = None, [], []
    for k, st in enumerate(r.stages):
        stem = folder / f"stage{k}-{stage_key(r, k)}"  # another recipe's stage is not resumed
        if resume and stem.with_suffix(".json").is_file():
            model = load(r, stem)
            logging.info("%s stage %d: resumed from %s", r.name, k, stem)
            continue
        t, c = time.perf_counter(), time.process_time()
        model = _train(r, k, data[:st.studies], model, inputs)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        model.save(stem)
        logging.info("%s stage %d: %.0f s wall, %.0f s CPU", r.name, k, seconds[-1], cpu[-1])
    model.card["training"].update(data=r.data.describe(), recipe=_describe(r))
    if r.select is not None:
        model.card["training"]["selected_on"] = r.select.describe()
    model.card.update(card_figures(r, model))
    model.save(folder / "final")
    (folder / "build.json").write_text(json.dumps(
        {"stage_seconds": seconds, "stage_cpu_seconds": cpu, "stages": [vars(s) for s in r.stages],
         "metrics": model.card["metrics"]}, indent=2, default=float))
    if ship:
        model.save(ASSETS / r.name)
    return model


def _train(r, k, train, previous, inputs):
    from osteoscan.lesions.recipes import train_stage

    return train_stage(r, k, train, previous, inputs)


def _recipe(name: str):
    from osteoscan.lesions.recipes import recipe

    return recipe(name)


def _describe(r) -> str:
    stages = "; ".join(f"{s.epochs} epochs on the first {s.studies} studies, lr {s.lr:g}" for s in r.stages)
    return f"osteoscan.lesions.recipes {r.name}: {stages}; seed 0"


def figures_only(names: list[str]) -> None:
    """Write the card figures of the shipped weights into the shipped cards (weights untouched)."""
    from osteoscan.lesions.bundle import ASSETS, save_card
    from osteoscan.lesions.recipes import card_figures, load

    for name in names:
        r = _recipe(name)
        model = load(r, ASSETS / name)
        model.card.update(card_figures(r, model))
        model.card.setdefault("training", {})["recipe"] = _describe(r)
        save_card(model.card, ASSETS / name)
        print(name, json.dumps(model.card["metrics"], default=float))


def main(argv: list[str] | None = None) -> None:
    import torch

    from osteoscan.lesions.recipes import RECIPES, scaled

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help=f"recipes to build ({REFERENCE}, "
                    + ", ".join(r.name for r in RECIPES) + "); default all")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "models")
    ap.add_argument("--resume", action="store_true", help="load finished stages instead of retraining")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of studies and epochs (a check)")
    ap.add_argument("--no-ship", action="store_true", help="do not copy into src/osteoscan/assets")
    ap.add_argument("--figures-only", action="store_true", help="card figures of the shipped weights")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    names = args.only or [*SCRIPT_BUILT, *(r.name for r in RECIPES)]
    if args.figures_only:
        figures_only([n for n in names if n not in SCRIPT_BUILT])
        return
    ship = not args.no_ship and args.scale == 1.0
    if REFERENCE in names and args.scale != 1.0:
        logging.info("reference: no scaled mode (its recipe is configs/reference.yaml); skipped")
    elif REFERENCE in names:
        ref = [sys.executable, str(ROOT / "scripts" / "build_reference.py")]
        subprocess.run(ref if ship else [*ref, "--no-ship"], check=True, cwd=ROOT)
    if DETECTOR in names and ship:  # its own seeded script, which always ships
        build = [sys.executable, str(ROOT / "scripts" / "build_detector.py")]
        subprocess.run(build, check=True, cwd=ROOT)
        subprocess.run([*build, "--picture"], check=True, cwd=ROOT)  # its picture variant
    elif DETECTOR in names:
        logging.info("%s: built only into the package (scripts/build_detector.py); skipped", DETECTOR)
    if SEG3D in names and ship:  # the 3-D segmenter: its own script (about 2 h of one core)
        subprocess.run([sys.executable, str(ROOT / SCRIPT_BUILT[SEG3D])], check=True, cwd=ROOT)
    elif SEG3D in names:
        logging.info("%s: built only at full scale (scripts/build_seg3d.py); skipped", SEG3D)
    built: dict = {}
    for r in RECIPES:
        if r.name in names:
            rr = r if args.scale == 1.0 else scaled(r, args.scale)
            built[r.name] = build_lesion_model(rr, args.out, resume=args.resume, built=built, ship=ship)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
