"""Finer simulated CT (docs/seg3d.md, "Finer simulated CT (session 7)"): generation cost and
CT visibility of each lesion kind, old sampling against the sites' own, in one run.

The same profile_7 patients are simulated twice: with the earlier runs' grid
(``shape=(64, 96, 96)``: about 9.7 x 4.4 x 4.4 mm, CT noise per voxel) and with the site's
sampling (``spacing="profile"``: profile_7's 3.75 mm slices and 0.83 mm pixels, CT noise
scaled with the voxel volume). Every study holds one lesion of each of the eight kinds (the
primary alternates lung / other), so each kind has n lesions per arm.

Per study and arm: seconds to simulate, seconds to write its NIfTI files (the cohort
writer's, into a temporary folder), peak traced memory (``tracemalloc``: numpy's arrays are
traced) and the CT voxel count. Per lesion: ``benchmarks.seg3d_ct_visibility``'s measure
(``seg3d_ct_contrast.lesion_stats`` with a bone shell: CNR of the network's input channels)
on the study's own grid and the 5 and 4 mm model grids, each also with the anti-aliased
resize (``volumetric.inputs.resize(anti_alias=True)``, suffix ``-aa``).

``--cost-profiles profile_3,...`` adds, per named profile, one patient's cost on both arms
(no lesion measure): the extremes of the sites' sampling (1.25 mm slices on a 512 matrix).

``--grids 5,4`` measures only those grids (names as in the JSON: native, 5mm, 4mm, 5mm-aa,
4mm-aa; default all), ``--no-write`` skips the NIfTI writing (its cost is then 0), and
``--before PARTS`` adds, under ``before``, the same patients' figures from an earlier run's
parts file (the same seeds drawn by an earlier simulator: features in millimetres,
docs/volumes.md).

Usage: ``python -m benchmarks.seg3d_ct_sampling OUT.json [--n 16] [--seed 7700]
[--cost-profiles P,...] [--grids G,...] [--no-write] [--before PARTS]`` (per-study parts in
``OUT.parts.jsonl``: an interrupted run resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.seg3d_ct_contrast import lesion_stats  # noqa: E402
from benchmarks.seg3d_ct_visibility import summarise  # noqa: E402

PROFILE = "profile_7"
ARMS = {"old": {"shape": (64, 96, 96)}, "profile": {"spacing": "profile"}}
GRIDS = ((None, False), (5.0, False), (4.0, False), (5.0, True), (4.0, True))
KINDS = ("osteoblastic", "osteolytic", "mixed", "osteophyte", "schmorl", "haemangioma",
         "bone_island", "fracture")


def grid_name(mm: float | None, aa: bool) -> str:
    return "native" if mm is None else f"{mm:g}mm" + ("-aa" if aa else "")


def one_arm(seed: int, primary: str, arm: dict, profile: str = PROFILE,
            lesions: bool = True, grids=GRIDS, write: bool = True) -> tuple[dict, list[dict]]:
    """(cost, lesion rows) of one patient on one arm's sampling."""
    from osteoscan.simulate.volume_cohort import write_volume_study
    from osteoscan.simulate.volume_study import simulate_study
    from osteoscan.workflows.seg3d import case_from_study

    tracemalloc.start()
    t0 = time.perf_counter()
    study = simulate_study(seed, profile, primary=primary, kinds=KINDS, **arm)
    t1 = time.perf_counter()
    if write:
        with tempfile.TemporaryDirectory(prefix="finect-") as tmp:
            write_volume_study(study, Path(tmp) / "V", "V")
    t2 = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    cost = {"simulate_s": t1 - t0, "write_s": t2 - t1, "peak_mb": peak / 2**20,
            "voxels": int(np.prod(study.ct.shape)), "spacing_mm": list(study.ct.spacing_mm)}
    if not lesions:
        return cost, []
    case = case_from_study(study)
    del study
    table = pd.DataFrame([{"case": case.case_id, "id": i, "kind": k, "found_kept": True}
                          for i, k in case.extra["lesion_kinds"].items()])
    rows = []
    for mm, aa in grids:
        frame = lesion_stats(table, [case], mm, bone_shell=True, anti_alias=aa)
        rows += [{**r, "grid": grid_name(mm, aa)} for r in frame.to_dict("records")]
    return cost, rows


def run(parts: Path, n: int, seed: int, grids=GRIDS, write: bool = True) -> list[dict]:
    from osteoscan.simulate.volume_cohort import study_plan

    done = [json.loads(line) for line in parts.read_text().splitlines()] \
        if parts.is_file() else []
    for i in range(len(done), n):
        patient, _, sid = study_plan(i, seed, (PROFILE,))
        primary = ("lung", "other")[i % 2]
        record = {"study": sid, "seed": patient, "primary": primary, "arms": {}}
        for name, arm in ARMS.items():
            cost, rows = one_arm(patient, primary, arm, grids=grids, write=write)
            record["arms"][name] = {"cost": cost, "lesions": rows}
            print(f"{sid} {name:8s} sim {cost['simulate_s']:6.2f}s write "
                  f"{cost['write_s']:6.2f}s peak {cost['peak_mb']:7.0f} MB "
                  f"{cost['voxels'] / 1e6:6.2f} Mvox {len(rows)} rows", flush=True)
        with parts.open("a") as f:
            f.write(json.dumps(record, default=float) + "\n")
        done.append(record)
    return done


def report(done: list[dict], n: int, seed: int) -> dict:
    out = {"profile": PROFILE, "n_patients": len(done), "cohort_seed": seed,
           "kinds_per_study": list(KINDS), "arms": {k: str(v) for k, v in ARMS.items()},
           "cost": {}, "grids": {}}
    for name in ARMS:
        costs = [r["arms"][name]["cost"] for r in done]
        out["cost"][name] = {k: statistics.median(c[k] for c in costs)
                             for k in ("simulate_s", "write_s", "peak_mb", "voxels")}
        out["cost"][name]["max_peak_mb"] = max(c["peak_mb"] for c in costs)
        out["cost"][name]["spacing_mm"] = costs[0]["spacing_mm"]
        rows = pd.DataFrame([x for r in done for x in r["arms"][name]["lesions"]])
        out["grids"][name] = {g: summarise(f) for g, f in rows.groupby("grid")}
    ratio = [r["arms"]["profile"]["cost"]["simulate_s"] / r["arms"]["old"]["cost"]["simulate_s"]
             for r in done]
    total = [sum(r["arms"]["profile"]["cost"][k] for k in ("simulate_s", "write_s"))
             / sum(r["arms"]["old"]["cost"][k] for k in ("simulate_s", "write_s")) for r in done]
    out["cost"]["ratio_simulate_profile_over_old"] = statistics.median(ratio)
    out["cost"]["ratio_simulate_and_write_profile_over_old"] = statistics.median(total)
    return out


def before(parts: Path, done: list[dict]) -> dict:
    """An earlier run's figures (its parts file) on the patients of ``done``, per arm and grid."""
    seeds = {r["seed"] for r in done}
    old = [json.loads(line) for line in parts.read_text().splitlines()]
    old = [r for r in old if r["seed"] in seeds]
    grids = {x["grid"] for r in done for a in r["arms"].values() for x in a["lesions"]}
    out = {"parts": str(parts), "n_patients": len(old), "grids": {}}
    for name in ARMS:
        rows = pd.DataFrame([x for r in old for x in r["arms"][name]["lesions"]
                             if x["grid"] in grids])
        out["grids"][name] = {g: summarise(f) for g, f in rows.groupby("grid")}
    return out


def cost_by_profile(profiles: list[str], seed: int) -> dict:
    """One patient per profile, both arms: seconds, peak memory, voxels (no lesion measure)."""
    from osteoscan.simulate.volume_cohort import study_plan

    patient = study_plan(0, seed, (PROFILE,))[0]
    out = {}
    for profile in profiles:
        out[profile] = {name: one_arm(patient, "lung", arm, profile, lesions=False)[0]
                        for name, arm in ARMS.items()}
        got = out[profile]
        got["ratio_simulate"] = got["profile"]["simulate_s"] / got["old"]["simulate_s"]
        print(profile, json.dumps(got, default=float), flush=True)
    return out


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7700)
    ap.add_argument("--cost-profiles", default="")
    ap.add_argument("--grids", default=",".join(grid_name(*g) for g in GRIDS))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--before", type=Path)
    args = ap.parse_args(argv)
    grids = [g for g in GRIDS if grid_name(*g) in args.grids.split(",")]
    parts = args.out.with_suffix(".parts.jsonl")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = run(parts, args.n, args.seed, grids, not args.no_write)
    result = report(done, args.n, args.seed)
    if args.before:
        result["before"] = before(args.before, done)
    if args.cost_profiles:
        result["cost_by_profile"] = cost_by_profile(args.cost_profiles.split(","), args.seed)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(json.dumps(result["cost"], indent=1, default=float))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
