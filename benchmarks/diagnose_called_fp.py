"""Where the hotspots called malignant that are not metastases sit, and how much BSI they
carry, on the selection sites only (docs/lesions.md, "False hotspots called malignant").

The bundled detector scores the 300 selection studies of ``diagnose_lowcount2`` (seeds
400000-400199 and 450000-450099 on ``select_detector.SELECT``, records with the card's count
band as ``analyze`` makes them). Per study it decides as ``analyze`` does; over the studies
it calls metastatic, each lesion called malignant (a candidate group: the A/P hotspots of one
lesion, ``arr.group``) is a true one when any of its candidates overlaps a true metastasis,
else false. Per skeletal region: false and true lesions called, the BSI the false ones carry
(their expected shares), and the studies with at least one false lesion called there;
``skull_called``: quartiles of a few features of the called skull lesions' best hotspots,
true and false apart, and their sites. Never a test site.

Run (about 1 min, records cached)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.diagnose_called_fp \\
        --cache /tmp/lowcount/c2 --fresh-cache /tmp/lowcount/c3new
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def called_lesions(det, rec) -> list[dict] | None:
    """The lesions called malignant in one study (None: the study is called normal)."""
    from osteoscan.lesions.detector_train import arrays
    from osteoscan.skeleton import REGIONS

    arr = arrays(rec)
    st = det.stages(arr)
    d = det.decide(arr, st["probability"], st["codes"], st["stack"])
    if not len(d["malignant"]):  # indices: a lone malignant lesion may be candidate 0
        return None
    mass = det.masses(arr, d["capped"], st["codes"], st["stack"])
    out = []
    for g in np.unique(arr.group[d["malignant"]]):
        rows = np.flatnonzero(arr.group == g)
        best = rows[np.argmax(st["probability"][rows])]
        out.append({"region": REGIONS[int(st["codes"][best])], "true": bool(any(rec["y"][rows] > 0)),
                    "p": float(d["capped"][best]), "bsi": float(mass[rows].sum()),
                    "features": arr.X[best]})
    return out


def skull_summary(items: list) -> dict:
    """Median and quartiles of a few features of the called skull lesions' best hotspots,
    and their sites."""
    from osteoscan.lesions.patient import FEATURES

    if not items:
        return {"n": 0}
    X = np.array([f for f, _ in items])
    out = {"n": len(items), "sites": dict(Counter(s for _, s in items))}
    for name in ("area_mm2", "eccentricity", "sym_ratio", "peak_ratio", "mean_z"):
        q = np.percentile(X[:, FEATURES.index(name)], [25, 50, 75])
        out[name] = [round(float(v), 3) for v in q]
    return out


def selection_records(argv, doc: str, out: str) -> tuple:
    """The command line (``--cache``, ``--fresh-cache``, ``--out``), the bundled detector and
    the 300 selection studies' records with its count band (also ``diagnose_lesion_count``)."""
    from benchmarks.diagnose_lowcount import SELECT_SEED
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import bundled_detector_or_none

    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--cache", required=True, help="banded selection records, seeds 400000-")
    ap.add_argument("--fresh-cache", required=True, help="seeds 450000-450099")
    ap.add_argument("--out", default=str(RESULTS / out))
    args = ap.parse_args(argv)
    det = bundled_detector_or_none()
    band = tuple(det.card["count_band"])
    s1, s2 = list(range(SELECT_SEED, SELECT_SEED + 200)), list(range(450_000, 450_100))
    recs = (simulated_records(SELECT, s1, args.cache, count_band=band)
            + simulated_records(SELECT, s2, args.fresh_cache, count_band=band))
    return args, det, recs


def main(argv=None) -> int:
    from benchmarks.select_detector import SELECT

    args, det, recs = selection_records(argv, __doc__, "called_fp_diagnosis.json")
    true_n, false_n, false_bsi, studies = Counter(), Counter(), Counter(), Counter()
    excess, called_normals = [], 0
    skull = {"true": [], "false": []}
    sites = [SELECT[i % len(SELECT)] for i in range(200)] + [
        SELECT[i % len(SELECT)] for i in range(100)]
    for rec, site in zip(recs, sites, strict=True):
        lesions = called_lesions(det, rec)
        if lesions is None:
            continue
        called_normals += int(rec["label"]) == 0
        excess.append(sum(x["bsi"] for x in lesions) - float(rec["bsi"]))
        seen = set()
        for x in lesions:
            (true_n if x["true"] else false_n)[x["region"]] += 1
            if x["region"] == "skull":
                skull["true" if x["true"] else "false"].append((x["features"], site))
            if not x["true"]:
                false_bsi[x["region"]] += x["bsi"]
                seen.add(x["region"])
        studies.update(seen)
    regions = sorted(set(true_n) | set(false_n), key=lambda r: -false_bsi[r])
    table = {r: {"false_called": false_n[r], "true_called": true_n[r],
                 "false_bsi_sum": round(false_bsi[r], 3), "studies_with_false": studies[r]}
             for r in regions}
    result = {"config": {**vars(args), "select": list(SELECT), "studies": len(recs)},
              "studies_called_metastatic": len(excess), "normals_called": called_normals,
              "bsi_minus_truth": {"median": float(np.median(excess)),
                                  "p95": float(np.percentile(excess, 95)),
                                  "max": float(np.max(excess))},
              "false_bsi_total": round(sum(false_bsi.values()), 3), "by_region": table,
              "skull_called": {k: skull_summary(v) for k, v in skull.items()}}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
