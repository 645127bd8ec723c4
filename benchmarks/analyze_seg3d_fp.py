"""Where a 3-D network's false positives are: bone, size, SPECT contrast (docs/seg3d.md).

For a trained ``seg3d`` checkpoint and a simulated cohort (a selection profile: never the
test profile), every predicted instance is listed with what it hit (a metastasis, a benign
lesion, nothing), the bone it lies in (``simulate.volume_study.skeletal_parts`` rebuilds each
study's bone map from the patient seed in ``truth.json``), its size and its features. The
lesion model scores every instance but none is dropped by it here, so the table shows both
what the card's ``min_p_lesion`` removes and what survives. The instances are ranked by their
score (what the FROC ranks) over the cohort; the false positives above the rank where the
cohort reaches 1.5 false positives per scan (the issue's operating point) are those that
cost sensitivity there.

Usage: ``python -m benchmarks.analyze_seg3d_fp RUN COHORT OUT_PREFIX`` (writes
``OUT_PREFIX.csv``, one row per instance, and ``OUT_PREFIX.json``, the summary).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SIZE_BINS = (0, 2, 4, 8, 16, 10**9)  # model-grid voxels: (lo, hi]
CONTRAST_BINS = (-10.0, 0.0, 0.05, 0.10, 0.20, 10.0)


def instance_table(run: str, cohort: str) -> pd.DataFrame:
    """One row per predicted instance of every study of ``cohort``."""
    import torch

    from osteoscan.simulate import volume_canvas as vc
    from osteoscan.simulate.volume_study import skeletal_parts
    from osteoscan.volumetric.infer import Segmenter3D
    from osteoscan.volumetric.inputs import check_channels
    from osteoscan.volumetric.instances import feature_names
    from osteoscan.workflows.seg3d import read_cases

    torch.set_num_threads(1)
    seg = Segmenter3D.from_checkpoint(run)
    # every candidate listed: the lesion model's cut applied to the mask only (the same
    # instances as the cut "all" keeps, plus those it drops, out of the mask), so that a
    # fused CT path adds exactly the lesions it adds to the card's output
    cut, seg.cut = seg.min_p_lesion, "mask"
    names = feature_names(check_channels(seg.channels))
    rows, lesions = [], []
    for case in read_cases(cohort):
        truth = json.loads((Path(cohort) / case.case_id / "truth.json").read_text())
        parts = skeletal_parts(truth["seed"], truth["profile"], tuple(truth["ct_shape"]))
        kinds = {les["id"]: les["kind"] for les in truth["lesions"]}
        result = seg.predict(case, keep_work=True)
        lesions.extend(_true_lesions(case, truth, parts, result))
        for t in result.lesions:
            mask = result.instances == t["id"]
            hit = case.instances[mask]
            hit = hit[hit > 0]
            counts = np.bincount(parts[mask], minlength=len(vc.PARTS))
            rows.append({
                "case": case.case_id, "id": t["id"],
                "truth": "none" if not hit.size else ("metastasis" if (case.semantic[mask] == 2).any()
                                                      else "benign"),
                "kind": kinds.get(int(np.bincount(hit).argmax()), "") if hit.size else "",
                "bone": vc.PARTS[int(counts.argmax())],
                "voxels_model": int(round(t["volume_ml"] * 1000 / seg.spacing**3)),
                "p_lesion": t.get("p_lesion", np.nan), "score": t["score"],
                "kept_by_card": t["in_mask"], "source": t.get("source", "primary"),
                **dict(zip(names, t["features"], strict=True))})
    frame = pd.DataFrame(rows)
    frame.attrs.update(n_scans=len({r["case"] for r in rows}) if rows else 0, min_p_lesion=cut,
                       threshold=seg.threshold, min_voxels=seg.min_voxels)
    return frame, pd.DataFrame(lesions)


def _true_lesions(case, truth: dict, parts, result) -> list[dict]:
    """One row per true lesion: found by a kept instance, by any instance, the largest
    lesion probability (1 - P(background)) over it, and its SPECT contrast to a 1-voxel
    shell (normalised SPECT on the CT grid)."""
    from scipy import ndimage

    from osteoscan.preprocessing.volumes import normalise_spect
    from osteoscan.volumetric.inputs import resize

    p_lesion = resize(1.0 - result.work["prob"][:1], case.shape)[0]
    spect = normalise_spect(case.spect)
    kept = {t["id"] for t in result.lesions if t["in_mask"]}
    rows = []
    for les in truth["lesions"]:
        mask = case.instances == les["id"]
        shell = ndimage.binary_dilation(mask) & ~mask
        ids = set(np.unique(result.instances[mask]).tolist()) - {0}
        rows.append({"case": case.case_id, "id": les["id"], "kind": les["kind"],
                     "malignant": les["malignant"], "bone": les["part"],
                     "voxels_ct": les["voxels"], "found_kept": bool(ids & kept),
                     "found_any": bool(ids), "instances": " ".join(str(i) for i in sorted(ids)),
                     "max_p_lesion_voxel": float(p_lesion[mask].max()),
                     "spect_contrast": float(spect[mask].mean() - spect[shell].mean())})
    return rows


def operating_point(frame: pd.DataFrame, n_scans: int, fp_per_scan: float = 1.5) -> pd.Series:
    """True for the kept instances ranked above the rank where the kept false positives reach
    ``fp_per_scan`` per scan (ranked by score over the cohort)."""
    kept = frame[frame["kept_by_card"]].sort_values("score", ascending=False)
    fp_cum = (kept["truth"] == "none").cumsum()
    above = fp_cum <= fp_per_scan * n_scans
    return above.reindex(frame.index, fill_value=False)


def _by(frame: pd.DataFrame, column: str, bins=None) -> dict:
    values = pd.cut(frame[column], bins) if bins is not None else frame[column]
    return {str(k): int(v) for k, v in values.value_counts(sort=False).items() if v}


def summarise(frame: pd.DataFrame) -> dict:
    n = int(frame.attrs["n_scans"])
    frame = frame.assign(at_op=operating_point(frame, n))
    groups = {"false positives, all": frame[frame["truth"] == "none"],
              "false positives kept by the card": frame[(frame["truth"] == "none")
                                                        & frame["kept_by_card"]],
              "false positives above 1.5 FP/scan": frame[(frame["truth"] == "none")
                                                         & frame["at_op"]],
              "metastasis hits kept": frame[(frame["truth"] == "metastasis")
                                            & frame["kept_by_card"]]}
    out = {"n_scans": n, **{k: frame.attrs[k] for k in ("threshold", "min_voxels",
                                                          "min_p_lesion")}, "groups": {}}
    for name, g in groups.items():
        out["groups"][name] = {
            "n": len(g), "bone": _by(g, "bone"),
            "size_voxels": _by(g, "voxels_model", SIZE_BINS),
            "spect_contrast": _by(g, "spect_contrast", CONTRAST_BINS),
            "median": {c: float(g[c].median()) if len(g) else None
                       for c in ("voxels_model", "spect_contrast", "spect_max", "ct_mean",
                                 "ct_contrast", "heat_max", "z_fraction", "p_lesion", "score")}}
    return out


def missed(lesions: pd.DataFrame) -> dict:
    """Per lesion kind: how many, found by a kept instance, by any instance, and the medians
    of the missed ones (size, SPECT contrast, largest voxel lesion probability)."""
    out = {}
    for kind, g in lesions.groupby("kind"):
        miss = g[~g["found_kept"]]
        out[kind] = {"malignant": bool(g["malignant"].iloc[0]), "n": len(g),
                     "found_kept": int(g["found_kept"].sum()), "found_any": int(g["found_any"].sum()),
                     "missed_bone": _by(miss, "bone"),
                     "missed_median": {c: float(miss[c].median()) if len(miss) else None
                                       for c in ("voxels_ct", "spect_contrast",
                                                 "max_p_lesion_voxel")},
                     "found_median_spect_contrast": float(g[g["found_kept"]]["spect_contrast"].median())
                     if g["found_kept"].any() else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("cohort")
    parser.add_argument("out_prefix")
    args = parser.parse_args()
    frame, lesions = instance_table(args.run, args.cohort)
    summary = {"run": args.run, "cohort": args.cohort, **summarise(frame),
               "true_lesions": missed(lesions)}
    out = Path(args.out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out.with_suffix(".csv"), index=False)
    lesions.to_csv(out.with_name(out.name + "-lesions.csv"), index=False)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
