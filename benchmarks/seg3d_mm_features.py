"""Features in millimetres (docs/volumes.md, "Features in millimetres"): how far the default
grid (``--shape``) moves when the simulator's voxel-sized features are drawn in mm.

The same studies are simulated by two source trees, each in its own process: ``--old-src``
(the code before the change, e.g. ``git archive <commit> src | tar -x -C DIR``) and the
current one. Per study: whether the lesion masks, the lesion list and the patient are
identical; the noise-free phantom (HU and uptake after the lesions, before the scan): max abs
difference inside lesions, in bone outside lesions and elsewhere, and the mean HU of bone;
the scanned CT and SPECT: max and median abs difference and whether the noise realisation is
the same (the share of air voxels, far from the body, with equal CT values); per lesion kind,
the mean HU and SPECT counts of the lesion, old and new.

``--spacing profile`` draws the sites' own CT sampling instead (for the cost: CPU seconds
of ``simulate_study`` per tree, in the same run).

Usage: ``python -m benchmarks.seg3d_mm_features OUT.json --old-src DIR [--n 8] [--seed 3000]
[--shape 64,96,96] [--profiles profile_0,...] [--spacing profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

FOURTH_RUN_PROFILES = ("profile_0", "profile_5", "profile_6", "profile_8", "profile_10",
                       "profile_11")


def dump(out: Path, seed: int, profile: str, shape, spacing=None) -> None:
    """(child) One study by the tree on PYTHONPATH, its seconds to simulate, and its
    noise-free phantom, to ``out``."""
    import time

    from osteoscan.simulate import volume_lesions as vl
    from osteoscan.simulate import volume_render as vr
    from osteoscan.simulate import volume_study as vs

    t0 = time.process_time()
    s = vs.simulate_study(seed, profile, shape, spacing=spacing)
    seconds = time.process_time() - t0
    prof, rng, primary, cv, anat = vs._phantom(seed, profile, shape, "auto", spacing)
    mix = getattr(vr, "tissue_values", lambda table, canvas: table[canvas.labels])
    hu = mix(vr.hu_table(rng, prof), cv)
    uptake = mix(vr.uptake_table(rng), cv)
    kinds = vl.draw_kinds(rng, primary, None, None)
    vs._lesions(cv, anat, kinds, primary, hu, uptake, rng, prof)
    np.savez(out, ct=s.ct.array, spect=s.spect.array, semantic=s.semantic,
             instances=s.instances, hu=hu, uptake=uptake, bone=np.isin(cv.labels, (4, 5, 6)),
             lesions=json.dumps(s.lesions), cpu_s=seconds)


def _run(src: str, seed: int, profile: str, shape, out: Path, spacing: str) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-m", "benchmarks.seg3d_mm_features", str(out), "--dump",
                    f"{seed},{profile}", "--shape", ",".join(map(str, shape)),
                    "--spacing", spacing], env=env, check=True)
    got = np.load(out)
    return {k: got[k] for k in got.files}


def compare(old: dict, new: dict) -> dict:
    lesion = old["instances"] > 0
    bone = old["bone"] & ~lesion
    rest = ~old["bone"] & ~lesion
    hu_d = np.abs(new["hu"] - old["hu"])
    ct_d = np.abs(new["ct"] - old["ct"])
    air = old["ct"] < -990
    out = {"masks_identical": bool(np.array_equal(old["semantic"], new["semantic"])
                                   and np.array_equal(old["instances"], new["instances"])),
           "lesions_identical": str(old["lesions"]) == str(new["lesions"]),
           "phantom_hu_max_abs": {"lesions": float(hu_d[lesion].max(initial=0)),
                                  "bone": float(hu_d[bone].max(initial=0)),
                                  "elsewhere": float(hu_d[rest].max(initial=0))},
           "phantom_uptake_max_abs": {
               "lesions": float(np.abs(new["uptake"] - old["uptake"])[lesion].max(initial=0)),
               "bone": float(np.abs(new["uptake"] - old["uptake"])[bone].max(initial=0))},
           "phantom_bone_mean_hu": [float(old["hu"][bone].mean()), float(new["hu"][bone].mean())],
           "ct_abs_diff": {"max": float(ct_d.max()), "median": float(np.median(ct_d))},
           "ct_noise_same_share_in_air": float((ct_d[air] == 0).mean()) if air.any() else None,
           "spect_abs_diff": {"max": float(np.abs(new["spect"] - old["spect"]).max()),
                              "median": float(np.median(np.abs(new["spect"] - old["spect"])))},
           "spect_mean": [float(old["spect"].mean()), float(new["spect"].mean())],
           "cpu_s": [float(old["cpu_s"]), float(new["cpu_s"])], "lesions": []}
    for les in json.loads(str(old["lesions"])):
        m = old["instances"] == les["id"]
        out["lesions"].append({"kind": les["kind"], "voxels": int(m.sum()),
                               "ct_mean": [float(old["ct"][m].mean()), float(new["ct"][m].mean())],
                               "spect_mean": [float(old["spect"][m].mean()),
                                              float(new["spect"][m].mean())]})
    return out


def summary(studies: list[dict]) -> dict:
    kinds: dict[str, list] = {}
    for s in studies:
        for les in s["lesions"]:
            kinds.setdefault(les["kind"], []).append(les)
    per_kind = {k: {"n": len(v),
                    "ct_mean_old_median": float(np.median([x["ct_mean"][0] for x in v])),
                    "ct_mean_new_median": float(np.median([x["ct_mean"][1] for x in v])),
                    "spect_new_over_old_median": float(np.median(
                        [x["spect_mean"][1] / max(x["spect_mean"][0], 1e-6) for x in v]))}
                for k, v in sorted(kinds.items())}
    return {"cpu_s_new_over_old_median": float(np.median([s["cpu_s"][1] / s["cpu_s"][0]
                                                           for s in studies])),
            "phantom_bone_mean_hu_old_new_median": [
                float(np.median([s["phantom_bone_mean_hu"][k] for s in studies])) for k in (0, 1)],
            "masks_identical_all": all(s["masks_identical"] for s in studies),
            "lesions_identical_all": all(s["lesions_identical"] for s in studies),
            "phantom_hu_max_abs_elsewhere": max(s["phantom_hu_max_abs"]["elsewhere"]
                                                for s in studies),
            "per_kind": per_kind}


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--old-src", default="")
    ap.add_argument("--dump", default="")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=3000)
    ap.add_argument("--shape", default="64,96,96")
    ap.add_argument("--profiles", default=",".join(FOURTH_RUN_PROFILES))
    ap.add_argument("--spacing", default="", help="'profile': the sites' CT sampling")
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    if args.dump:
        seed, profile = args.dump.split(",")
        return dump(args.out, int(seed), profile, shape, args.spacing or None)
    from osteoscan.simulate.volume_cohort import study_plan

    new_src = str(Path(__file__).resolve().parents[1] / "src")
    studies = []
    with tempfile.TemporaryDirectory(prefix="mmfeat-") as tmp:
        for i in range(args.n):
            seed, profile, sid = study_plan(i, args.seed, args.profiles.split(","))
            got = compare(_run(args.old_src, seed, profile, shape, Path(tmp) / "old.npz",
                               args.spacing),
                          _run(new_src, seed, profile, shape, Path(tmp) / "new.npz",
                               args.spacing))
            studies.append({"study": sid, "seed": seed, "profile": profile, **got})
            print(sid, profile, json.dumps({k: v for k, v in got.items() if k != "lesions"}),
                  flush=True)
    result = {"shape": list(shape), "spacing": args.spacing or None, "cohort_seed": args.seed, "old_src": args.old_src,
              "summary": summary(studies), "studies": studies}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
