"""Which lesion types a 3-D network finds, per kind, for several runs on one cohort
(docs/seg3d.md, "Fifth run").

For each run (a selected ``seg3d`` checkpoint) every true lesion of the cohort is listed by
``benchmarks.analyze_seg3d_fp.instance_table`` (the same rows as the error analysis). Per
lesion kind (blastic, lytic, mixed metastases; each benign kind) it counts the lesions hit by
a candidate instance (``found``: with the card's mask-only cut every instance stays a ranked
candidate, as in ``seg3d evaluate``'s FROC; with the cut ``all`` only those it keeps), by
an instance kept in the mask (``in_mask``), and by a candidate ranked above the cohort's
1.5 false positives per scan (``found_at_1.5fp``; a false positive here is an instance on no
true lesion), with 95 % CIs of the proportions (``evaluation.statistics.proportion_ci``;
lesions of one patient are counted as independent).

Usage: ``python -m benchmarks.seg3d_found_by_kind OUT.json COHORT NAME=RUN ...``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.analyze_seg3d_fp import instance_table, operating_point  # noqa: E402

GROUPS = {"blastic": ("osteoblastic",), "lytic": ("osteolytic",), "mixed": ("mixed",),
          "benign": ("osteophyte", "bone_island", "fracture", "schmorl", "haemangioma")}


def _count(rows, column: str) -> dict:
    from osteoscan.evaluation.statistics import proportion_ci

    k, n = int(rows[column].sum()), len(rows)
    lo, hi = proportion_ci(k, n) if n else (float("nan"), float("nan"))
    return {"found": k, "n": n, "fraction": k / n if n else None, "ci95": [lo, hi]}


def found_by_kind(run: str, cohort: str) -> dict:
    """Per kind and per group: found by a kept instance, and above 1.5 FP/scan."""
    from osteoscan.volumetric.infer import Segmenter3D

    frame, lesions = instance_table(run, cohort)
    mask_only = Segmenter3D.from_checkpoint(run).cut == "mask"
    candidates = frame.assign(kept_by_card=True) if mask_only else frame
    at_op = frame[operating_point(candidates, int(frame.attrs["n_scans"]))]
    lesions["found"] = lesions["found_any"] if mask_only else lesions["found_kept"]
    top = {(c, int(i)) for c, i in zip(at_op["case"], at_op["id"], strict=True)}
    lesions["found_at_op"] = [
        any((c, int(i)) in top for i in str(ids).split() if i not in ("", "nan"))
        for c, ids in zip(lesions["case"], lesions["instances"], strict=True)]
    out = {"run": run, "n_scans": int(frame.attrs["n_scans"]),
           "cut": "mask" if mask_only else "all", "kinds": {}, "groups": {}}
    for kind, g in lesions.groupby("kind"):
        out["kinds"][str(kind)] = _counts(g)
    for name, kinds in GROUPS.items():
        out["groups"][name] = _counts(lesions[lesions["kind"].isin(kinds)])
    return out


def _counts(rows) -> dict:
    return {"found": _count(rows, "found"), "in_mask": _count(rows, "found_kept"),
            "found_at_1.5fp": _count(rows, "found_at_op")}


def main(argv: list[str]) -> None:
    out, cohort, pairs = Path(argv[0]), argv[1], [a.split("=", 1) for a in argv[2:]]
    report = {"what": "true lesions found per kind (docs/seg3d.md)", "cohort": cohort,
              "runs": {name: found_by_kind(run, cohort) for name, run in pairs}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, r in report["runs"].items():
        print(name, {g: f"{v['found']['found']}/{v['found']['n']}"
                     for g, v in r["groups"].items()})


if __name__ == "__main__":
    main(sys.argv[1:])
