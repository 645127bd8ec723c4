"""Low counts, second look: where the patient ranking errors and the BSI error come from, on
the selection sites only (docs/lesions.md, "Low counts, second look").

The bundled detector scores the 300 selection studies (``select_detector.SELECT``; seeds
400000-400199, the bundle's calibration cohort, and 450000-450099, the fresh studies of round
3), records made with the card's count band as ``analyze`` makes them, as simulated and thinned
to 0.3-0.4 M counts (:func:`benchmarks.diagnose_lowcount.lowcount_records`). Never a test site.
Per group of sites (the low-count ones, profile_9 and profile_16, and the others):

* ``patient``: AUC of the patient model and of each of its first features alone (does the
  model add anything to the best lesion?), the kind of each normal's most probable lesion
  (a benign finding or no lesion), and the metastatic studies ranked at or below the 90th
  percentile of the normals (their true lesions and BSI);
* ``bsi_by_involvement``: over the metastatic studies in bins of true BSI, the sums of the
  truth, the BSI as shipped (the called hotspots' expected shares), the BSI trees' sum over
  every candidate, the candidates' true shares (their ceiling) and the true shares of the
  called hotspots only;
* ``share_by_size``: the BSI trees' prediction for the candidates on a malignant lesion against
  their true share, in bins of the true share (does the estimator saturate?), with their
  median area (head lengths squared) and true share per unit area.

Run (about 1 min, records cached)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.diagnose_lowcount2 \\
        --cache /tmp/lowcount/c2 --thinned-cache /tmp/lowcount/cache2 \\
        --fresh-cache /tmp/lowcount/c3new
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
LOW_SITES = ("profile_9", "profile_16")
"""The low-count selection sites (about 0.25-0.43 M counts)."""
BSI_BINS = (0.0, 0.5, 1.5, 3.0, 100.0)
SHARE_BINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 100.0)


def study_row(det, rec) -> dict:
    """One study's patient features, probability and BSI parts (bundle as shipped)."""
    from osteoscan.lesions.detector_train import arrays
    from osteoscan.lesions.patient import bsi_exposure, lesion_table, patient_features
    from osteoscan.skeleton import REGIONS

    arr = arrays(rec)
    st = det.stages(arr)
    d = det.decide(arr, st["probability"], st["codes"], st["stack"])
    idx, lp = lesion_table(st["probability"], arr.group)
    f = patient_features(lp, [REGIONS[int(c)] for c in st["codes"][idx]],
                         det.card["hotspot_threshold"])
    nv = max(len(np.unique(arr.view)), 1)
    mass = det.masses(arr, d["capped"], st["codes"], st["stack"]) if len(arr.X) else np.zeros(0)
    called = np.isin(arr.group, arr.group[d["malignant"]])
    top = np.flatnonzero(arr.group == arr.group[idx[np.argmax(lp)]]) if len(idx) else []
    kind = ("malignant" if any(rec["y"][top] > 0) else
            "benign" if any(rec["truth_id"][top] > 0) else "none")
    pos = rec["y"] > 0
    return {"label": int(rec["label"]), "p": float(d["probability"]), "features": f.tolist(),
            "top_kind": kind, "n_malignant_true": len(rec["malignant_ids"]),
            "truth": float(rec["bsi"]), "bsi": float(d["bsi"]), "ungated": float(mass.sum()),
            "captured": float(rec["bsi_share"].sum() / nv),
            "called_true": float(rec["bsi_share"][called].sum() / nv),
            "share_true": rec["bsi_share"][pos].tolist(), "share_pred": (mass[pos] * nv).tolist(),
            "area": bsi_exposure(arr.X[pos], arr.head_mm).tolist()}


def group_figures(rows: list[dict]) -> dict:
    """The module docstring's figures of one group of studies."""
    from osteoscan.evaluation.statistics import delong_ci
    from osteoscan.lesions.patient import PATIENT_FEATURES

    y = np.array([r["label"] for r in rows])
    p = np.array([r["p"] for r in rows])
    F = np.array([r["features"] for r in rows])
    q = np.sort(p[y == 0])[int(0.9 * (y == 0).sum())]
    low = [r for r in rows if r["label"] and r["p"] <= q]
    kinds = [r["top_kind"] for r in rows if not r["label"]]
    out = {"n": len(rows), "n_metastatic": int(y.sum()),
           "patient": {"auc_model": float(delong_ci(y, p)[0]),
                       **{f"auc_{n}": float(delong_ci(y, F[:, j])[0])
                          for j, n in enumerate(PATIENT_FEATURES[:6])},
                       "normal_top_lesion": {k: kinds.count(k) for k in sorted(set(kinds))},
                       "normal_p90": float(q),
                       "metastatic_at_or_below_normal_p90": [
                           {"p": r["p"], "lesions": r["n_malignant_true"], "bsi": r["truth"],
                            "top_kind": r["top_kind"]} for r in low]}}
    met = [r for r in rows if r["label"]]
    t = np.array([r["truth"] for r in met])
    bins = []
    for lo, hi in zip(BSI_BINS[:-1], BSI_BINS[1:], strict=True):
        k = [r for r, v in zip(met, t, strict=True) if lo <= v < hi]
        bins.append({"truth_bsi": [lo, hi], "n": len(k),
                     **{key: float(sum(r[key] for r in k))
                        for key in ("truth", "bsi", "ungated", "captured", "called_true")}})
    b = np.array([r["bsi"] for r in met])
    out["bsi_by_involvement"] = bins
    out["bsi_r_metastatic"] = float(np.corrcoef(b, t)[0, 1])
    out["bsi_slope_metastatic"] = float(np.polyfit(t, b, 1)[0])
    truth = [r["truth"] for r in rows]
    for key in ("bsi", "called_true", "captured"):  # as shipped; two ceilings
        out[f"{key}_r" if key != "bsi" else "bsi_r"] = float(
            np.corrcoef([r[key] for r in rows], truth)[0, 1])
    st = np.concatenate([r["share_true"] for r in met])
    sp = np.concatenate([r["share_pred"] for r in met])
    area = np.concatenate([r["area"] for r in met])
    out["share_by_size"] = [
        {"true_share": [lo, hi], "n": int(k.sum()), "mean_true": float(st[k].mean()),
         "mean_pred": float(sp[k].mean()), "median_area": float(np.median(area[k])),
         "median_share_per_area": float(np.median(st[k] / area[k]))}
        for lo, hi in zip(SHARE_BINS[:-1], SHARE_BINS[1:], strict=True)
        if (k := (st >= lo) & (st < hi)).any()]
    return out


def main(argv=None) -> int:
    from benchmarks.diagnose_lowcount import SELECT_SEED, lowcount_records
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True, help="banded selection records, seeds 400000-")
    ap.add_argument("--thinned-cache", required=True, help="their 0.3-0.4 M renderings")
    ap.add_argument("--fresh-cache", required=True, help="seeds 450000-450099, all renderings")
    ap.add_argument("--detector", default="bundled")
    ap.add_argument("--out", default=str(RESULTS / "lowcount_diagnosis2.json"))
    args = ap.parse_args(argv)
    det = (bundled_detector_or_none() if args.detector == "bundled"
           else HotspotDetector.load(args.detector))
    band = tuple(det.card["count_band"])
    s1, s2 = list(range(SELECT_SEED, SELECT_SEED + 200)), list(range(450_000, 450_100))
    sites = [SELECT[i % len(SELECT)] for i in range(len(s1))] + [
        SELECT[i % len(SELECT)] for i in range(len(s2))]
    renderings = {
        "native": simulated_records(SELECT, s1, args.cache, count_band=band)
        + simulated_records(SELECT, s2, args.fresh_cache, count_band=band),
        "low": lowcount_records(SELECT, s1, args.thinned_cache, band, (0.3e6, 0.4e6))
        + lowcount_records(SELECT, s2, args.fresh_cache, band, (0.3e6, 0.4e6))}
    result = {"config": {**vars(args), "select": list(SELECT), "low_sites": list(LOW_SITES),
                         "seeds": [s1[0], s1[-1], s2[0], s2[-1]]}}
    for name, recs in renderings.items():
        rows = [study_row(det, r) for r in recs]
        for group, keep in (("low_sites", lambda s: s in LOW_SITES),
                            ("other_sites", lambda s: s not in LOW_SITES)):
            result[f"{name}_{group}"] = group_figures(
                [r for r, s in zip(rows, sites, strict=True) if keep(s)])
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
