"""Selection of the BSI trees with the reach features (docs/lesions.md, "BSI extent (session
8)"), on the selection sites only (never a test site).

The recipe (``detector_train.fit_variants``, design ``stack_bsi``, gate ``bsi_hotspots:
"malignant"``) is refitted on the first ``--n-train`` training studies twice in one fit:
``refit_stack_bsi`` (the baseline: its BSI trees without the reach features) and
``stack_bsi_reach`` (the same stages, BSI trees that also take
:data:`osteoscan.lesions.context.REACH_FEATURES`). Both are scored with the round-4 figures
(:func:`benchmarks.select_lowcount.arm_figures`) on the 300 selection studies (seeds
400000-400199 and 450000-450099 on ``select_detector.SELECT``) as simulated, thinned to
0.3-0.4 M counts and count-halved, and on the 120 of the low-count selection sites; the
shipped bundle on the same records beside them. :func:`rule5` decides.

Records carry ``reach``, so they are new (never the shared caches): ``--cache`` (training and
selection, as simulated) and ``--thinned-cache``. ``--records-only`` makes them (resumable,
cached per study) and logs the time per record. Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_extent \\
        --cache /tmp/extent/cache --thinned-cache /tmp/extent/thin --records-only
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_extent \\
        --cache /tmp/extent/cache --thinned-cache /tmp/extent/thin --save /tmp/extent/fit
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
ARMS = ("bundle", "refit_stack_bsi", "stack_bsi_reach")
"""The arms: the shipped bundle (reference), the baseline and the candidate."""


def selection_seeds() -> list[int]:
    """The 300 selection studies of "Low counts, second look" (round 4's)."""
    return list(range(400_000, 400_200)) + list(range(450_000, 450_100))


def _sites(seeds) -> list[str]:
    """Site of each selection study: study ``i`` of each seed block on ``SELECT[i % 5]``."""
    from benchmarks.select_detector import SELECT

    return [SELECT[(s - (400_000 if s < 450_000 else 450_000)) % len(SELECT)] for s in seeds]


def renderings(args, band) -> list[list[dict]]:
    """The selection records as simulated, at 0.3-0.4 M counts and count-halved."""
    from benchmarks.diagnose_lowcount import lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records

    blocks = (list(range(400_000, 400_200)), list(range(450_000, 450_100)))
    out = [sum((simulated_records(SELECT, b, args.cache, count_band=band) for b in blocks), [])]
    for counts in ((0.3e6, 0.4e6), None):
        out.append(sum((lowcount_records(SELECT, b, args.thinned_cache, band, counts)
                        for b in blocks), []))
    return out


def training(args) -> list[dict]:
    """The first ``--n-train`` training studies of the recipe (seeds from 130000)."""
    from benchmarks.select_detector import TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records

    return simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train), args.cache)


def make_records(args, band) -> dict:
    """Every record of the run (selection first), with the wall time per record."""
    t0 = time.time()
    n_sel = sum(len(r) for r in renderings(args, band))
    t1 = time.time()
    n_train = len(training(args))
    t2 = time.time()
    return {"selection_records": n_sel, "selection_s": t1 - t0, "training_records": n_train,
            "training_s": t2 - t1}


def rule5(arms: dict, low: dict) -> dict:
    """The rule of docs/lesions.md ("BSI extent (session 8)"): ``arms`` are the arms'
    :func:`benchmarks.select_lowcount.arm_figures` on the 300 selection studies, ``low`` on
    the 120 of the low-count sites; ``refit_stack_bsi`` is the baseline."""
    from benchmarks.select_lowcount import not_worse

    a, al = arms["stack_bsi_reach"], low["stack_bsi_reach"]
    b, bl = arms["refit_stack_bsi"], low["refit_stack_bsi"]
    guard = all(not_worse(x[r], y[r]) for x, y in ((a, b), (al, bl)) for r in ("native", "low"))
    guard = guard and a["native"]["normals_2plus"] <= 0.05 and al["native"]["normals_2plus"] <= 0.05
    guard = guard and (a["delta_half"]["share_over_bar"]
                       <= b["delta_half"]["share_over_bar"] + 0.010)
    gain = (al["native"]["bsi_r"] >= bl["native"]["bsi_r"] + 0.005
            and abs(al["native"]["bsi_bias"]) <= abs(bl["native"]["bsi_bias"]) + 0.05)
    passes = bool(guard and gain)
    return {"verdict": {"guard": bool(guard), "gain": bool(gain), "passes": passes},
            "chosen": "stack_bsi_reach" if passes else "refit_stack_bsi"}


def select(args, bundle, band) -> dict:
    """Fit both arms on one set of stages, score the three arms, apply :func:`rule5`."""
    from benchmarks.diagnose_lowcount2 import LOW_SITES
    from benchmarks.select_lowcount import _same_figures, arm_figures
    from osteoscan.lesions.detector_train import fit_variants

    renders = renderings(args, band)
    t0 = time.time()
    dets = fit_variants(training(args), renders[0][:200], seed=args.seed,
                        variants=("stack_bsi", "stack_bsi_reach"))
    fit_s = time.time() - t0
    dets["refit_stack_bsi"] = dets.pop("stack_bsi")
    for name, det in dets.items():
        det.card.update(count_band=list(band), bsi_hotspots="malignant")
        if args.save:
            det.save(Path(args.save) / name)
    keep = [i for i, s in enumerate(_sites(selection_seeds())) if s in LOW_SITES]
    arms, low = {}, {}
    for name, det in (("bundle", bundle), *dets.items()):
        arms[name] = arm_figures(det, *renders)
        low[name] = arm_figures(det, *([r[i] for i in keep] for r in renders))
    ref = arms["refit_stack_bsi"]["native"]["probabilities"]
    same = {n: bool(np.allclose(a["native"]["probabilities"], ref)) for n, a in arms.items()}
    return {"fit_s": fit_s, "low_site_studies": len(keep),
            "same_decisions_as_baseline": same,
            "baseline_equals_bundle": _same_figures(arms["refit_stack_bsi"], arms["bundle"]),
            "arms": arms, "low_sites": low, **rule5(arms, low)}


OPTIONS = (("--cache", {"required": True, "help": "new records (training, selection)"}),
           ("--thinned-cache", {"required": True, "help": "new low-count and halved records"}),
           ("--bundle", {"help": "the reference detector (default: bundled)"}),
           ("--n-train", {"type": int, "default": 1200}), ("--seed", {"type": int, "default": 0}),
           ("--save", {"help": "folder for the two fitted arms"}),
           ("--records-only", {"action": "store_true", "help": "make the records and stop"}),
           ("--out", {"default": str(RESULTS / "bsi_extent_select.json")}))
"""The command line's options (name, ``add_argument`` keywords)."""


def main(argv=None) -> int:
    from benchmarks.select_lowcount import _brief
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, kw in OPTIONS:
        ap.add_argument(name, **kw)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    bundle = HotspotDetector.load(args.bundle) if args.bundle else bundled_detector_or_none()
    band = tuple(bundle.card["count_band"])
    if args.records_only:
        print(json.dumps(make_records(args, band), indent=1))
        return 0
    result = {"config": vars(args), **select(args, bundle, band)}
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    keys = ("same_decisions_as_baseline", "baseline_equals_bundle", "verdict", "chosen", "fit_s")
    brief = {k: _brief(result[k]) for k in ("arms", "low_sites")}
    print(json.dumps({k: result[k] for k in keys} | brief, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
