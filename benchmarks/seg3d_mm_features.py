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

``--shells OUT.json`` instead measures the partial-volume rule alone (no study): the drawn
rim and cortex volume over the true shell's, for spheres of 4-15 mm radius (a 1.5 mm rim), a
vertebral body (1.2 mm cortex) and a rib (1.0 mm), each on 1, 2.5 x 1, 3.75 x 0.83 and
9.4 x 4.4 mm voxels, mean over four places.

``--spacing profile`` draws the sites' own CT sampling instead (for the cost: CPU seconds
of ``simulate_study`` per tree, in the same run).

Usage: ``python -m benchmarks.seg3d_mm_features OUT.json --old-src DIR [--n 8] [--seed 3000]
[--shape 64,96,96] [--profiles profile_0,...] [--spacing profile]``;
``python -m benchmarks.seg3d_mm_features OUT.json --shells``
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


SHELL_GRIDS = ((1.0, 1.0, 1.0), (2.5, 1.0, 1.0), (3.75, 0.83, 0.83), (9.4, 4.4, 4.4))


def _sphere_rim(spacing, radius: float, t: float, rng) -> float:
    from osteoscan.simulate import volume_canvas as vc

    shape = tuple(int(round(50 / s)) for s in spacing)
    c = 25 + rng.uniform(-3, 3, 3)
    z, y, x = (np.arange(n) * s for n, s in zip(shape, spacing))
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    depth = (radius - np.sqrt((zz - c[2]) ** 2 + (yy - c[1]) ** 2 + (xx - c[0]) ** 2))
    depth = depth.astype(np.float32)
    share = vc.shell_share(depth, vc.normal_extent(depth, spacing, t), t) * (depth >= 0)
    return float(share.sum() * np.prod(spacing)
                 / (4 / 3 * np.pi * (radius ** 3 - (radius - t) ** 3)))


def _bone_cortex(spacing, rng) -> tuple[float, float]:
    from osteoscan.simulate import volume_canvas as vc

    side = tuple(int(round(90 / s)) for s in spacing)
    cv = vc.Canvas.empty(side, spacing, (0.0, 0.0, 0.0))
    a, b, h, t = 20.0, 15.0, 30.0, 1.2
    sl, d = vc.cylinder_depth(cv, 45 + rng.uniform(-5, 5, 3), a, b, h)
    cv.paint_bone(sl, d, vc.VERTEBRA, t)
    true = np.pi * (a * b - (a - t) * (b - t)) * (h - 2 * t) + 2 * t * np.pi * a * b
    body = cv.cortex.astype(float).sum() * np.prod(spacing) / true
    cv = vc.Canvas.empty(side, spacing, (0.0, 0.0, 0.0))
    c = 45 + rng.uniform(-5, 5, 3)
    ends = [c - [30, 10, 0], c + [30, 10, 5]]
    sl, d = vc.tube_depth(cv, ends, 5.5)
    cv.paint_bone(sl, d, vc.RIB, 1.0)
    true = np.pi * (5.5 ** 2 - 4.5 ** 2) * np.linalg.norm(ends[1] - ends[0]) \
        + 4 / 3 * np.pi * (5.5 ** 3 - 4.5 ** 3)
    return body, float(cv.cortex.astype(float).sum() * np.prod(spacing) / true)


def shells() -> dict:
    """Drawn over true shell volume, per grid: spheres (1.5 mm rim), body and rib cortex."""
    out = {}
    for spacing in SHELL_GRIDS:
        rng = np.random.default_rng(0)
        row = {f"sphere_r{r:g}": float(np.mean([_sphere_rim(spacing, r, 1.5, rng)
                                                 for _ in range(4)])) for r in (4, 7, 10, 15)}
        bones = np.mean([_bone_cortex(spacing, rng) for _ in range(4)], axis=0)
        row["vertebral_body_cortex"], row["rib_cortex"] = float(bones[0]), float(bones[1])
        out["x".join(f"{s:g}" for s in spacing)] = row
        print(spacing, json.dumps(row), flush=True)
    return out


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
    ap.add_argument("--shells", action="store_true")
    args = ap.parse_args(argv)
    if args.shells:
        args.out.write_text(json.dumps({"drawn_over_true": shells()}, indent=2) + "\n")
        return None
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
