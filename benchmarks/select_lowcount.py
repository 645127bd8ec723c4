"""Selection of the detector's low-count BSI (docs/lesions.md, "Low counts"), on the selection
sites only (never a test site).

Arms: ``bundle`` (a detector folder, by default the bundled one), ``gate`` (its BSI from the
hotspots called malignant only, ``card["bsi_hotspots"] = "malignant"``), ``lowbsi`` (the
recipe refitted with the BSI trees also fitted on ``--n-low`` low-count training studies,
``augment_scan(..., "lowcount")`` recorded with the count band) and ``lowbsi+gate``. Each arm
is scored on the 200 selection studies as simulated, thinned to 0.3-0.4 M counts and
count-halved (:mod:`benchmarks.diagnose_lowcount`), and the rule written in the docs picks.
Rounds 2-3: the candidates' noise after the count band; round 4 (``--round 4``): the BSI trees
of ``detector_train.BSI_DESIGNS`` refitted by the recipe, on 300 selection studies
(docs/lesions.md, "Low counts, second look").

Run (records cached; the fit 5-10 min on a loaded core)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.select_lowcount \\
        --cache /tmp/lowcount/c --thinned-cache /tmp/lowcount/cache --save /tmp/lowcount/lowbsi
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
BAR = 0.3
"""|ΔBSI| repeatability bar of the count-halved copy (issue 16)."""


def arm_figures(det, native, low, half) -> dict:
    """One arm's figures on the three renderings of the selection studies."""
    from benchmarks.bench_detector import score_detector
    from benchmarks.diagnose_lowcount import bsi_parts

    out = {}
    for name, recs in (("native", native), ("low", low), ("half", half)):
        fig = score_detector(det, recs)
        out[name] = {"auc": fig["patient"]["auc"], "cpm": fig["froc_metastasis"]["cpm"],
                     "sens_at_1fp": fig["sens_at_1fp"], "bsi_r": fig["bsi"]["pearson_r"],
                     "normals_2plus": fig["normals"]["pct_ge2"] / 100.0,
                     "bsi_bias": fig["bsi"]["bias"], "probabilities": fig["probabilities"]}
    bsi = {k: np.array([bsi_parts(det, r)["bsi"] for r in v])
           for k, v in (("native", native), ("low", low), ("half", half))}
    for k in ("low", "half"):
        d = np.abs(bsi[k] - bsi["native"])
        out[f"delta_{k}"] = {"mean": float(d.mean()), "p95": float(np.percentile(d, 95)),
                             "share_over_bar": float(np.mean(d > BAR)), "max": float(d.max())}
    return out


def rule(arms: dict) -> dict:
    """The rule of docs/lesions.md ("Low counts"), applied to :func:`arm_figures` of each arm."""
    b = arms["bundle"]
    verdict = {}
    for name, a in arms.items():
        if name == "bundle":
            continue
        eligible = (a["native"]["bsi_r"] >= b["native"]["bsi_r"] - 0.005
                    and abs(a["native"]["bsi_bias"]) <= abs(b["native"]["bsi_bias"]) + 0.05
                    and a["low"]["bsi_r"] >= b["low"]["bsi_r"] - 0.005)
        beats = eligible and (
            a["delta_half"]["share_over_bar"] <= b["delta_half"]["share_over_bar"]
            and a["delta_half"]["mean"] <= 0.9 * b["delta_half"]["mean"]
            and a["delta_low"]["mean"] <= 0.9 * b["delta_low"]["mean"])
        verdict[name] = {"eligible": bool(eligible), "beats_bundle": bool(beats)}
    order = ["gate", "lowbsi", "lowbsi+gate"]
    winners = [n for n in order if verdict.get(n, {}).get("beats_bundle")]
    if not winners:
        return {"verdict": verdict, "chosen": "bundle"}
    best = max(arms[n]["low"]["bsi_r"] for n in winners)
    near = [n for n in winners if arms[n]["low"]["bsi_r"] >= best - 0.005]
    low_delta = min(arms[n]["delta_half"]["mean"] for n in near)
    chosen = next(n for n in order if n in near and arms[n]["delta_half"]["mean"] == low_delta)
    return {"verdict": verdict, "chosen": chosen}


def not_worse(a: dict, b: dict) -> bool:
    """The guard of every detector selection rule in docs/lesions.md: figures ``a`` are not
    worse than ``b`` beyond 0.005 (AUC, BSI r) or 0.010 (CPM, sensitivity at 1 FP)."""
    return (a["auc"] >= b["auc"] - 0.005 and a["cpm"] >= b["cpm"] - 0.010
            and a["sens_at_1fp"] >= b["sens_at_1fp"] - 0.010
            and a["bsi_r"] >= b["bsi_r"] - 0.005)


def rule2(arms: dict) -> dict:
    """The round-2 rule of docs/lesions.md ("Low counts"): the candidates' noise fix."""
    b, verdict = arms["bundle"], {}
    for name, a in ((k, v) for k, v in arms.items() if k != "bundle"):
        n, lo, bn, bl = a["native"], a["low"], b["native"], b["low"]
        eligible = not_worse(n, bn) and n["normals_2plus"] <= 0.05
        gain = lo["cpm"] >= bl["cpm"] + 0.010 or lo["bsi_r"] >= bl["bsi_r"] + 0.005
        no_loss = not_worse(lo, bl)
        half = (a["delta_half"]["mean"] <= b["delta_half"]["mean"]
                and a["delta_half"]["share_over_bar"] <= b["delta_half"]["share_over_bar"] + 0.010)
        verdict[name] = {"eligible": bool(eligible),
                         "beats_bundle": bool(eligible and gain and no_loss and half)}
    winners = [n for n in ("bandnoise", "bandnoise+gate") if verdict[n]["beats_bundle"]]
    if not winners:
        return {"verdict": verdict, "chosen": "bundle"}
    best = max(arms[n]["low"]["cpm"] for n in winners)
    near = [n for n in winners if arms[n]["low"]["cpm"] >= best - 0.005]
    chosen = min(near, key=lambda n: (arms[n]["delta_half"]["mean"], near.index(n)))
    return {"verdict": verdict, "chosen": chosen}


def round2(args, bundle, band, seeds) -> dict:
    """Round 2: the bundle on the old code's records against its trees recalibrated on
    records of the fixed candidates (``--new-cache``, ``--new-thinned-cache``)."""
    from benchmarks.diagnose_lowcount import lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import calibrate

    def renderings(cache, thinned):
        return (simulated_records(SELECT, seeds, cache, count_band=band),
                lowcount_records(SELECT, seeds, thinned, band, (0.3e6, 0.4e6)),
                lowcount_records(SELECT, seeds, thinned, band, None))

    old, new = renderings(args.cache, args.thinned_cache), renderings(args.new_cache,
                                                                      args.new_thinned_cache)
    fixed = copy.copy(bundle)
    fixed.card = dict(bundle.card)
    calibrate(fixed, new[0])
    if args.save:
        fixed.save(args.save)
    arms = {"bundle": arm_figures(bundle, *old), "bandnoise": arm_figures(fixed, *new),
            "bandnoise+gate": arm_figures(gated(fixed), *new)}
    return {"arms": arms, "decision_threshold": fixed.card["decision_threshold"],
            "platt": fixed.card["platt"], **rule2(arms)}


def rule3(b: dict, a: dict) -> bool:
    """The round-3 confirmation rule of docs/lesions.md ("Low counts"): arm ``a`` vs ``b``."""
    ok = all(not_worse(a[r], b[r]) for r in ("native", "low"))
    ok = ok and a["native"]["normals_2plus"] <= 0.05
    h, bh = a["delta_half"], b["delta_half"]
    return bool(ok and h["mean"] <= 0.9 * bh["mean"]
                and h["share_over_bar"] <= bh["share_over_bar"]
                and a["half"]["bsi_r"] >= b["half"]["bsi_r"] - 0.005
                and a["half"]["cpm"] >= b["half"]["cpm"] - 0.010)


def round3(args, bundle, band) -> dict:
    """Round 3: ``--fixed`` (round 2's calibrated detector) with the gate, on fresh studies
    (``--seed-start``, ``--n``): old records in ``--cache``, fixed code's in ``--new-cache``."""
    from benchmarks.diagnose_lowcount import lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector

    seeds = list(range(args.seed_start, args.seed_start + args.n))

    def renderings(cache):
        return (simulated_records(SELECT, seeds, cache, count_band=band),
                lowcount_records(SELECT, seeds, cache, band, (0.3e6, 0.4e6)),
                lowcount_records(SELECT, seeds, cache, band, None))

    fixed = gated(HotspotDetector.load(args.fixed))
    arms = {"bundle": arm_figures(bundle, *renderings(args.cache)),
            "bandnoise+gate": arm_figures(fixed, *renderings(args.new_cache))}
    adopt = rule3(arms["bundle"], arms["bandnoise+gate"])
    return {"arms": arms, "verdict": {"bandnoise+gate": {"adopt": adopt}},
            "chosen": "bandnoise+gate" if adopt else "bundle"}


ROUND4_ARMS = ("stack_bsi_area", "stack_bsi_malarea")
"""Round 4's candidate designs (``detector_train.BSI_DESIGNS``), simplest first."""


def rule4(arms: dict, low: dict) -> dict:
    """The round-4 rule of docs/lesions.md ("Low counts, second look"): ``arms`` are the arms'
    :func:`arm_figures` on the 300 selection studies, ``low`` on the 120 of the low-count
    selection sites; ``bundle`` is the baseline."""
    b, bl, verdict = arms["bundle"], low["bundle"], {}
    for name in ROUND4_ARMS:
        a, al = arms[name], low[name]
        guard = all(not_worse(x[r], y[r]) for x, y in ((a, b), (al, bl))
                    for r in ("native", "low"))
        guard = guard and a["native"]["normals_2plus"] <= 0.05 and (
            a["delta_half"]["share_over_bar"] <= b["delta_half"]["share_over_bar"] + 0.010)
        gain = (al["native"]["bsi_r"] >= bl["native"]["bsi_r"] + 0.005
                and abs(al["native"]["bsi_bias"]) <= abs(bl["native"]["bsi_bias"]) + 0.05)
        verdict[name] = {"guard": bool(guard), "gain": bool(gain),
                         "passes": bool(guard and gain)}
    winners = [n for n in ROUND4_ARMS if verdict[n]["passes"]]
    if not winners:
        return {"verdict": verdict, "chosen": "bundle"}
    best = max(low[n]["native"]["bsi_r"] for n in winners)
    return {"verdict": verdict,
            "chosen": next(n for n in winners if low[n]["native"]["bsi_r"] >= best - 0.005)}


def round4(args, bundle, band) -> dict:
    """Round 4: the recipe refitted (same seeds and training records) with the BSI designs of
    :data:`ROUND4_ARMS` and ``stack_bsi`` (which must reproduce the bundle), scored on the 300
    selection studies (seeds 400000-400199 in ``--cache``/``--thinned-cache``, 450000-450099
    in ``--fresh-cache``) as simulated, at 0.3-0.4 M and count-halved."""
    from benchmarks.diagnose_lowcount import SELECT_SEED, lowcount_records
    from benchmarks.diagnose_lowcount2 import LOW_SITES
    from benchmarks.select_detector import SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_variants

    s1 = list(range(SELECT_SEED, SELECT_SEED + 200))
    s2 = list(range(args.seed_start, args.seed_start + args.n))
    select = simulated_records(SELECT, s1, args.cache, count_band=band)
    train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train), args.cache)
    dets = fit_variants(train, select, seed=args.seed, variants=("stack_bsi", *ROUND4_ARMS))
    for name, det in dets.items():
        det.card.update(count_band=list(band), bsi_hotspots="malignant")
        if args.save:
            det.save(Path(args.save) / name)
    renders = [select + simulated_records(SELECT, s2, args.fresh_cache, count_band=band)]
    for counts in ((0.3e6, 0.4e6), None):
        renders.append(lowcount_records(SELECT, s1, args.thinned_cache, band, counts)
                       + lowcount_records(SELECT, s2, args.fresh_cache, band, counts))
    sites = [SELECT[i % len(SELECT)] for i in range(len(s1))] + [
        SELECT[i % len(SELECT)] for i in range(len(s2))]
    keep = [i for i, s in enumerate(sites) if s in LOW_SITES]
    arms, low = {}, {}
    for name, det in (("bundle", bundle), ("refit_stack_bsi", dets["stack_bsi"]),
                      *((n, dets[n]) for n in ROUND4_ARMS)):
        arms[name] = arm_figures(det, *renders)
        low[name] = arm_figures(det, *([r[i] for i in keep] for r in renders))
    ref = arms["bundle"]["native"]["probabilities"]
    same = {n: bool(np.allclose(a["native"]["probabilities"], ref)) for n, a in arms.items()}
    return {"same_decisions_as_bundle": same,
            "refit_reproduces_bundle": _same_figures(arms["refit_stack_bsi"], arms["bundle"]),
            "arms": arms, "low_sites": low, **rule4(arms, low)}


def _same_figures(a: dict, b: dict) -> bool:
    """Whether two arms' figures agree to 1e-9 on every rendering."""
    return all(abs(a[r][k] - b[r][k]) < 1e-9 for r in ("native", "low", "half")
               for k in ("auc", "cpm", "sens_at_1fp", "bsi_r"))


def gated(det):
    """The detector with its BSI from the hotspots called malignant only."""
    out = copy.copy(det)
    out.card = {**det.card, "bsi_hotspots": "malignant"}
    return out


def _fit_lowbsi(args, band):
    from benchmarks.select_detector import SELECT, TRAIN, TRAIN_SEED
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import fit_variants

    train = simulated_records(TRAIN, range(TRAIN_SEED, TRAIN_SEED + args.n_train), args.cache)
    extra = simulated_records(TRAIN, range(args.low_seed, args.low_seed + args.n_low), args.cache,
                              augment="lowcount", count_band=band)
    select = simulated_records(SELECT, range(400_000, 400_200), args.cache, count_band=band)
    return fit_variants(train, select, seed=args.seed, variants=("stack_bsi",),
                        bsi_extra=extra)["stack_bsi"]


def _brief(arms: dict) -> dict:
    """The arms' figures without the per-study probabilities, rounded."""
    out = {}
    for name, a in arms.items():
        out[name] = dict(a)
        for r in ("native", "low", "half"):
            out[name][r] = {k: round(v, 4) for k, v in a[r].items() if k != "probabilities"}
    return out


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount import SELECT_SEED, lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="training and selection records")
    ap.add_argument("--thinned-cache", required=True, help="low-count and halved records")
    ap.add_argument("--bundle", default=None, help="the baseline detector (default: bundled)")
    ap.add_argument("--lowbsi", default=None, help="a fitted lowbsi detector (else fitted)")
    ap.add_argument("--save", default=None, help="folder for the fitted lowbsi detector")
    ap.add_argument("--n-train", type=int, default=3600)
    ap.add_argument("--n-low", type=int, default=1200)
    ap.add_argument("--low-seed", type=int, default=990_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--round", type=int, choices=(1, 2, 3, 4), default=1)
    ap.add_argument("--fresh-cache", default=None, help="round 4: seeds 450000-, all renderings")
    ap.add_argument("--fixed", default=None, help="round 3: round 2's calibrated detector")
    ap.add_argument("--seed-start", type=int, default=450_000)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--new-cache", default=None, help="round 2: selection records, fixed code")
    ap.add_argument("--new-thinned-cache", default=None)
    ap.add_argument("--out", default=str(RESULTS / "lowcount_select.json"))
    args = ap.parse_args(argv)
    bundle = HotspotDetector.load(args.bundle) if args.bundle else bundled_detector_or_none()
    band = tuple(bundle.card["count_band"])
    if args.round == 4:
        result = {"config": vars(args), **round4(args, bundle, band)}
        Path(args.out).write_text(json.dumps(result, indent=1, default=float))
        keys = ("same_decisions_as_bundle", "refit_reproduces_bundle", "verdict", "chosen")
        brief = {k: _brief(result[k]) for k in ("arms", "low_sites")}
        print(json.dumps({k: result[k] for k in keys} | brief, indent=1, default=float))
        return 0
    if args.round in (2, 3):
        seeds = list(range(SELECT_SEED, SELECT_SEED + 200))
        result = {"config": vars(args), **(round2(args, bundle, band, seeds) if args.round == 2
                                           else round3(args, bundle, band))}
        Path(args.out).write_text(json.dumps(result, indent=1, default=float))
        print(json.dumps({"arms": _brief(result["arms"]), "verdict": result["verdict"],
                          "chosen": result["chosen"]}, indent=1, default=float))
        return 0
    if args.lowbsi:
        lowbsi = HotspotDetector.load(args.lowbsi)
    else:
        lowbsi = _fit_lowbsi(args, band)
        lowbsi.card["count_band"] = list(band)
        if args.save:
            lowbsi.save(args.save)
    seeds = list(range(SELECT_SEED, SELECT_SEED + 200))
    native = simulated_records(SELECT, seeds, args.cache, count_band=band)
    low = lowcount_records(SELECT, seeds, args.thinned_cache, band, (0.3e6, 0.4e6))
    half = lowcount_records(SELECT, seeds, args.thinned_cache, band, None)
    arms = {name: arm_figures(det, native, low, half) for name, det in (
        ("bundle", bundle), ("gate", gated(bundle)), ("lowbsi", lowbsi),
        ("lowbsi+gate", gated(lowbsi)))}
    ref = arms["bundle"]["native"]["probabilities"]
    same = {n: bool(np.allclose(a["native"]["probabilities"], ref)) for n, a in arms.items()}
    result = {"config": vars(args), "same_decisions_as_bundle": same, "arms": arms, **rule(arms)}
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({"same": same, "arms": _brief(arms), **rule(arms)}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
