"""A decision threshold for screen exports, fitted on selection-site exports: how much of the
exports' excess over the test-retest floor a threshold alone removes (docs/robustness.md,
"The test-retest floor").

The bundled trees call a lesion clipped by an export's display window less malignant, so
exports rank patients nearly as well as DICOM but fall below the DICOM decision threshold
(``benchmarks/bench_robustness_floor.py``). This benchmark fits one threshold for pictures
(PNG and JPEG) on studies of the bundle's **selection** sites (site_b, profile_9, 14, 15, 16;
new seeds 940000 + i, half metastatic), each rendered by ``bench_robustness.renderings`` at
the same four acquisitions: the threshold at which the pictures' decisions agree most often
with their own DICOM's at the card threshold (ties: the highest). It is then applied, unchanged,
to the held-out robustness patients' records (``robustness_floor.json``, profile_9001): flips
against the DICOM, their floor and excess, McNemar, sensitivity and false-positive rate. The
bundle's card is not changed; the threshold is evidence for a refit of the calibration.

Run (about 4 s per selection study on one idle core; records cached, ``--resume``)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_picture_threshold \\
        --n 100 --cache /tmp/det-floor/select --resume

Writes ``benchmarks/results/picture_threshold.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_robustness import RESULTS, detector_id, load_detector, patient_record
from benchmarks.bench_robustness_floor import REPEAT, _direction, _excess, _rate, domain_pairs, \
    failures

SELECT = ("site_b", "profile_9", "profile_14", "profile_15", "profile_16")
"""The bundled detector's selection sites (scripts/build_detector.py)."""
SEED0 = 940_000
GRID = np.round(np.arange(0.02, 0.98, 0.005), 3)


def is_picture(key: str) -> bool:
    """A screen-export rendering (PNG or JPEG)."""
    return key.split(":")[0] in ("png", "jpg")


def selection_records(det, n: int, cache: Path | None, resume: bool) -> list[dict]:
    """Every rendering of n selection-site studies (cached per study)."""
    from osteoscan.artefacts import atomic_write_text, dumps_json

    det_id, out = detector_id(det), []
    for i in range(n):
        site, seed = SELECT[i % len(SELECT)], SEED0 + i
        label = "metastasis" if (i // len(SELECT)) % 2 else "normal"
        path = cache / f"select-{seed}.json" if cache else None
        if path is not None and resume and path.is_file():
            rec = json.loads(path.read_text())
            if rec.get("detector") == det_id:
                out.append(rec)
                continue
        t = time.time()
        rec = {**patient_record(det, seed, label, "main", site=site), "site": site,
               "detector": det_id}
        logging.info("study %d/%d (%s, %s) in %.1f s", i + 1, n, site, label, time.time() - t)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, dumps_json(rec))
        out.append(rec)
    return out


def fit_threshold(records: list[dict], card: float) -> tuple[float, dict]:
    """The picture threshold with the fewest disagreements with the same acquisition's DICOM
    at the card threshold (ties: the highest), and the disagreements at every grid value."""
    pairs = [(r["outcomes"][f"dcm:{k.split(':')[1]}"]["prob"] >= card, v["prob"])
             for r in records for k, v in r["outcomes"].items() if is_picture(k)]
    pos = np.array([p for p, _ in pairs])
    prob = np.array([q for _, q in pairs])
    flips = np.array([int(np.sum(pos != (prob >= t))) for t in GRID])
    best = float(GRID[np.flatnonzero(flips == flips.min())[-1]])
    return best, {"grid": GRID.tolist(), "disagreements": flips.tolist(), "of": len(pairs)}


def evaluate(records: list[dict], card: float, picture: float, n_boot: int) -> dict:
    """Export pairs of the robustness records with the pictures decided at ``picture``."""
    def thr(key: str) -> float:
        return picture if is_picture(key) else card

    seeds = np.array([r["seed"] for r in records])
    y = np.array([r["label"] == "metastasis" for r in records])
    out = {}
    for name, (a, b) in domain_pairs(records[0]["outcomes"]).items():
        if not is_picture(b):
            continue
        f = failures(records, a, b, thr)["flip"]
        fa, fb = (failures(records, k, k + REPEAT, thr)["flip"] for k in (a, b))
        pb = np.array([r["outcomes"][b]["prob"] >= picture for r in records])
        out[name] = {**_rate(f), **_excess(f, (fa.astype(float) + fb) / 2, seeds, n_boot),
                     "direction": _direction(records, a, b, thr),
                     "picture_sensitivity": float(pb[y].mean()),
                     "picture_false_positive_rate": float(pb[~y].mean())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="selection studies")
    ap.add_argument("--detector", default=None, help="a detector folder (default: the bundled)")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--floor", default=str(RESULTS / "robustness_floor.json"),
                    help="the robustness records (bench_robustness_floor, same detector)")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--out", default=str(RESULTS / "picture_threshold.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json
    from osteoscan.errors import ConfigError

    det = load_detector(args.detector)
    floor = json.loads(Path(args.floor).read_text())
    if floor.get("detector") != detector_id(det):
        raise ConfigError(f"{args.floor}: records of another detector; rerun "
                          "bench_robustness_floor with it")
    card = det.decision_threshold
    t0 = time.time()
    sel = selection_records(det, args.n, Path(args.cache) if args.cache else None, args.resume)
    picture, curve = fit_threshold(sel, card)
    result = {"config": vars(args), "selection_sites": SELECT, "seed0": SEED0,
              "card_threshold": card, "picture_threshold": picture, "fit": curve,
              "selection_disagreements_at_card": curve["disagreements"][int(np.argmin(
                  np.abs(GRID - card)))],
              "at_card": evaluate(floor["records"], card, card, args.n_boot),
              "at_picture_threshold": evaluate(floor["records"], card, picture, args.n_boot),
              "seconds": time.time() - t0, "selection_records": sel}
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(f"picture threshold {picture:.3f} (card {card:.3f})")
    for name in result["at_card"]:
        a, b = result["at_card"][name], result["at_picture_threshold"][name]
        print(f"{name}: flips {a['k']} -> {b['k']}, excess {100 * a['excess']:+.1f} -> "
              f"{100 * b['excess']:+.1f} ({100 * b['ci'][0]:+.1f} to {100 * b['ci'][1]:+.1f}), "
              f"McNemar {a['direction']['b']}/{a['direction']['c']} -> "
              f"{b['direction']['b']}/{b['direction']['c']}, sens/fpr "
              f"{a['picture_sensitivity']:.2f}/{a['picture_false_positive_rate']:.2f} -> "
              f"{b['picture_sensitivity']:.2f}/{b['picture_false_positive_rate']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
