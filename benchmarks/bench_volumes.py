"""How fast are the SPECT/CT simulator and the volume readers, and how much memory do they take?

Speed (``--studies N``, default 5): ``simulate_study`` at the default 96 x 128 x 128 grid,
median wall and process-CPU time per study (CPU time is robust to a loaded machine; the target
is about 1 s), against two references timed on the same studies in the same run:
``floor`` (one gaussian blur and one Poisson draw of the SPECT grid plus one gaussian blur of
the CT grid: what any SPECT/CT simulator must at least do) and ``read_back`` (reading the
study's NIfTI CT and SPECT through ``osteoscan.io``). Ratios = simulate / reference. It also
times a DICOM round trip (``write_ct_series`` + ``read_ct_series`` of the 96-slice CT,
``write_nm_spect`` + ``read_spect_ct``).

Large (``--large``): one 300 x 512 x 512 CT (the issue's memory benchmark volume) simulated in
a child process, whose peak RSS and CPU time are reported, then written as NIfTI and read back
by ``read_nifti`` in another child (peak RSS of reading alone).

Lesion signatures (``--lesions N``): N studies on profiles 200.. with every kind forced once
per study; per kind the median (IQR) of the SPECT ratio (mean counts in the lesion over the mean
of normal bone within 20 mm) and of the lesion's mean HU; normal bone is the reference row.
They say how separable malignant and benign findings are from intensity alone.

Run: ``OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.bench_volumes
[--studies 5] [--large] [--lesions 20]`` (``--studies 0`` skips the timing). Writes
``benchmarks/results/volumes.json``, keeping the sections of an earlier run not rerun.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoscan.artefacts import atomic_write_json
from osteoscan.io.nifti import read_nifti, write_nifti
from osteoscan.io.volumes import read_ct_series, read_spect_ct
from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series, write_nm_spect
from osteoscan.simulate.volume_study import BENCHMARK_SHAPE, DEFAULT_SHAPE, simulate_study

RESULTS = Path(__file__).parent / "results"


def _clock(fn, *args, **kw):
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t, time.process_time() - c


def _floor(study) -> None:
    grid = study.spect_native.array
    ndimage.gaussian_filter(grid, 1.0)
    np.random.default_rng(0).poisson(np.clip(grid, 0, None))
    ndimage.gaussian_filter(study.ct.array, 0.6)


def speed(n: int) -> dict:
    simulate_study(0, "profile_0")  # warm imports
    rows = {k: [] for k in ("sim", "sim_cpu", "floor", "read", "dicom_ct", "dicom_spect")}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for i in range(n):
            study, wall, cpu = _clock(simulate_study, 100 + i, f"profile_{i}", DEFAULT_SHAPE)
            rows["sim"].append(wall)
            rows["sim_cpu"].append(cpu)
            rows["floor"].append(_clock(_floor, study)[1])
            write_nifti(study.ct, d / "ct.nii.gz")
            write_nifti(study.spect, d / "spect.nii.gz")
            rows["read"].append(_clock(lambda: (read_nifti(d / "ct.nii.gz"),
                                               read_nifti(d / "spect.nii.gz", "NM")))[1])
            ids = SeriesIds("P", f"S{i}", i)
            rows["dicom_ct"].append(_clock(lambda: (write_ct_series(study.ct, d / f"ct{i}", ids),
                                                   read_ct_series(d / f"ct{i}")))[1])
            rows["dicom_spect"].append(_clock(lambda: (
                write_nm_spect(study.spect_native, d / f"sp{i}.dcm", ids),
                read_spect_ct(d / f"ct{i}", d / f"sp{i}.dcm")))[1])
    med = {k: float(np.median(v)) for k, v in rows.items()}
    return {"studies": n, "shape": list(DEFAULT_SHAPE), "simulate_s": med["sim"],
            "simulate_cpu_s": med["sim_cpu"], "floor_s": med["floor"],
            "read_back_nifti_s": med["read"], "ratio_simulate_vs_floor": med["sim"] / med["floor"],
            "ratio_simulate_vs_read_back": med["sim"] / med["read"],
            "dicom_ct_write_read_s": med["dicom_ct"],
            "dicom_spect_write_read_onto_ct_s": med["dicom_spect"]}


_CHILD_SIM = """
import json, resource, sys, time
from osteoscan.io.nifti import write_nifti
from osteoscan.simulate.volume_study import simulate_study
t, c = time.perf_counter(), time.process_time()
s = simulate_study(0, "profile_1", {shape})
wall, cpu = time.perf_counter() - t, time.process_time() - c
write_nifti(s.ct, sys.argv[1])
print(json.dumps({{"wall_s": wall, "cpu_s": cpu, "lesions": len(s.lesions),
                  "spacing_mm": list(s.ct.spacing_mm),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}}))
"""

_CHILD_READ = """
import json, resource, sys, time
from osteoscan.io.nifti import read_nifti
t = time.perf_counter()
v = read_nifti(sys.argv[1])
print(json.dumps({"wall_s": time.perf_counter() - t, "shape": list(v.shape),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def _child(code: str, arg: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def large() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "ct.nii.gz")
        sim = _child(_CHILD_SIM.format(shape=tuple(BENCHMARK_SHAPE)), path)
        read = _child(_CHILD_READ, path)
    return {"shape": list(BENCHMARK_SHAPE), "simulate": sim, "read_nifti": read}


def _ring_bone(study, region: np.ndarray, radius_mm: float = 20.0) -> np.ndarray:
    steps = np.maximum(1, np.round(radius_mm / np.asarray(study.ct.spacing_mm)).astype(int))
    near = ndimage.binary_dilation(region, np.ones(2 * steps + 1, bool))
    return near & (study.instances == 0) & (study.ct.array > 150)


def lesion_signatures(n: int) -> dict:
    from osteoscan.simulate.volume_lesions import KINDS

    rows = {k: {"spect_ratio": [], "ct_hu": []} for k in (*KINDS, "normal bone")}
    for i in range(n):
        s = simulate_study(300 + i, f"profile_{200 + i}", DEFAULT_SHAPE,
                           primary="lung" if i % 2 else "other", kinds=list(KINDS))
        for les in s.lesions:
            region = s.instances == les["id"]
            bone = _ring_bone(s, region)
            if bone.sum() < 5:
                continue
            rows[les["kind"]]["spect_ratio"].append(float(s.spect.array[region].mean()
                                                          / s.spect.array[bone].mean()))
            rows[les["kind"]]["ct_hu"].append(float(s.ct.array[region].mean()))
        bone = (s.instances == 0) & (s.ct.array > 150)
        rows["normal bone"]["ct_hu"].append(float(s.ct.array[bone].mean()))
        rows["normal bone"]["spect_ratio"].append(1.0)

    def summary(v):
        return [float(x) for x in np.percentile(v, [50, 25, 75])] if v else None

    return {"studies": n, "median_iqr": {k: {m: summary(v) for m, v in r.items()}
                                         for k, r in rows.items()},
            "counts": {k: len(r["ct_hu"]) for k, r in rows.items()}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=5)
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--lesions", type=int, default=0)
    args = ap.parse_args(argv)
    path = RESULTS / "volumes.json"
    out = json.loads(path.read_text()) if path.exists() else {}  # sections not rerun are kept
    out.update({"python": platform.python_version(), "machine": platform.machine()})
    if args.studies:
        out["speed"] = speed(args.studies)
    if args.large:
        out["large"] = large()
    if args.lesions:
        out["lesion_signatures"] = lesion_signatures(args.lesions)
    atomic_write_json(path, out)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
