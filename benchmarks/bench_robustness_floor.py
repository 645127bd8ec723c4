"""The test-retest floor of the robustness bars (issue 16, item 4; docs/robustness.md, "The
test-retest floor").

``bench_robustness`` compares renderings of one patient that differ in counts, pixel size or
file format, and each draws its own Poisson noise. Part of what moves between them is that
noise: two independent draws of the *same* acquisition already change the decision of a
patient whose probability sits near the threshold. This benchmark renders every acquisition a
second time (``Variant(..., draw=1)``: the same expected image, new noise; its DICOM, its
8-bit PNG, for 1.5 M / 2.4 mm its JPEG, and its count-halved copy) and reports, with the
same per-patient bars:

* **repeat pairs** (a rendering against its own second draw): the floor. Decision-flip rate
  with a Wilson 95 % interval (``osteoscan.evaluation.statistics.proportion_ci``).
* **domain pairs** (the main pairs of ``bench_robustness``): the flip rate, its floor (per
  patient, the mean of the two renderings' repeat flips) and the **excess** over the floor
  with a patient-bootstrap 95 % interval of the paired difference. If a patient is called
  metastatic with probability q_A over the noise of acquisition A and q_B under B, and A and B
  are independent draws, P(flip A vs B) - (P(flip A vs A') + P(flip B vs B')) / 2 =
  (q_A - q_B)^2: the excess measures the domain's own shift, and is 0 without one. Renderings
  that share one draw (a DICOM and its export, a study and its count-halved copy) flip less
  than independent ones, so there the excess is a lower bound of that shift.
  The direction of the flips is tested too (McNemar on the two decisions: without a domain
  effect a flip goes either way equally often).
  The same excess is given for the other bars (|dp| > 0.05, |d malignant count| > 1, any of
  the three, |d BSI| > 0.3).
* **outside the floor band**: the domain pairs' bars on the patients whose decision changed
  in none of the repeat pairs.

Run (about 7 s per patient on one idle core; records cached per patient, ``--resume``)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_robustness_floor \\
        --patients 100 --cache /tmp/det-floor/cache --tag floor --resume

Writes ``benchmarks/results/robustness_floor.json``; ``--detector DIR`` for another bundle.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from benchmarks.bench_robustness import ACQ, BARS, PAIRS, PROFILE, SEED0, _pair, _records, \
    aucs, detector_id, load_detector, positive, run_arguments

REPEAT = "_r1"
KINDS = ("dcm", "png", "jpg", "half")
_KIND_NAME = {"dcm": "DICOM", "png": "8-bit PNG", "jpg": "8-bit JPG", "half": "count-halved"}


def _pretty(acq: str) -> str:
    return acq.replace("_", ", ").replace("mm", " mm")


def repeat_pairs(have: dict) -> dict:
    """Test-retest pairs present in a record's outcomes: name -> (rendering, its repeat)."""
    out = {}
    for kind in KINDS:
        for acq in ACQ:
            a = f"{kind}:{acq}"
            if a in have and a + REPEAT in have:
                out[f"repeat {_KIND_NAME[kind]} ({_pretty(acq)})"] = (a, a + REPEAT)
    return out


def domain_pairs(have: dict) -> dict:
    """``bench_robustness``'s pairs as ``load_study`` reads the files (no "before" or
    "peaks rebuilt" arm) whose two renderings have repeats."""
    return {name: (a, b) for name, (a, b) in PAIRS.items()
            if "/" not in a + b and "-" not in a.split(":")[0] + b.split(":")[0]
            and a + REPEAT in have and b + REPEAT in have}


def _called(outcome: dict, key: str, threshold) -> bool:
    """The decision of rendering ``key``: at ``threshold(key)`` when the threshold is given per
    rendering (``bench_picture_threshold``), else at the outcome's own threshold
    (:func:`benchmarks.bench_robustness.positive`; the picture variant's for a picture)."""
    return outcome["prob"] >= threshold(key) if callable(threshold) else positive(outcome, threshold)


def failures(records: list[dict], a: str, b: str, threshold) -> dict:
    """Per patient, whether each bar fails between renderings a and b (``threshold``: a number,
    or rendering name -> threshold): ``flip`` (decision),
    ``prob`` (|dp| > 0.05), ``count`` (|d malignant| > 1), ``any`` of these three, and
    ``bsi`` (|d BSI| > 0.3, the issue's bar for a count-halved copy)."""
    oa = [r["outcomes"][a] for r in records]
    ob = [r["outcomes"][b] for r in records]
    flip = np.array([_called(x, a, threshold) != _called(y, b, threshold)
                     for x, y in zip(oa, ob, strict=True)])
    prob = np.array([abs(x["prob"] - y["prob"]) > BARS["prob"]
                     for x, y in zip(oa, ob, strict=True)])
    count = np.array([abs(x["malignant"] - y["malignant"]) > BARS["count"]
                      for x, y in zip(oa, ob, strict=True)])
    bsi = np.array([abs(x["bsi"] - y["bsi"]) > BARS["bsi"] for x, y in zip(oa, ob, strict=True)])
    return {"flip": flip, "prob": prob, "count": count, "any": flip | prob | count, "bsi": bsi}


def _rate(fails: np.ndarray) -> dict:
    from osteoscan.evaluation.statistics import proportion_ci

    k, n = int(np.sum(fails)), len(fails)
    return {"k": k, "n": n, "rate": k / n if n else float("nan"), "ci": proportion_ci(k, n)}


def _excess(domain: np.ndarray, floor: np.ndarray, seeds: np.ndarray, n_boot: int) -> dict:
    """Mean paired difference (domain - floor) over patients, patient-bootstrap 95 % CI."""
    from osteoscan.evaluation.statistics import bootstrap_replicates, percentile_interval

    d = domain.astype(float) - floor

    def stat(w: np.ndarray) -> dict:
        return {"d": w @ d / w.sum(1)}

    reps = bootstrap_replicates(stat, seeds.astype(str), n_boot=n_boot, seed=0)["d"]
    return {"floor": float(floor.mean()), "excess": float(d.mean()),
            "ci": percentile_interval(reps)}


def summarise_floor(records: list[dict], threshold: float, n_boot: int = 2000) -> dict:
    """Repeat pairs, domain pairs against their floor, and the floor band (module docstring)."""
    have = records[0]["outcomes"]
    seeds = np.array([r["seed"] for r in records])
    reps = repeat_pairs(have)
    rep_fail = {key: failures(records, a, b, threshold) for key, (a, b) in reps.items()}
    band = np.any([f["flip"] for f in rep_fail.values()], axis=0)
    out = {"repeat": {}, "domain": {},
           "band": {"n": int(band.sum()), "of": len(records),
                    "seeds": [int(s) for s in seeds[band]]}}
    for name, (a, b) in reps.items():
        f = rep_fail[name]
        out["repeat"][name] = {**_pair(records, a, b, threshold, False),
                               **{f"{bar}_fail": _rate(f[bar]) for bar in f}}
    for name, (a, b) in domain_pairs(have).items():
        f = failures(records, a, b, threshold)
        fa, fb = (failures(records, k, k + REPEAT, threshold) for k in (a, b))
        row = _pair(records, a, b, threshold, a.startswith("half") or b.startswith("half"))
        for bar in f:
            floor = (fa[bar].astype(float) + fb[bar]) / 2
            row[f"{bar}_fail"] = {**_rate(f[bar]), **_excess(f[bar], floor, seeds, n_boot)}
        row["outside_band"] = {bar: _rate(f[bar][~band]) for bar in f}
        row["direction"] = _direction(records, a, b, threshold)
        out["domain"][name] = row
    return out


def _direction(records: list[dict], a: str, b: str, threshold) -> dict:
    """McNemar's test of the decisions: without a domain effect a flip is as likely either
    way (``b``: positive in a only, ``c``: in b only); a one-sided count is a systematic shift."""
    from osteoscan.evaluation.statistics import mcnemar_test

    pa = np.array([_called(r["outcomes"][a], a, threshold) for r in records])
    pb = np.array([_called(r["outcomes"][b], b, threshold) for r in records])
    return mcnemar_test(pa, pb)


def operating(records: list[dict], threshold: float) -> dict:
    """Sensitivity and false-positive rate of every rendering at the detector's threshold."""
    y = np.array([r["label"] == "metastasis" for r in records])
    out = {}
    for key in records[0]["outcomes"]:
        pos = np.array([positive(r["outcomes"][key], threshold) for r in records])
        out[key] = {"sensitivity": float(pos[y].mean()),
                    "false_positive_rate": float(pos[~y].mean())}
    return out


def _ci(block: dict, pct: bool = True) -> str:
    lo, hi = block["ci"]
    return f"{100 * lo:.0f}-{100 * hi:.0f} %" if pct else f"{100 * lo:+.1f} to {100 * hi:+.1f}"


def table(summary: dict) -> str:
    """The markdown tables of docs/robustness.md (repeat pairs; domain pairs against the floor)."""
    rows = ["| repeat pair | decision flips (95 % CI) | max / median abs. delta p | "
            "prob. within 0.05 | malignant count within 1 |", "|---|---|---|---|---|"]
    for name, s in summary["repeat"].items():
        f = s["flip_fail"]
        rows.append(f"| {name} | {f['k']} / {f['n']} ({_ci(f)}) | {s['prob_max']:.3f} / "
                    f"{s['prob_median']:.3f} | {s['prob_within_bar']:.2f} | "
                    f"{s['malignant_within_bar']:.2f} |")
    rows += ["", "| domain pair | flips (positive in first / second only; McNemar p) | floor | "
             "excess flips, points (95 % CI) | abs. delta p > 0.05: rate / floor / excess "
             "(95 % CI) | flips outside the band |", "|---|---|---|---|---|---|"]
    for name, s in summary["domain"].items():
        f, o = s["flip_fail"], s["outside_band"]["flip"]
        m = s["direction"]
        rows.append(f"| {name} | {f['k']} / {f['n']} ({m['b']} / {m['c']}; {m['p']:.2g}) | "
                    f"{100 * f['floor']:.1f} % | "
                    f"{100 * f['excess']:+.1f} ({_ci(f, False)}) | "
                    f"{_excess_cell(s['prob_fail'])} | "
                    f"{o['k']} / {o['n']} |")
    rows += ["", "| domain pair | malignant count moves > 1 | any of the three bars fails | "
             "abs. delta BSI > 0.3 | any bar fails, outside the band |", "|---|---|---|---|---|"]
    for name, s in summary["domain"].items():
        cells = [_excess_cell(s[f"{bar}_fail"]) for bar in ("count", "any", "bsi")]
        o = s["outside_band"]["any"]
        rows.append(f"| {name} | {' | '.join(cells)} | {o['k']} / {o['n']} |")
    return "\n".join(rows)


def _excess_cell(block: dict) -> str:
    """rate / floor / excess (95 % CI), in percent."""
    return (f"{100 * block['rate']:.0f} % / {100 * block['floor']:.0f} % / "
            f"{100 * block['excess']:+.0f} ({_ci(block, False)})")


def _figures(records: list[dict], det, n_boot: int) -> dict:
    """The floor summary, the AUCs and the operating points of one detector's outcomes."""
    return {**summarise_floor(records, det.decision_threshold, n_boot), "auc": aucs(records),
            "at_threshold": operating(records, det.decision_threshold)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run_arguments(ap, 100, "floor", "robustness_floor.json")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--previous", default=None,
                    help="a second detector folder ('bundled': the bundled one) analyzing the "
                         "same renderings in the same run (its figures under 'previous')")
    args = ap.parse_args(argv)
    args.arms, args.repeats = "main", True
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json

    det = load_detector(args.detector)
    previous = load_detector(args.previous) if args.previous else None
    t0 = time.time()
    records = _records(det, args, previous)
    result = {"config": vars(args), "profile": PROFILE, "seed0": SEED0, "bars": BARS,
              "detector": detector_id(det), "decision_threshold": det.decision_threshold,
              "seconds": time.time() - t0, **_figures(records, det, args.n_boot),
              "records": records}
    if previous is not None:
        result["previous"] = {"detector": detector_id(previous), **_figures(
            [{**r, "outcomes": r["outcomes_previous"]} for r in records], previous, args.n_boot)}
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(table(result))
    if previous is not None:
        print("\nprevious:\n" + table(result["previous"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
