"""How much does ``load_study`` cost over a bare pydicom decode?

20 multi-frame NM whole-body files (2 frames of 1024 x 256 uint16, like a real dual-head
sweep) are written to a temporary folder with the test factory (``tests/io/dicom_factory.py``).
Timed on the same files in the same run, interleaved, best of ``--repeats``:

- ``baseline``: ``pydicom.dcmread(f).pixel_array`` (parse + decode, nothing else);
- ``load_study``: parse + decode + modality/limit checks + view identification + float32
  conversion + posterior mirroring + acquisition facts;
- ``baseline_with_tags`` (reference, not the target): the bare baseline plus reading, with
  pydicom, the ~25 attributes and 3 sequences ``load_study`` needs. The gap between it and
  the bare baseline is pydicom's element conversion; the gap between it and ``load_study``
  is osteoscan's own work.

Two measures: ``ratio`` is the best of ``--repeats`` timings of the whole file set per function
(sets interleaved); ``ratio_median_per_call`` alternates the functions file by file and
compares the median single-call times, which moves less when other jobs load the machine.

Cases: frames with ViewCodeSequence (tags decide: the common case), frames without any view
tag (the anatomical pixel rule runs), and RLE-compressed frames with view codes. The target
is a ratio <= 1.3 for the tagged case. Writes ``benchmarks/results/load.json``.

Run: ``.venv/bin/python -m benchmarks.bench_load [--files 20 --repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pydicom
from pydicom.uid import RLELossless

from osteoscan.io import load_study

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))
from dicom_factory import phantom, write_nm_multiframe  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TARGET = 1.3
BEFORE = {  # ratios of the code before the raw-byte header reader (commit 8d9f0ca), 3 runs
    "view_codes": [2.7, 3.5],
    "no_view_tags_pixel_rule": [3.6, 4.8],
    "rle_view_codes": [1.6, 1.9],
}


def make_files(folder: Path, n: int, *, tagged: bool, syntax: str | None = None) -> list[Path]:
    files = []
    for i in range(n):
        ph = phantom(1024, 256, total_counts=6e5, seed=i)
        order = ["posterior", "anterior"] if i % 2 else ["anterior", "posterior"]
        frames = [ph.posterior if v == "posterior" else ph.anterior for v in order]
        views = order if tagged else [None, None]
        files.append(
            write_nm_multiframe(folder / f"wb{i:03d}.dcm", frames, views, transfer_syntax=syntax)
        )
    return files


def _time(fn, files: list[Path]) -> float:
    t0 = time.perf_counter()
    for f in files:
        fn(f)
    return time.perf_counter() - t0


TAGS = (
    "SOPClassUID",
    "Modality",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "SamplesPerPixel",
    "PixelRepresentation",
    "DetectorVector",
    "ScanLength",
    "ActualFrameDuration",
    "ScanVelocity",
    "PixelSpacing",
    "Manufacturer",
    "ManufacturerModelName",
    "PatientID",
    "StudyInstanceUID",
    "SOPInstanceUID",
)


def bare(f: Path):
    return pydicom.dcmread(f).pixel_array


def bare_with_tags(f: Path):
    ds = pydicom.dcmread(f)
    arr = ds.pixel_array
    values = [ds.get(t) for t in TAGS]
    for item in ds.get("DetectorInformationSequence", []):
        values += [
            (c.get("CodeValue"), c.get("CodeMeaning")) for c in item.get("ViewCodeSequence", [])
        ]
    for item in ds.get("RadiopharmaceuticalInformationSequence", []):
        values += [item.get("Radiopharmaceutical"), item.get("RadionuclideTotalDose")]
    return arr, values


def _median_per_call(fns: dict, files: list[Path], repeats: int) -> dict[str, float]:
    calls: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for f in files:
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(f)
                calls[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in calls.items()}


def measure(files: list[Path], repeats: int) -> dict:
    fns = {"baseline": bare, "baseline_with_tags": bare_with_tags, "load_study": load_study}
    for fn in fns.values():
        _time(fn, files)  # warm caches and imports
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_time(fn, files))
    best = {k: min(v) for k, v in times.items()}
    median = _median_per_call(fns, files, repeats)
    return {
        "baseline_s": best["baseline"],
        "baseline_with_tags_s": best["baseline_with_tags"],
        "load_study_s": best["load_study"],
        "ratio": best["load_study"] / best["baseline"],
        "ratio_vs_baseline_with_tags": best["load_study"] / best["baseline_with_tags"],
        "per_file_ms": {k: 1e3 * v / len(files) for k, v in best.items()},
        "ratio_median_per_call": median["load_study"] / median["baseline"],
        "median_per_call_ms": {k: 1e3 * v for k, v in median.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {
        "files": args.files,
        "frame_shape": [1024, 256],
        "frames_per_file": 2,
        "repeats": args.repeats,
        "target_ratio": TARGET,
        "python": platform.python_version(),
        "pydicom": pydicom.__version__,
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, tagged, syntax in (
            ("view_codes", True, None),
            ("no_view_tags_pixel_rule", False, None),
            ("rle_view_codes", True, RLELossless),
        ):
            folder = Path(tmp) / name
            folder.mkdir()
            files = make_files(folder, args.files, tagged=tagged, syntax=syntax)
            results["cases"][name] = measure(files, args.repeats)
            r = results["cases"][name]
            print(
                f"{name:24s} baseline {r['baseline_s']:.3f}s  "
                f"+tags {r['baseline_with_tags_s']:.3f}s  "
                f"load_study {r['load_study_s']:.3f}s  ratio {r['ratio']:.2f} "
                f"(vs +tags {r['ratio_vs_baseline_with_tags']:.2f}; "
                f"median per call {r['ratio_median_per_call']:.2f})"
            )
    results["meets_target"] = results["cases"]["view_codes"]["ratio"] <= TARGET
    results["before"] = BEFORE
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS / 'load.json'}")


if __name__ == "__main__":
    main()
