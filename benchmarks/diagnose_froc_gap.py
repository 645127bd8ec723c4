"""Where do the malignant lesions go that a candidate touches but the FROC never counts?

Issue 16: the bundled detector's FROC is flat above 1 FP per scan (site_c 0.85 at 8 FP)
while ``bench_candidates`` finds about 0.93 of the malignant lesions touched by a candidate.
On the SELECTION studies only (seeds 400000-400199, study ``i`` on
``select_detector.SELECT[i % 5]``, made with the card's count band as ``analyze`` makes
them), every malignant lesion is put in one class, under the rule before this diagnosis
(``legacy``, ``detector_records.froc_matches``):

* ``not_in_masks``: it holds no pixel of the truth masks (wholly under a later lesion's
  outline), so no hotspot can hit it;
* ``untouched``: no candidate's mask overlaps it on either view;
* ``merged_malignant`` / ``merged_benign``: candidates overlap it, but every one of them
  carries another lesion as its truth (``detector_records._truth``: the lesion it overlaps
  most, a malignant one preferred), so the FROC can never count it;
* ``group_other``: a candidate carries it, but that candidate's anterior/posterior group
  is counted for another malignant lesion (one lesion per group, the first malignant
  member's);
* ``credited``: the FROC counts it; with the false positives per scan at which it is
  counted (pooled over the studies, as the FROC curve) and the study's own false-positive
  groups scored above it.

Each row also holds the lesion's kind, contrast, radius, region, views, mask pixels, the
study's counts and the edge-to-edge distance to its nearest other lesion
(``bench_candidates._bin`` bins). The FROC under every rule of :data:`RULES` on the same
candidates, and the sensitivity at 1 FP per scan and CPM of each against ``legacy`` with a
paired study-bootstrap 95 % CI. Since the diagnosis, ``bench_detector`` scores records that
carry ``hit_id`` and ``mask_ids`` with ``standard`` (docs/lesions.md, "Where the missed
metastases go").

Run (one thread, about 1.5 s per study)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.diagnose_froc_gap \\
        --n 200 --check-cache /tmp/lowcount/c2

Writes ``benchmarks/results/froc_gap_diagnosis.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.bench_candidates import CONTRAST_BINS, RADIUS_BINS, _bin

RESULTS = Path(__file__).parent / "results"
SEED = 400_000
DIST_BINS = (-np.inf, 0.0, 10.0, 30.0, np.inf)
COUNT_BINS = (0.0, 0.5, 1.0, 2.0, np.inf)
FP_LEVELS = (1.0, 2.0, 4.0, 8.0)
CLASSES = ("not_in_masks", "untouched", "merged_malignant", "merged_benign", "group_other",
           "credited")
RULES = ("legacy", "in_masks", "per_candidate", "standard", "any_overlap")
"""FROC hit rules compared: ``legacy`` and ``standard`` (``detector_records.froc_matches``:
the rule before this diagnosis and the hit rule of ``osteoscan.evaluation.lesions``);
``in_masks`` (legacy, counting only the malignant lesions that hold a pixel of the truth
masks); ``per_candidate`` (legacy, but every member of a group hits the lesion it carries,
with the group's score); ``any_overlap`` (a candidate hits every malignant lesion it
overlaps: not a standard rule, an upper bound of what splitting merged candidates could
give)."""
KEYS = ("kind", "contrast", "radius", "region", "counts", "nearest", "views", "site")
log = logging.getLogger(__name__)


def _nearest_mm(sim) -> dict[int, tuple[float, bool]]:
    """Per lesion: edge-to-edge distance (mm, nominal radii) to its nearest other lesion and
    whether that one is malignant."""
    out = {}
    for a in sim.lesions:
        best = (np.inf, False)
        for b in sim.lesions:
            if b.id != a.id:
                d = float(np.hypot(*np.subtract(a.centre_mm, b.centre_mm)))
                best = min(best, (d - a.radius_mm - b.radius_mm, b.malignant))
        out[a.id] = best
    return out


def study(sim, det, band) -> tuple[dict, list, list[dict]]:
    """A study's FROC record, its candidates' overlaps (lesion id: pixels) and one row per
    malignant lesion."""
    from osteoscan.lesions.detector_records import _truth, in_masks
    from osteoscan.lesions.patient import study_arrays

    arr, hot = study_arrays(sim.scan, count_band=band)
    mal = {int(les.id) for les in sim.lesions if les.malignant}
    tid, _, hit = _truth(hot, sim.lesion_masks, mal)
    overlaps = [_overlap(sim.lesion_masks[h.view][h.mask]) for h in hot]
    px = {v: np.bincount(m.ravel()) for v, m in sim.lesion_masks.items()}
    st = det.stages(arr)
    capped = det.decide(arr, st["probability"], st["codes"], st["stack"])["capped"]
    rec = {"X": arr.X, "view": arr.view, "group": arr.group, "head_mm": arr.head_mm,
           "truth_id": tid, "malignant_ids": np.array(sorted(mal), int), "capped": capped,
           "raw": st["probability"], "mask_ids": in_masks(sim.lesion_masks, mal),
           "hit_id": hit}
    near, counts = _nearest_mm(sim), float(np.sum(sim.scan.anterior)) / 1e6
    rows = [{"id": int(les.id), "kind": les.kind, "region": les.region,
             "contrast": _bin(les.contrast, CONTRAST_BINS), "contrast_value": les.contrast,
             "radius": _bin(les.radius_mm, RADIUS_BINS), "radius_mm": les.radius_mm,
             "counts": _bin(counts, COUNT_BINS), "nearest_mm": near[les.id][0],
             "nearest": _bin(min(near[les.id][0], 1e9), DIST_BINS),
             "nearest_malignant": near[les.id][1], "views": "+".join(les.views),
             "site": sim.site, "mask_px": {v: int(c[les.id]) if les.id < len(c) else 0
                                          for v, c in px.items()}}
            for les in sim.lesions if les.malignant]
    return rec, overlaps, rows


def _overlap(ids: np.ndarray) -> dict[int, int]:
    """Lesion id: pixels of a candidate's mask on it."""
    c = np.bincount(ids.ravel())
    return {int(k): int(c[k]) for k in np.flatnonzero(c) if k}


def _groups(rec, probs):
    """Per distinct lesion group (``patient.lesion_table``): its members and its score."""
    from osteoscan.lesions.patient import lesion_table

    idx, lp = lesion_table(probs, rec["group"])
    return [np.flatnonzero(rec["group"] == rec["group"][i]) for i in idx], lp


def matches(rec, overlaps, probs, rule: str):
    """LesionMatch of one study under ``rule`` (:data:`RULES`)."""
    from osteoscan.evaluation.lesions import LesionMatch
    from osteoscan.lesions.detector_records import froc_matches

    if rule in ("legacy", "standard"):
        return froc_matches([rec], [probs], rule)[0]
    if rule == "in_masks":
        return froc_matches([{**rec, "malignant_ids": rec["mask_ids"]}], [probs], "legacy")[0]
    ids = rec["malignant_ids"]
    mal = set(ids.tolist())
    scores, fps = np.full(len(ids), -np.inf), []
    members, lp = _groups(rec, probs)
    for m, s in zip(members, lp, strict=True):
        if rule == "any_overlap":
            hits = set().union(*(overlaps[i] for i in m)) & mal
        else:
            hits = {int(rec["truth_id"][i]) for i in m} & mal
        for t in hits:
            j = int(np.searchsorted(ids, t))
            scores[j] = max(scores[j], s)
        if not hits and not any(overlaps[i] for i in m):
            fps.append(s)
    return LesionMatch(ids, scores, np.zeros(0, int), np.array(fps))


def classify(rec, overlaps, rows, probs, mal_ids) -> None:
    """Put each malignant lesion row in its class (module docstring), in place."""
    m = matches(rec, overlaps, probs, "legacy")
    score = dict(zip(m.lesion_ids.tolist(), m.lesion_scores.tolist(), strict=True))
    members, _ = _groups(rec, probs)
    for r in rows:
        t = r["id"]
        touching = [i for i, o in enumerate(overlaps) if t in o]
        best = max((float(probs[i]) for i in touching), default=-np.inf)
        r.update(best_touching=best, fp_groups_above=int(np.sum(m.fp_scores >= best)))
        if np.isfinite(score[t]):
            r.update(cls="credited", score=score[t],
                     fp_groups_above=int(np.sum(m.fp_scores >= score[t])))
        elif not any(r["mask_px"].values()):
            r["cls"] = "not_in_masks"
        elif not touching:
            r["cls"] = "untouched"
        elif any(rec["truth_id"][i] == t for i in touching):
            r["cls"] = "group_other"
        else:
            other = {int(rec["truth_id"][i]) for i in touching}
            r["cls"] = "merged_malignant" if other & mal_ids else "merged_benign"
        r["members_per_group"] = max((len(g) for g in members if set(g) & set(touching)),
                                     default=0)


def fp_rate_levels(rows, fp_scores, n_studies: int) -> None:
    """Per credited lesion: the pooled false positives per scan at which the FROC counts it,
    binned at :data:`FP_LEVELS` (in place)."""
    fp = np.sort(np.asarray(fp_scores))
    for r in rows:
        s = r.get("score") if r["cls"] == "credited" else r["best_touching"]
        rate = float((len(fp) - np.searchsorted(fp, s, side="left")) / n_studies)
        r["fp_per_scan"] = rate
        r["fp_level"] = next((f"<={f:g}" for f in FP_LEVELS if rate <= f), ">8")


def tables(rows: list[dict]) -> dict:
    """Counts of each class, overall and per attribute; credited by FP level."""
    def count(rs):
        out = {c: sum(r["cls"] == c for r in rs) for c in CLASSES}
        out["n"] = len(rs)
        cr = [r for r in rs if r["cls"] == "credited"]
        out["credited_by_fp_level"] = {lv: sum(r["fp_level"] == lv for r in cr)
                                       for lv in ("<=1", "<=2", "<=4", "<=8", ">8")}
        return out

    res = {"all": count(rows)}
    for key in KEYS:
        groups = defaultdict(list)
        for r in rows:
            groups[str(r[key])].append(r)
        res[key] = {g: count(v) for g, v in sorted(groups.items())}
    return res


def run(n: int, check_cache: str | None) -> dict:
    from benchmarks.select_detector import SELECT
    from osteoscan.evaluation.lesions import froc_score
    from osteoscan.lesions.patient import bundled_detector_or_none
    from osteoscan.simulate.study import simulate_study

    det = bundled_detector_or_none()
    band = tuple(det.card["count_band"])
    recs, ovs, rows, mismatched = [], [], [], 0
    for i, seed in enumerate(range(SEED, SEED + n)):
        site = SELECT[i % len(SELECT)]
        label = "metastasis" if np.random.default_rng(seed).random() < 0.5 else "normal"
        sim = simulate_study(seed, site=site, force_label=label)
        rec, ov, rs = study(sim, det, band)
        mismatched += _differs(rec, check_cache, site, seed, band)
        for r in rs:
            r["seed"] = seed
        classify(rec, ov, rs, rec["capped"], set(rec["malignant_ids"].tolist()))
        recs.append(rec)
        ovs.append(ov)
        rows += rs
        if (i + 1) % 20 == 0:
            log.info("%d/%d studies", i + 1, n)
    fps = np.concatenate([matches(r, o, r["capped"], "legacy").fp_scores
                          for r, o in zip(recs, ovs, strict=True)])
    fp_rate_levels(rows, fps, n)
    per_rule = {f"{rule}_{p}": [matches(r, o, r[p], rule) for r, o in zip(recs, ovs, strict=True)]
                for rule in RULES for p in ("capped", "raw")}
    froc = {k: froc_score(v) for k, v in per_rule.items()}
    capped = {k.removesuffix("_capped"): v for k, v in per_rule.items() if k.endswith("_capped")}
    return {"studies": n, "count_band": band, "records_differing_from_cache": mismatched,
            "froc": froc, "rules_vs_legacy": rule_differences(capped), "tables": tables(rows),
            "rows": rows}


def rule_differences(per_rule: dict[str, list], n_boot: int = 1000) -> dict:
    """Sensitivity at 1 FP per scan and CPM of every rule, each with a study-bootstrap 95 %
    CI and the paired difference to the ``legacy`` rule (same resamples)."""
    from osteoscan.evaluation.lesions import froc_score
    from osteoscan.evaluation.statistics import bootstrap_replicates, percentile_interval

    n = len(per_rule["legacy"])
    every = np.arange(n)

    def figures(idx):
        out = {}
        for rule, ms in per_rule.items():
            try:
                f = froc_score([ms[i] for i in idx])
            except ValueError:  # a resample without a malignant lesion
                f = {"sens@1": np.nan, "cpm": np.nan}
            out.update({f"{rule}:sens@1": f["sens@1"], f"{rule}:cpm": f["cpm"]})
        for k in list(out):
            out[f"diff:{k}"] = out[k] - out[f"legacy:{k.split(':')[1]}"]
        return out

    def statistic(w):
        rows = [figures(np.repeat(every, w[b].astype(int))) for b in range(w.shape[0])]
        return {k: np.array([r[k] for r in rows]) for k in rows[0]}

    point, reps = figures(every), bootstrap_replicates(statistic, every, n_boot=n_boot, seed=0)
    return {k: {"value": v, "ci95": list(percentile_interval(reps[k]))} for k, v in point.items()}


def _differs(rec, cache, site, seed, band) -> int:
    """1 when the cached record of the bundle's build (``--check-cache``) holds other
    candidates than this code finds: then the diagnosis is not of the bundle's records."""
    if not cache:
        return 0
    path = Path(cache) / f"{site}-default-{seed}-band{band[0]}-{band[1]}.npz"
    if not path.is_file():
        return 0
    old = np.load(path, allow_pickle=False)
    same = old["X"].shape == rec["X"].shape and np.allclose(old["X"], rec["X"], equal_nan=True)
    return int(not (same and np.array_equal(old["truth_id"], rec["truth_id"])))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="selection studies (from seed 400000)")
    ap.add_argument("--check-cache", default=None,
                    help="the bundle's record cache: count studies whose candidates differ")
    ap.add_argument("--out", default=str(RESULTS / "froc_gap_diagnosis.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from osteoscan.artefacts import atomic_write_text, dumps_json

    result = {"config": vars(args), **run(args.n, args.check_cache)}
    atomic_write_text(args.out, dumps_json(result, default=float))
    print(json.dumps({k: result[k] for k in ("froc", "records_differing_from_cache")},
                     indent=1, default=float))
    print(json.dumps(result["tables"]["all"], indent=1))
    print(json.dumps(result["tables"]["site"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
