"""Robustness of the default detector: the same patient at other count levels, pixel sizes and
file formats (issue 16, item 4; docs/robustness.md "The same patient, imaged differently").

Each patient of a held-out generated site profile (half metastatic) is imaged by
:func:`osteoscan.simulate.variants.render_variants` at 0.3 M and 1.5 M counts, at 2.4 mm and
4.8 mm pixels; every acquisition is written as DICOM NM and as an inverted 8-bit screen export
(PNG; the 1.5 M / 2.4 mm one also as JPEG), read back with ``osteoscan.load_study`` and analyzed
by the bundled hotspot-first detector (the one ``Predictor.default()`` decides with: its
probability, decision, malignant hotspots and BSI are the Predictor's). A count-halved copy
of each DICOM study (binomial thinning to 50 %, a half-time acquisition) gives the BSI
repeatability.

For each pair of renderings of one patient it reports max / median |delta patient
probability|, decision flips, the |delta malignant hotspot count| distribution and |delta BSI|,
against the issue's bars: probability within 0.05, no decision change, malignant count within
1, and |delta BSI| <= 0.3 for the count-halved copy.

With ``--previous DIR`` a second detector (the bundle being replaced) analyzes the same
renderings in the same run; ``blocks`` then gives, for all patients, for the first
:data:`SELECTION_PATIENTS` (used to choose the bundle) and for the rest, both detectors'
decision flips per kind of pair and the patients with a flip, paired by an exact McNemar test.

Run (about 15 min on one loaded core; per-patient records cached, ``--resume`` reuses them)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_robustness \\
        --patients 40 --cache /tmp/robust-cache --resume

Writes ``benchmarks/results/robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
PROFILE = "profile_9001"
"""The held-out site profile (no training, selection or other benchmark uses it)."""
SEED0 = 910_000
"""First patient seed (no other benchmark or bundled model uses these)."""
BARS = {"prob": 0.05, "count": 1, "bsi": 0.3}

ACQ = {"0.3M_2.4mm": (0.3e6, 2.4), "1.5M_2.4mm": (1.5e6, 2.4),
       "0.3M_4.8mm": (0.3e6, 4.8), "1.5M_4.8mm": (1.5e6, 4.8)}
"""The acquisitions: name -> (anterior counts, pixel mm)."""

_COUNTS = {
    "counts 0.3M vs 1.5M (2.4 mm, DICOM)": ("dcm:0.3M_2.4mm", "dcm:1.5M_2.4mm"),
    "counts 0.3M vs 1.5M (4.8 mm, DICOM)": ("dcm:0.3M_4.8mm", "dcm:1.5M_4.8mm"),
    "pixel 2.4 vs 4.8 mm (1.5M, DICOM)": ("dcm:1.5M_2.4mm", "dcm:1.5M_4.8mm"),
    "pixel 2.4 vs 4.8 mm (0.3M, DICOM)": ("dcm:0.3M_2.4mm", "dcm:0.3M_4.8mm"),
    "count-halved copy (1.5M, 2.4 mm)": ("dcm:1.5M_2.4mm", "half:1.5M_2.4mm"),
    "count-halved copy (0.3M, 2.4 mm)": ("dcm:0.3M_2.4mm", "half:0.3M_2.4mm"),
    "count-halved copy (1.5M, 4.8 mm)": ("dcm:1.5M_4.8mm", "half:1.5M_4.8mm"),
}
PAIRS = {
    **{f"{name} before": (f"before/{a}", f"before/{b}") for name, (a, b) in _COUNTS.items()},
    **_COUNTS,
    **{f"DICOM vs 8-bit {fmt.upper()} ({acq.replace('_', ', ').replace('mm', ' mm')}){arm}":
       (f"{'before/' if key == '-before' else ''}dcm:{acq}", f"{fmt}{key}:{acq}")
       for fmt, acq in (("png", "1.5M_2.4mm"), ("png", "0.3M_2.4mm"), ("png", "1.5M_4.8mm"),
                        ("jpg", "1.5M_2.4mm"))
       for key, arm in (("-before", " before"), ("-rebuilt", " peaks rebuilt"), ("", ""))},
}
"""Reported pairs: name -> (rendering, rendering); a rendering is ``format:acquisition``.
"before/" renderings are analyzed by the detector without its ``count_band`` (the count
normalisation of :func:`osteoscan.lesions.candidates.count_normalised`), as before this
benchmark's fixes; the others by the detector as bundled.
Pictures are analyzed three ways, in the same run: "before" as before the fixes of
docs/robustness.md (the detector's old 2.4 mm fallback pixel), as ``load_study`` reads them now
(the pixel size estimated by :func:`osteoscan.lesions.context.estimated_spacing`), and "peaks
rebuilt" (``scan_from_picture(restore=True)``: saturated plateaus rebuilt, pixel estimated)."""


def _outcome(det, scan) -> dict:
    """One rendering's answer, with the decision threshold of the detector that gave it (a
    screen picture is answered by the picture variant where the detector has one)."""
    res = det.analyze(scan)
    routed = det.for_scan(scan) if hasattr(det, "for_scan") else det
    return {"prob": float(res.probability), "malignant": int(res.malignant_count),
            "bsi": float(res.bsi or 0.0), "candidates": len(res.hotspots),
            "threshold": float(routed.decision_threshold)}


def positive(outcome: dict, threshold: float) -> bool:
    """The decision of one outcome: at its own threshold (:func:`_outcome`), else (records
    cached before it was kept) at ``threshold``."""
    return outcome["prob"] >= outcome.get("threshold", threshold)


def renderings(seed: int, label: str, folder: Path, repeats: bool = False,
               site: str = PROFILE) -> dict:
    """Every rendering of one patient, read back from its files: name -> BoneScan. With
    ``repeats``, each acquisition also as a second, independent Poisson draw (``Variant``
    ``draw=1``; names end in ``_r1``: DICOM, its picture exports and its count-halved copy),
    the test-retest pairs of ``benchmarks/bench_robustness_floor.py``. ``site``: whose
    patient and camera (default the held-out profile)."""
    from osteoscan.simulate.variants import Variant, render_variants

    want = {name: Variant(*acq) for name, acq in ACQ.items()}
    if repeats:
        want.update({f"{name}_r1": Variant(*acq, draw=1) for name, acq in ACQ.items()})
    studies = render_variants(seed, list(want.values()), site=site, force_label=label)
    out = {}
    for name, v in want.items():
        out.update(_acquisition(studies[v], name, v, folder, seed))
    return out


def _acquisition(st, name: str, v, folder: Path, seed: int) -> dict:
    """One acquisition's renderings: DICOM, pictures (as read now, with the old 2.4 mm
    fallback pixel and with peaks rebuilt; only the first draw for the last two), and the
    count-halved copy of the DICOM."""
    from dataclasses import replace

    from osteoscan import load_study
    from osteoscan.io.images import scan_from_picture
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.simulate.variants import screen_export, write_variant_dicom

    acq = name.removesuffix(f"_r{v.draw}") if v.draw else name
    out = {f"dcm:{name}": load_study(write_variant_dicom(st, folder / name, seed=seed))}
    for fmt in ("png", "jpeg") if acq == "1.5M_2.4mm" else ("png",):
        pic = folder / f"{name}.{fmt}"
        pic.write_bytes(screen_export(st, fmt=fmt))
        key = "jpg" if fmt == "jpeg" else fmt
        out[f"{key}:{name}"] = load_study(pic)
        if not v.draw:
            out[f"{key}-before:{name}"] = replace(out[f"{key}:{name}"], spacing_mm=(2.4, 2.4))
            out[f"{key}-rebuilt:{name}"] = scan_from_picture(pic, restore=True)
    if acq != "0.3M_4.8mm":
        scan = out[f"dcm:{name}"]
        rng = np.random.default_rng([seed, 5, v.draw] if v.draw else [seed, 5])
        half = {view: thin_counts(getattr(scan, view), 0.5, rng).astype(np.float32)
                for view in ("anterior", "posterior")}
        out[f"half:{name}"] = replace(scan, **half)
    return out


def patient_record(det, seed: int, label: str, arms: str = "all", repeats: bool = False,
                   site: str = PROFILE, previous=None) -> dict:
    """The detector's outcome on every rendering of one patient; DICOM renderings also
    without the count normalisation ("before/"). ``arms="main"``: only the renderings as
    ``load_study`` reads them (no "before", no "peaks rebuilt"; for a detector without a
    count band, whose "before" is the same analysis). ``repeats``: also the second draws
    (:func:`renderings`; never in the "before/" arm). ``previous``: a second detector (the
    bundle being replaced) analyzes the same renderings as ``load_study`` reads them
    (``outcomes_previous``); where both share their count detector (the same card: a bundle
    and the same bundle with a picture variant) its count renderings' outcomes are the
    detector's (``HotspotDetector.analyze`` answers them with the same code and trees) and
    only the pictures are analyzed again."""
    from dataclasses import replace

    from osteoscan.lesions.candidates import is_picture

    before = replace(det, card={k: v for k, v in det.card.items() if k != "count_band"})
    with tempfile.TemporaryDirectory(prefix="osteoscan-robust-") as tmp:
        scans = renderings(seed, label, Path(tmp), repeats, site)
        main = {k: s for k, s in scans.items() if "-" not in k.split(":")[0]}
        rec = {"seed": seed, "label": label}
        mine = {k: _outcome(det, s) for k, s in main.items()}
        if previous is not None:
            shared = detector_id(replace(det, picture=None)) == \
                detector_id(replace(previous, picture=None))
            rec["outcomes_previous"] = {k: mine[k] if shared and not is_picture(s)
                                        else _outcome(previous, s) for k, s in main.items()}
        if arms == "main":
            return {**rec, "outcomes": mine}
        out = {k: mine[k] if k in mine else _outcome(det, s) for k, s in scans.items()}
        out.update({f"before/{k}": _outcome(before, s) for k, s in scans.items()
                    if k.startswith(("dcm:", "half:")) and "_r" not in k})
        return {**rec, "outcomes": out}


def _pair(records: list[dict], a: str, b: str, threshold: float, halved: bool) -> dict:
    oa = [r["outcomes"][a] for r in records]
    ob = [r["outcomes"][b] for r in records]
    dp = np.abs([x["prob"] - y["prob"] for x, y in zip(oa, ob)])
    flips = int(sum(positive(x, threshold) != positive(y, threshold) for x, y in zip(oa, ob)))
    dm = np.abs([x["malignant"] - y["malignant"] for x, y in zip(oa, ob)])
    db = np.abs([x["bsi"] - y["bsi"] for x, y in zip(oa, ob)])
    out = {"n": len(records), "prob_max": float(dp.max()), "prob_median": float(np.median(dp)),
           "prob_within_bar": float(np.mean(dp <= BARS["prob"])), "decision_flips": flips,
           "malignant_delta_hist": {str(k): int(np.sum(np.minimum(dm, 3) == k)) for k in range(4)},
           "malignant_max": int(dm.max()),
           "malignant_within_bar": float(np.mean(dm <= BARS["count"])),
           "bsi_max": float(db.max()), "bsi_median": float(np.median(db))}
    out["bars_met"] = bool(out["prob_max"] <= BARS["prob"] and flips == 0
                           and out["malignant_max"] <= BARS["count"])
    if halved:
        out["bsi_within_bar"] = float(np.mean(db <= BARS["bsi"]))
        out["bsi_bar_met"] = bool(out["bsi_max"] <= BARS["bsi"])
    return out


def summarise(records: list[dict], threshold: float) -> dict:
    """Per pair figures (module docstring) over the patients' records (pairs whose renderings
    were analyzed)."""
    have = records[0]["outcomes"]
    return {name: _pair(records, a, b, threshold, a.startswith("half") or b.startswith("half"))
            for name, (a, b) in PAIRS.items() if a in have and b in have}


def aucs(records: list[dict]) -> dict:
    """Patient AUC of every rendering (Mann-Whitney; ties count half): a normalisation must
    not buy stability with discrimination. 40 patients: a coarse check, not a CI."""
    y = np.array([r["label"] == "metastasis" for r in records])
    out = {}
    for key in records[0]["outcomes"]:
        p = np.array([r["outcomes"][key]["prob"] for r in records])
        diff = p[y][:, None] - p[~y][None, :]
        out[key] = float(np.mean((diff > 0) + 0.5 * (diff == 0)))
    return out


KINDS = {"count/pixel": ("counts ", "pixel "), "count-halved": ("count-halved",),
         "DICOM vs picture": ("DICOM vs",)}
"""The kinds of pair (as the renderings are read now: no "before", no "peaks rebuilt")."""


def patient_flips(records: list[dict], threshold: float, key: str = "outcomes") -> dict:
    """Per kind of pair (:data:`KINDS`, and "any"): per patient, whether the decision differs
    between the two renderings of at least one pair of that kind."""
    names = [n for n in PAIRS if not n.endswith((" before", " peaks rebuilt"))]
    out = {}
    for kind, prefixes in {**KINDS, "any": ("",)}.items():
        pairs = [PAIRS[n] for n in names if n.startswith(prefixes)]
        out[kind] = [any(positive(r[key][a], threshold) != positive(r[key][b], threshold)
                         for a, b in pairs if a in r[key] and b in r[key]) for r in records]
    return out


def flip_block(records: list[dict], threshold: float, key: str = "outcomes") -> dict:
    """Decision flips of one detector over some patients: per pair, per kind (patient-pairs
    and patients with a flip), and the AUC of each rendering."""
    view = [{"label": r["label"], "outcomes": r[key]} for r in records]
    pairs = {n: v for n, v in summarise(view, threshold).items()
             if not n.endswith((" before", " peaks rebuilt"))}
    per = patient_flips(records, threshold, key)
    kinds = {kind: {"pair_flips": sum(v["decision_flips"] for n, v in pairs.items()
                                      if n.startswith(prefixes)),
                    "patients_with_flip": int(sum(per[kind]))}
             for kind, prefixes in KINDS.items()}
    kinds["any"] = {"pair_flips": sum(v["decision_flips"] for v in pairs.values()),
                    "patients_with_flip": int(sum(per["any"]))}
    return {"n": len(records), "seeds": [records[0]["seed"], records[-1]["seed"]],
            "flips": kinds, "pairs": pairs, "auc": aucs(view)}


def paired_flips(records: list[dict], threshold: float, previous_threshold: float) -> dict:
    """Per kind: patients with a flip, this detector against the previous one on the same
    patients, exact McNemar test on the discordant patients
    (:func:`osteoscan.evaluation.statistics.mcnemar_test`; "correct" = no flip)."""
    from osteoscan.evaluation.statistics import mcnemar_test

    new = patient_flips(records, threshold)
    old = patient_flips(records, previous_threshold, "outcomes_previous")
    return {kind: {"new": int(sum(new[kind])), "previous": int(sum(old[kind])),
                   **mcnemar_test(~np.array(new[kind]), ~np.array(old[kind]))} for kind in new}


SELECTION_PATIENTS = 40
"""The first patients (seeds 910000-910039) chose the bundle among candidate fits
(docs/lesions.md, "Augmented training"); the others are reported apart as untouched."""


def blocks(records: list[dict], det, previous) -> dict:
    """:func:`flip_block` of the detector (and the previous one) on all patients, on the
    selection patients and on the rest, and the paired per-patient tests."""
    parts = {"all": records, "selection": records[:SELECTION_PATIENTS],
             "after_selection": records[SELECTION_PATIENTS:]}
    out = {}
    for name, recs in parts.items():
        if not recs:
            continue
        out[name] = {"detector": flip_block(recs, det.decision_threshold)}
        if previous is not None:
            out[name]["previous"] = flip_block(recs, previous.decision_threshold,
                                               "outcomes_previous")
            out[name]["paired"] = paired_flips(recs, det.decision_threshold,
                                               previous.decision_threshold)
    return out


def table(summary: dict) -> str:
    """The markdown table of docs/robustness.md."""
    head = ("| pair | max / median abs. delta p | decision flips | abs. delta malignant count "
            "0/1/2/3+ | max / median abs. delta BSI | bars met |\n|---|---|---|---|---|---|")
    rows = []
    for name, s in summary.items():
        h = s["malignant_delta_hist"]
        bars = "yes" if s["bars_met"] else "no"
        if "bsi_bar_met" in s:
            bars += f"; BSI {'yes' if s['bsi_bar_met'] else 'no'}"
        rows.append(f"| {name} | {s['prob_max']:.3f} / {s['prob_median']:.3f} | "
                    f"{s['decision_flips']} / {s['n']} | {h['0']}/{h['1']}/{h['2']}/{h['3']} | "
                    f"{s['bsi_max']:.2f} / {s['bsi_median']:.2f} | {bars} |")
    return "\n".join([head, *rows])


def detector_id(det) -> str:
    """A fingerprint of the detector's card (its threshold, calibration, count band...), kept
    in each cached record so that ``--resume`` never mixes two detectors' records."""
    import hashlib

    cards = [det.card] + ([det.picture.card] if getattr(det, "picture", None) else [])
    return hashlib.sha1(json.dumps(cards[0] if len(cards) == 1 else cards, sort_keys=True,
                                   default=str).encode()).hexdigest()[:12]


def _cached(path: Path | None, args, det_id: str) -> dict | None:
    if path is None or not args.resume or not path.is_file():
        return None
    rec = json.loads(path.read_text())
    if rec.get("detector", det_id) != det_id:
        return None  # another detector's record: analyze again
    if getattr(args, "repeats", False) and f"dcm:{next(iter(ACQ))}_r1" not in rec["outcomes"]:
        return None  # recorded without the repeat draws
    return rec


def _records(det, args, previous=None) -> list[dict]:
    from osteoscan.artefacts import atomic_write_text, dumps_json

    cache = Path(args.cache) if args.cache else None
    det_id = detector_id(det) + (f"+{detector_id(previous)}" if previous is not None else "")
    out = []
    for i in range(getattr(args, "first", 0), args.patients):
        seed, label = SEED0 + i, ("metastasis" if i % 2 else "normal")
        path = cache / f"{args.tag}-{seed}.json" if cache else None
        rec = _cached(path, args, det_id)
        if rec is None:
            t = time.time()
            rec = {**patient_record(det, seed, label, args.arms, getattr(args, "repeats", False),
                                    previous=previous), "detector": det_id}
            logging.info("patient %d/%d (%s) in %.1f s", i + 1, args.patients, label,
                         time.time() - t)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, dumps_json(rec))
        out.append(rec)
    return out


def run_arguments(ap: argparse.ArgumentParser, patients: int, tag: str, out: str) -> None:
    """The options of a robustness run (this benchmark's and ``bench_robustness_floor``'s)."""
    ap.add_argument("--patients", type=int, default=patients)
    ap.add_argument("--first", type=int, default=0,
                    help="skip the first patients (--first 40: the held-out seeds 910040-)")
    ap.add_argument("--detector", default=None, help="a detector folder (default: the bundled)")
    ap.add_argument("--cache", default=None, help="folder for per-patient records")
    ap.add_argument("--resume", action="store_true", help="reuse the cached records")
    ap.add_argument("--tag", default=tag, help="names the cached records of this run")
    ap.add_argument("--out", default=str(RESULTS / out))


def load_detector(folder: str | None):
    """The detector of ``--detector`` (a folder), else (None or "bundled") the bundled one."""
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    return HotspotDetector.load(folder) if folder not in (None, "bundled") \
        else bundled_detector_or_none()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run_arguments(ap, 40, "bundled", "robustness.json")
    ap.add_argument("--arms", choices=("all", "main"), default="all",
                    help="main: no 'before' and 'peaks rebuilt' renderings (patient_record)")
    ap.add_argument("--previous", default=None,
                    help="a second detector folder (the bundle being replaced) analyzing the "
                         "same renderings in the same run, with paired per-patient tests")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json

    det = load_detector(args.detector)
    previous = load_detector(args.previous) if args.previous else None
    t0 = time.time()
    records = _records(det, args, previous)
    summary = summarise(records, det.decision_threshold)
    result = {"config": vars(args), "profile": PROFILE, "seed0": SEED0, "bars": BARS,
              "decision_threshold": det.decision_threshold, "seconds": time.time() - t0,
              "pairs": summary, "auc": aucs(records), "blocks": blocks(records, det, previous),
              **({"previous_decision_threshold": previous.decision_threshold}
                 if previous is not None else {}),
              "records": records}
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
