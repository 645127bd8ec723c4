"""Hotspot-first detector vs the bundled lesion stage, on a simulated site never used for
training or selection.

Three disjoint cohorts by site profile: ``--train`` fits the detector, ``--select`` calibrates
its patient probability and decision threshold, ``--test`` is only scored. In the same run
and on the same test studies, the bundled lesion stage (``LesionAnalyzer.default()``) is
scored as the baseline. Figures (docs/lesions.md):

* patient AUC (DeLong 95 % CI), specificity at sensitivity 0.90 (bootstrap 95 % CI);
* FROC for metastases (malignant lesions only; a hotspot on a benign lesion is neither TP
  nor FP; distinct lesions: an anterior/posterior pair counts once): sensitivity at
  0.125-8 FP per scan, their mean (CPM) and the sensitivity at 1 FP per scan; the hit rule
  of ``osteoscan.evaluation.lesions`` on records that carry it (``froc_rule``), and the
  rule before it beside (``froc_metastasis_legacy``; docs/lesions.md, "Where the missed
  metastases go");
* malignant hotspots called on normal studies: median and % with >= 2;
* BSI vs the simulator's truth: Pearson r, Bland-Altman bias and limits.

Run (about 10 min on a free core; records are cached under ``--cache``)::

    .venv/bin/python -m benchmarks.bench_detector --cache /tmp/detector-cache \\
        --save /tmp/detector-model

Writes ``benchmarks/results/detector.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def _seeds(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def froc_rule(records) -> str:
    """``standard`` when every record carries ``hit_id`` and ``mask_ids`` (records made since
    the rule was fixed), else ``legacy`` (``detector_records.froc_matches``)."""
    return "standard" if all("hit_id" in r and "mask_ids" in r for r in records) else "legacy"


def _froc_matches(records, scores, rule: str | None = None):
    """LesionMatch per study for malignant lesions, from the cached candidate truth
    (:func:`osteoscan.lesions.detector_records.froc_matches`; ``rule`` None: :func:`froc_rule`)."""
    from osteoscan.lesions.detector_records import froc_matches

    return froc_matches(records, scores, rule or froc_rule(records))


def score_detector(det, records) -> dict:
    """All figures of the detector on cached test records."""
    from osteoscan.evaluation.lesions import froc_score, normal_burden
    from osteoscan.lesions.detector_train import arrays
    from osteoscan.lesions.patient import lesion_table

    probs, bsi, called, ungated, raw, capped = [], [], [], [], [], []
    for rec in records:
        arr = arrays(rec)
        st = det.stages(arr)
        p, codes = st["probability"], st["codes"]
        out = det.decide(arr, p, codes, st["stack"])
        probs.append(out["probability"])
        bsi.append(out["bsi"])
        called.append(len(out["malignant"]))
        raw.append(p)
        capped.append(out["capped"])
        _, lp = lesion_table(p, arr.group)
        ungated.append(int((lp >= det.card["hotspot_threshold"]).sum()))
    y = [int(r["label"]) for r in records]
    return _figures(y, probs, froc_score(_froc_matches(records, capped)), called, bsi,
                    [float(r["bsi"]) for r in records], extra={
                        "probabilities": [float(p) for p in probs],
                        "froc_rule": froc_rule(records),
                        "froc_metastasis_legacy": froc_score(
                            _froc_matches(records, capped, "legacy")),
                        "froc_metastasis_uncapped": froc_score(_froc_matches(records, raw)),
                        "normals_ungated": normal_burden(ungated, y),
                        "decision_threshold": det.card["decision_threshold"],
                        "sens_spec_at_threshold": _at_threshold(
                            y, probs, det.card["decision_threshold"])})


def _at_threshold(y, p, t) -> dict:
    y, called = np.asarray(y), np.asarray(p) >= t
    return {"sensitivity": float(called[y == 1].mean()),
            "specificity": float((~called[y == 0]).mean())}


def _figures(y, probs, froc, called, bsi, bsi_true, extra=None) -> dict:
    from osteoscan.evaluation.lesions import bsi_agreement, normal_burden, patient_level
    from osteoscan.evaluation.statistics import pearson_ci

    return {"patient": patient_level(y, probs), "froc_metastasis": froc,
            "sens_at_1fp": froc["sens@1"], "normals": normal_burden(called, y),
            "bsi": {**bsi_agreement(bsi, bsi_true), "pearson_r_ci": pearson_ci(bsi, bsi_true)},
            **(extra or {})}


def _baseline_study(analyzer, site: str, seed: int, prevalence: float, difficulty: str) -> dict:
    from osteoscan.evaluation.lesions import match_lesions
    from osteoscan.lesions.burden import distinct_lesions
    from osteoscan.lesions.scoring import stacked_masks
    from osteoscan.lesions.studies import from_simulated
    from osteoscan.simulate.study import simulate_study

    label = "metastasis" if np.random.default_rng(seed).random() < prevalence else "normal"
    sim = simulate_study(seed, site=site, difficulty=difficulty, force_label=label)
    st = from_simulated(sim)
    res = analyzer.analyze(st.scan)
    m = match_lesions(*stacked_masks(res, st, True))
    called = sum(max(h.probability for h in g) >= res.threshold
                 for g in distinct_lesions(res.by_view))
    return {"y": int(any(les.malignant for les in sim.lesions)), "prob": res.probability,
            "bsi": res.bsi, "bsi_true": float(sim.bsi or 0.0), "called": int(called),
            "lesion_ids": m.lesion_ids, "lesion_scores": m.lesion_scores,
            "pred_to_lesion": m.pred_to_lesion, "fp_scores": m.fp_scores}


def score_baseline(sites, seeds, prevalence: float, difficulty: str, cache=None) -> dict:
    """The bundled lesion stage on the same test studies (re-simulated from their seeds).

    Per-study outputs are cached beside the detector's records, keyed by the bundled
    weights' hash, so a re-run on a 2-core machine shared by eight does not redo them."""
    import hashlib

    from osteoscan.artefacts import LESION_ASSETS_DIR
    from osteoscan.evaluation.lesions import LesionMatch, froc_score
    from osteoscan.lesions.analyzer import LesionAnalyzer

    weights = sorted(LESION_ASSETS_DIR.glob("*_*.safetensors"))
    key = hashlib.sha256(b"".join(p.read_bytes() for p in weights
                                  if not p.name.startswith("hotspot_detector"))).hexdigest()[:12]
    analyzer, rows = None, []
    for i, seed in enumerate(seeds):
        site = sites[i % len(sites)]
        path = Path(cache) / f"baseline-{key}-{site}-{difficulty}-{seed}.npz" if cache else None
        if path is not None and path.is_file():
            rows.append(dict(np.load(path, allow_pickle=False)))
            continue
        analyzer = analyzer or LesionAnalyzer.default()
        rows.append(_baseline_study(analyzer, site, seed, prevalence, difficulty))
        if path is not None:  # whole or not at all
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **rows[-1])
            tmp.replace(path)
    matches = [LesionMatch(r["lesion_ids"], r["lesion_scores"], r["pred_to_lesion"], r["fp_scores"])
               for r in rows]
    out = _figures([int(r["y"]) for r in rows], [float(r["prob"]) for r in rows],
                   froc_score(matches), [int(r["called"]) for r in rows],
                   [float(r["bsi"]) for r in rows], [float(r["bsi_true"]) for r in rows])
    return {**out, "weights_key": key, "probabilities": [float(r["prob"]) for r in rows]}


def held_out(det, records, sites, seeds, args) -> dict:
    """Detector and (unless ``--no-baseline``) the bundled lesion stage on the same held-out
    studies, with a paired DeLong test of their patient AUCs
    (:func:`osteoscan.evaluation.statistics.delong_roc_test`, detector minus baseline)."""
    from osteoscan.evaluation.statistics import delong_roc_test

    out = {"sites": list(sites), "detector": score_detector(det, records)}
    y = np.array([int(r["label"]) for r in records])
    if args.against:  # another saved detector on these very records (the shipped bundle)
        from benchmarks.bench_robustness import load_detector

        out["baseline_against"] = score_detector(load_detector(args.against), records)
        out["paired_delong_detector_vs_against"] = delong_roc_test(
            y, np.array(out["detector"]["probabilities"]),
            np.array(out["baseline_against"]["probabilities"]))
    if args.previous:
        prev = previous_detector(sites, seeds, args)
        if [int(r["label"]) for r in prev["records"]] != y.tolist():
            raise SystemExit("--previous-cache: its studies are not these (labels differ)")
        out["baseline_previous_detector"] = score_detector(prev["det"], prev["records"])
        out["paired_delong_detector_vs_previous"] = delong_roc_test(
            y, np.array(out["detector"]["probabilities"]),
            np.array(out["baseline_previous_detector"]["probabilities"]))
    if args.no_baseline:
        return out
    base = score_baseline(sites, seeds, args.prevalence, args.difficulty, args.cache)
    out["baseline_bundled_lesion_stage"] = base
    out["paired_delong_detector_vs_baseline"] = delong_roc_test(
        y, np.array(out["detector"]["probabilities"]), np.array(base["probabilities"]))
    return out


def previous_detector(sites, seeds, args) -> dict:
    """The previous bundle (``--previous DIR``, a saved detector) and its records of the same
    test studies, made by the code it shipped with (``--previous-cache``: records cached by
    that code, with the count band of its card). Its candidates and context were those of
    that code, so its records cannot be remade here; the studies are the same seeds."""
    from osteoscan.lesions.patient import HotspotDetector

    det = HotspotDetector.load(args.previous)
    band = det.card.get("count_band")
    cache = Path(args.previous_cache)
    tag = f"-band{band[0]}-{band[1]}" if band else ""
    records = []
    for i, seed in enumerate(seeds):
        path = cache / f"{sites[i % len(sites)]}-{args.difficulty}-{seed}{tag}.npz"
        if not path.is_file():
            raise SystemExit(f"--previous-cache: {path} is missing")
        records.append(dict(np.load(path, allow_pickle=False)))
    return {"det": det, "records": records}


def without_band(det, block: dict, sites, seeds, args) -> dict:
    """The same detector on the same studies' records made without the count band, with a
    paired DeLong test (band minus no band): does the shipped path's band help this bundle?"""
    from osteoscan.evaluation.statistics import delong_roc_test

    records = _records(sites, seeds, args)
    out = score_detector(det, records)
    y = np.array([int(r["label"]) for r in records])
    return {"sites": list(sites), "detector": out, "paired_delong_band_vs_none": delong_roc_test(
        y, np.array(block["detector"]["probabilities"]), np.array(out["probabilities"]))}


def timing(det, sites, seeds, repeat: int = 3) -> dict:
    """Seconds per study (best of ``repeat``, one thread): detector vs bundled lesion stage."""
    import torch

    from osteoscan.lesions.analyzer import LesionAnalyzer
    from osteoscan.simulate.study import simulate_study

    torch.set_num_threads(1)
    base = LesionAnalyzer.default()
    scans = [simulate_study(s, site=sites[0], force_label="metastasis").scan for s in seeds]

    def best(fn):
        out = []
        for scan in scans:
            fn(scan)
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn(scan)
                times.append(time.perf_counter() - t)
            out.append(min(times))
        return float(np.median(out))

    d, b = best(det.analyze), best(base.analyze)
    return {"detector_s": d, "bundled_lesion_stage_s": b, "ratio": d / b, "studies": len(scans)}


def _records(sites, seeds, args, augment: bool | str = False, count_band=None,
             fitted_on: bool = False) -> list[dict]:
    """Records of the studies; ``--domain picture``: each study as its screen export
    (``augment_scan`` mode ``export``) unless another augmentation is asked for;
    ``fitted_on`` (training and selection studies): with ``--uptake-balance``, each patient's
    balance of uptake between the skeleton's parts (the test sites are rendered without)."""
    from osteoscan.lesions.detector_records import simulated_records

    augment = augment or ("export" if args.domain == "picture" else False)

    return simulated_records(sites, seeds, cache=args.cache, prevalence=args.prevalence,
                             difficulty=args.difficulty, augment=augment, count_band=count_band,
                             patches=args.patch_cnn,
                             uptake_balance=fitted_on and args.uptake_balance)


def _band(args) -> tuple | None:
    """The count band the selection and test records are made with, as the shipped
    ``analyze`` makes them: the card's (``--detector``'s, else the bundled card's, which
    ``scripts/build_detector.py`` keeps for a fitted one), or none with ``--count-band none``."""
    from osteoscan.artefacts import LESION_ASSETS_DIR

    if args.count_band == "none":
        return None
    folder = Path(args.detector) if args.detector not in (None, "bundled") else LESION_ASSETS_DIR
    try:
        band = json.loads((folder / "hotspot_detector.json").read_text()).get("count_band")
    except (OSError, ValueError):
        band = None
    return tuple(band) if band else None


def _cohorts(args, band) -> tuple[list, list, list[int]]:
    """Train (+ camera-randomised) and select records, and the test seeds; seeds of no other
    benchmark or bundled model (from 100000, by ``--seed``). ``--detector``: no fit, no
    train or select records. The select records (calibration and the decision threshold)
    are made with the count band, as the test records and ``analyze``; the training records
    without it (the trees see the whole count range)."""
    base = 100_000 + 1000 * args.seed
    test_seeds = _seeds(base + 600_000, args.n_test)
    if args.detector:
        return [], [], test_seeds
    start = base if args.train_seed is None else args.train_seed
    train = _records(args.train, _seeds(start, args.n_train), args, fitted_on=True)
    train += _augmented(args, base, band)
    select = _records(args.select, _select_seeds(args), args, count_band=band, fitted_on=True)
    return train, select, test_seeds


def _select_seeds(args) -> list[int]:
    return _seeds(100_000 + 1000 * args.seed + 300_000, args.n_select)


def _augmented(args, base: int, band) -> list[dict]:
    """Augmented training records, one cohort per ``--augment-mode`` (with its
    ``--n-augmented`` and ``--augmented-seed``). ``lowcount`` ones are recorded with the count
    band, as ``analyze`` sees them (docs/lesions.md, "Augmented training")."""
    modes, counts = args.augment_mode, args.n_augmented
    seeds = args.augmented_seed or [base + 100_000 + 50_000 * k for k in range(len(modes))]
    if not len(modes) == len(counts) == len(seeds):
        raise SystemExit("--n-augmented, --augment-mode, --augmented-seed: one value per mode")
    return [r for mode, n, seed in zip(modes, counts, seeds, strict=True)
            for r in _records(args.train, _seeds(seed, n), args, augment=mode,
                              count_band=band if mode == "lowcount" else None)]


def _detector(args, train, select):
    """The scored detector: ``--detector`` loaded ('bundled': the bundled one), else fitted."""
    from osteoscan.lesions.detector_train import fit_detector
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    if args.detector == "bundled":
        det = bundled_detector_or_none()
    elif args.detector:
        det = HotspotDetector.load(args.detector)
    elif args.patch_cnn:  # the patch CNN's cnn_p as one more tree input (out-of-fold on train)
        from osteoscan.lesions.patchnet import with_cnn_p

        scorer, train = with_cnn_p(train, seed=args.seed)
        det = fit_detector(train, select, seed=args.seed, design=args.design, patch=scorer,
                           context_features=_names(args.context_features))
    else:
        extra = _records(args.train, _seeds(args.bsi_low_seed, args.n_bsi_low), args,
                         augment="lowcount", count_band=_band(args)) if args.n_bsi_low else None
        det = fit_detector(train, select, seed=args.seed, design=args.design, bsi_extra=extra,
                           stack_features=_stack_features(args.stack),
                           context_features=_names(args.context_features),
                           bsi_context_features=_names(args.bsi_context_features))
    if args.match_fpr and not args.detector:
        _match_fpr(det, select, args)
    if args.bsi_hotspots == "malignant":
        det.card["bsi_hotspots"] = "malignant"
    if args.n_extent and not args.detector:  # fitted on the answers of the card as it stands
        det = _with_extent(det, args)
    args.patch_cnn = det.patch is not None  # test records with patches when the trees need them
    return det


def _with_extent(det, args):
    """``det`` with an extent model (:mod:`osteoscan.lesions.study_level`) fitted on
    ``--n-extent`` fresh studies of the training sites (from ``--extent-seed``; made as the
    selection studies are: count band, uptake balance), which its trees never saw."""
    from osteoscan.lesions.study_level import with_extent

    recs = _records(args.train, _seeds(args.extent_seed, args.n_extent), args,
                    count_band=_band(args), fitted_on=True)
    try:
        return with_extent(det, recs, seed=args.seed)[0]
    except ValueError as exc:
        raise SystemExit(f"--n-extent {args.n_extent}: {exc}") from exc


def _names(values: list[str] | None) -> tuple[str, ...] | None:
    """``--context-features`` / ``--bsi-context-features``: the context columns the trees
    (the BSI trees) take; None: the default (all; the trees' own)."""
    return tuple(values) if values else None


def _stack_features(name: str) -> tuple[str, ...] | None:
    """The second stage's stack columns of ``--stack`` (docs/lesions.md, "The second stage's
    context"): all of them, or :data:`osteoscan.lesions.stacking.LOCAL_STACK`."""
    from osteoscan.lesions.stacking import LOCAL_STACK

    return LOCAL_STACK if name == "local" else None


def _match_fpr(det, select: list[dict], args) -> None:
    """Recalibrate ``det`` on ``select`` with the false-positive rate of the ``--match-fpr``
    detector on the same selection studies as count records (its card's band), at its
    threshold: the picture variant calls no more normals metastatic on exports than the
    bundled detector on their DICOMs (docs/robustness.md, "The picture-domain detector")."""
    from benchmarks.bench_robustness import load_detector
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.detector_train import calibrate

    ref = load_detector(args.match_fpr)
    band = ref.card.get("count_band")
    records = simulated_records(args.select, _select_seeds(args), cache=args.cache,
                                prevalence=args.prevalence, difficulty=args.difficulty,
                                count_band=tuple(band) if band else None)
    ref_at = score_detector(ref, records)["sens_spec_at_threshold"]
    calibrate(det, select, max_fpr=1.0 - ref_at["specificity"])
    det.card["matched_to"] = {"false_positive_rate": 1.0 - ref_at["specificity"],
                              "sensitivity": ref_at["sensitivity"],
                              "decision_threshold": ref.decision_threshold}


def _parser() -> argparse.ArgumentParser:
    from osteoscan.lesions.augment import MODES, STUDY_MODES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", default=["site_a"])
    ap.add_argument("--select", nargs="+", default=["site_b"])
    ap.add_argument("--test", nargs="+", default=["site_c"])
    ap.add_argument("--extra-test", nargs="*", default=[],
                    help="further held-out sites, each scored on its own (same seeds)")
    ap.add_argument("--n-train", type=int, default=250)
    ap.add_argument("--n-select", type=int, default=50)
    ap.add_argument("--n-test", type=int, default=80)
    ap.add_argument("--n-augmented", type=int, nargs="+", default=[0],
                    help="extra training studies (other seeds) per --augment-mode")
    ap.add_argument("--augment-mode", choices=(*MODES, *STUDY_MODES), nargs="+",
                    default=["camera"], help="osteoscan.lesions.augment.augment_scan's modes, "
                    "or capture (lesions.capture_trip), one cohort each")
    ap.add_argument("--augmented-seed", type=int, nargs="+", default=None,
                    help="first seed per mode (200000 + 1000 x --seed, +50000 per mode)")
    ap.add_argument("--n-bsi-low", type=int, default=0,
                    help="low-count training studies (augment_scan 'lowcount', recorded with the "
                         "count band) for the BSI trees only (docs/lesions.md, 'Low counts')")
    ap.add_argument("--bsi-low-seed", type=int, default=990_000)
    ap.add_argument("--bsi-hotspots", choices=("all", "malignant"), default="all",
                    help="the BSI over every candidate's expected share, or over the hotspots "
                         "called malignant only (card bsi_hotspots)")
    ap.add_argument("--stack", choices=("all", "local"), default="all",
                    help="the second stage's stack columns: all, or the candidate's own lesion, "
                         "neighbourhood and region only (stacking.LOCAL_STACK)")
    ap.add_argument("--n-extent", type=int, default=0,
                    help="fresh training-site studies to fit an extent model on (0: none)")
    ap.add_argument("--extent-seed", type=int, default=140_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--design", default="stack_bsi",
                    help="one_stage, stack_rule or stack_bsi (detector_train.VARIANTS), or a "
                         "BSI design of detector_train.BSI_DESIGNS")
    ap.add_argument("--train-seed", type=int, default=None,
                    help="first training seed (default 100000 + 1000 x --seed)")
    ap.add_argument("--difficulty", default="default")
    ap.add_argument("--prevalence", type=float, default=0.5)
    ap.add_argument("--cache", default=None, help="folder for the per-study .npz records")
    ap.add_argument("--save", default=None, help="write the fitted detector to this folder")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the bundled lesion stage (the CNN lesion pipeline) as a baseline")
    ap.add_argument("--previous", default=None,
                    help="a saved detector folder scored as a second baseline (the previous "
                         "bundle), on --previous-cache records of the same studies")
    ap.add_argument("--previous-cache", default=None)
    ap.add_argument("--detector", default=None,
                    help="score this saved detector folder ('bundled': the bundled one), no fit")
    ap.add_argument("--domain", choices=("counts", "picture"), default="counts",
                    help="picture: every cohort's studies as their screen exports (the "
                         "picture-domain detector, docs/robustness.md)")
    ap.add_argument("--match-fpr", default=None,
                    help="a saved detector folder ('bundled'): the fitted detector's threshold "
                         "is raised to its false-positive rate on the selection studies' count "
                         "records (the picture variant)")
    ap.add_argument("--against", default=None,
                    help="a saved detector folder ('bundled': the bundled one) scored on the "
                         "same held-out records, with a paired DeLong test")
    ap.add_argument("--count-band", choices=("card", "none"), default="card",
                    help="test records made with the card's count band, as analyze does "
                         "(default), or without it")
    ap.add_argument("--compare-no-band", action="store_true",
                    help="also score every test site without the band (paired DeLong)")
    ap.add_argument("--patch-cnn", action="store_true",
                    help="fit the patch CNN (osteoscan.lesions.patchnet) and give the trees its "
                         "cnn_p; records are made with patches (cached apart)")
    ap.add_argument("--bsi-context-features", nargs="+", default=None,
                    help="the context columns the BSI trees take (default: the trees' own)")
    ap.add_argument("--uptake-balance", action="store_true",
                    help="training and selection studies with each patient's balance of "
                         "uptake between the skeleton's parts (simulate_study uptake_balance)")
    ap.add_argument("--context-features", nargs="+", default=None,
                    help="the context columns the trees take (names of "
                         "osteoscan.lesions.context.FEATURES; default: all)")
    ap.add_argument("--timing", type=int, default=3, help="studies timed (0: none)")
    ap.add_argument("--out", default=str(RESULTS / "detector.json"))
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json

    t0 = time.time()
    band = _band(args)
    train, select, test_seeds = _cohorts(args, band)
    t1 = time.time()
    det = _detector(args, train, select)
    if args.save:
        det.save(args.save)
    t2 = time.time()
    test = _records(args.test, test_seeds, args, count_band=band)
    result = {"config": vars(args), "count_band": band,
              "seconds": {"records": t1 - t0, "fit": t2 - t1},
              "test": held_out(det, test, args.test, test_seeds, args)}
    for site in args.extra_test:
        records = _records([site], test_seeds, args, count_band=band)
        result[f"test_{site}"] = held_out(det, records, [site], test_seeds, args)
    if args.compare_no_band and band:
        for key, sites in [("test", args.test), *((f"test_{s}", [s]) for s in args.extra_test)]:
            result[f"{key}_without_band"] = without_band(det, result[key], sites, test_seeds, args)
    if args.timing:
        result["seconds_per_study"] = timing(det, args.test, test_seeds[:args.timing])
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(json.dumps({k: result[k] for k in result if k != "config"}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
