"""Where the detector's BSI error and missed lesions come from at low counts (selection sites).

The selection studies of the bundle (``select_detector.SELECT``, seeds 400000-400199; never a
test site) are scored twice by one detector: as simulated (records with the card's count
band, as ``analyze`` makes them) and thinned, both views by one factor, to an anterior total
drawn uniformly in ``--counts`` (0.3-0.4 M: profile_13's range), recorded the same way.
Per rendering it reports the detector's figures and a decomposition of the BSI error:

* ``captured``: the BSI the candidate set covers (each candidate's true share, summed over a
  view, averaged over the views): what a perfect per-candidate BSI could reach;
* ``ungated``: the BSI trees' sum whatever the decision (the gate's loss is ``bsi`` minus it);
* ``oracle_p``: the BSI trees given each candidate's true malignancy as its probability;
* per malignant lesion found in both renderings: the low/native ratio of its candidates'
  area, extent and peak ratio, and of their predicted BSI share (feature drift).

Run::

    nice -n 10 .venv/bin/python -m benchmarks.diagnose_lowcount --cache /tmp/lowcount/cache \\
        --out benchmarks/results/lowcount_diagnosis.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
SELECT_SEED = 400_000


def lowcount_records(sites, seeds, cache, band, counts) -> list[dict]:
    """Records of the studies thinned to an anterior total drawn in ``counts`` (cached);
    ``counts`` None: thinned to 50 % (the count-halved copy of the robustness suite)."""
    from dataclasses import replace

    from osteoscan.lesions.detector_records import study_record
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.simulate.study import simulate_study

    out = []
    for i, seed in enumerate(seeds):
        site = sites[i % len(sites)]
        tag = f"low{counts[0]:g}-{counts[1]:g}" if counts else "half"
        path = Path(cache) / f"{site}-{seed}-{tag}-band{band[0]}.npz"
        if path.is_file():
            out.append(dict(np.load(path, allow_pickle=False)))
            continue
        label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
        sim = simulate_study(seed, site=site, force_label=label)
        rng = np.random.default_rng([seed, 77 if counts else 78])
        keep = min(1.0, rng.uniform(*counts) / float(np.sum(sim.scan.anterior))) if counts else 0.5
        thin = lambda x: None if x is None else thin_counts(  # noqa: E731
            np.round(np.asarray(x, np.float32)), keep, rng).astype(np.float32)
        scan = replace(sim.scan, anterior=thin(sim.scan.anterior),
                       posterior=thin(sim.scan.posterior))
        rec = study_record(replace(sim, scan=scan), band)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **rec)
        os.replace(tmp, path)
        out.append(rec)
    return out


def bsi_parts(det, rec) -> dict:
    """The BSI decomposition of one record (module docstring)."""
    from osteoscan.lesions.detector_train import arrays

    arr = arrays(rec)
    st = det.stages(arr)
    out = det.decide(arr, st["probability"], st["codes"], st["stack"])
    nv = max(len(np.unique(arr.view)), 1)
    if not len(arr.X):
        return {"bsi": 0.0, "ungated": 0.0, "oracle_p": 0.0, "captured": 0.0, "positive": False}
    capped = out["capped"]
    ungated = det.masses(arr, capped, st["codes"], st["stack"]).sum()
    oracle = det.masses(arr, rec["y"].astype(float), st["codes"], st["stack"]).sum()
    return {"bsi": out["bsi"], "ungated": float(ungated), "oracle_p": float(oracle),
            "captured": float(rec["bsi_share"].sum() / nv), "positive": out["positive"],
            "mass": det.masses(arr, capped, st["codes"], st["stack"])}


def recall(records) -> float:
    """Share of malignant lesions that some candidate overlaps."""
    found = total = 0
    for r in records:
        mal = set(r["malignant_ids"].tolist())
        hit = set(r["truth_id"][r["y"] > 0].tolist())
        found += len(mal & hit)
        total += len(mal)
    return found / max(total, 1)


def drift(det, native, low) -> dict:
    """Median low/native ratios of each malignant lesion's candidate features (largest-area
    candidate per view) and of its predicted BSI share, lesions found in both."""
    from osteoscan.lesions.context import FEATURES

    names = ("area_mm2", "extent", "major_axis_mm", "peak_ratio", "peak_z", "mean_z")
    ratios = {k: [] for k in (*names, "mass", "true_share")}
    for a, b in zip(native, low, strict=True):
        ma, mb = bsi_parts(det, a).get("mass"), bsi_parts(det, b).get("mass")
        for les in a["malignant_ids"]:
            for v in (0, 1):
                ia = np.flatnonzero((a["truth_id"] == les) & (a["view"] == v))
                ib = np.flatnonzero((b["truth_id"] == les) & (b["view"] == v))
                if not len(ia) or not len(ib):
                    continue
                fa, fb = a["X"][ia], b["X"][ib]
                ja, jb = np.argmax(fa[:, FEATURES.index("area_mm2")]), \
                    np.argmax(fb[:, FEATURES.index("area_mm2")])
                for k in names:
                    c = FEATURES.index(k)
                    ratios[k].append(fb[jb, c] / max(fa[ja, c], 1e-6))
                if ma is not None and mb is not None:
                    ratios["mass"].append(mb[ib].sum() / max(ma[ia].sum(), 1e-6))
                ratios["true_share"].append(b["bsi_share"][ib].sum()
                                            / max(a["bsi_share"][ia].sum(), 1e-6))
    return {k: {"median": float(np.median(v)), "q25": float(np.percentile(v, 25)),
                "q75": float(np.percentile(v, 75)), "n": len(v)} for k, v in ratios.items() if v}


def rendering(det, records) -> dict:
    """Figures of one rendering: the bench's, recall, and the BSI decomposition."""
    from benchmarks.bench_detector import score_detector

    fig = score_detector(det, records)
    parts = [bsi_parts(det, r) for r in records]
    truth = np.array([float(r["bsi"]) for r in records])
    mets = truth > 0
    out = {"auc": fig["patient"]["auc"], "cpm": fig["froc_metastasis"]["cpm"],
           "sens_at_1fp": fig["sens_at_1fp"], "bsi_r": fig["bsi"]["pearson_r"],
           "candidate_recall": recall(records),
           "candidates_per_scan": float(np.median([len(r["y"]) for r in records]))}
    for key in ("bsi", "ungated", "oracle_p", "captured"):
        est = np.array([p[key] for p in parts])
        out[f"{key}_r"] = float(np.corrcoef(est, truth)[0, 1])
        out[f"{key}_over_truth_metastatic"] = float(np.sum(est[mets]) / np.sum(truth[mets]))
    out["positive_metastatic"] = float(np.mean([p["positive"] for p, m in zip(parts, mets) if m]))
    return out


def main(argv=None) -> int:
    from benchmarks.select_detector import SELECT
    from osteoscan.lesions.detector_records import simulated_records
    from osteoscan.lesions.patient import HotspotDetector, bundled_detector_or_none

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True,
                    help="records (the native ones may come from --native-cache)")
    ap.add_argument("--native-cache", default=None, help="cache holding the banded native records")
    ap.add_argument("--detector", default="bundled")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--counts", type=float, nargs=2, default=(0.3e6, 0.4e6))
    ap.add_argument("--out", default=str(RESULTS / "lowcount_diagnosis.json"))
    args = ap.parse_args(argv)
    det = (bundled_detector_or_none() if args.detector == "bundled"
           else HotspotDetector.load(args.detector))
    band = tuple(det.card["count_band"])
    seeds = list(range(SELECT_SEED, SELECT_SEED + args.n))
    native = simulated_records(SELECT, seeds, args.native_cache or args.cache, count_band=band)
    low = lowcount_records(SELECT, seeds, args.cache, band, args.counts)
    result = {"config": {**vars(args), "select": list(SELECT)}}
    for name, recs in (("native", native), ("low", low)):
        result[name] = rendering(det, recs)
        for s, site in enumerate(SELECT):
            result[f"{name}_{site}"] = rendering(det, recs[s::len(SELECT)])
    result["drift_low_over_native"] = drift(det, native, low)
    Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
