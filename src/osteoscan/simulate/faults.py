"""A batch of simulated studies with faulty files, for robustness tests of batch analysis.

:func:`write_faulty_batch` writes ``n`` study folders: most are good simulated studies
(copies of a few simulated ones under new patient and study UIDs, so that the batch is
cheap to make), a fraction ``bad_fraction`` is faulty, cycling through :data:`FAULTS`:

- ``truncated``: a good study's file cut at 60 % of its length (same UIDs as that study);
- ``corrupted``: a good study's file whose DICOM header after the preamble is overwritten
  with random bytes;
- ``duplicated``: a byte-identical copy of a good study in another folder;
- ``mislabelled``: a file named ``.dcm`` that is not an image (a study's ground-truth JSON).

``batch.json`` in the folder lists every good study folder and every faulty file with its
fault, so that a test can check that each good study is processed and each bad one listed.
No torch here (pydicom and numpy only).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

FAULTS = ("truncated", "corrupted", "duplicated", "mislabelled")


def _copy_with_new_ids(src: Path, dest: Path, k: int) -> None:
    """Write ``src`` as another patient's study (new PatientID and UIDs)."""
    import pydicom
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(src)
    ds.PatientID = f"B{k:05d}"
    for tag in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        if tag in ds:
            setattr(ds, tag, generate_uid(entropy_srcs=[f"faulty-batch-{k}-{tag}"]))
    if "file_meta" in ds.__dict__ or hasattr(ds, "file_meta"):
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest, enforce_file_format=True)


def _fault(kind: str, good: Path, truth: Path, dest: Path, rng: np.random.Generator) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = good.read_bytes()
    if kind == "truncated":
        dest.write_bytes(data[: int(len(data) * 0.6)])
    elif kind == "corrupted":
        junk = rng.integers(0, 256, size=min(4096, len(data) - 132), dtype=np.uint8).tobytes()
        dest.write_bytes(data[:132] + junk + data[132 + len(junk):])
    elif kind == "duplicated":
        shutil.copyfile(good, dest)
    elif kind == "mislabelled":
        shutil.copyfile(truth, dest)
    else:
        raise ValueError(f"unknown fault {kind!r}; expected one of {FAULTS}")


def write_faulty_batch(out_dir: str | Path, n: int, *, bad_fraction: float = 0.1, n_base: int = 12,
                       seed: int = 0, sites: tuple[str, ...] = ("site_a", "site_c")) -> dict:
    """Write ``n`` study folders, ``round(n * bad_fraction)`` of them faulty (module docstring).

    Args:
        out_dir: output folder (created); studies go to ``out_dir/studies/NNNNN/``.
        n: number of study folders.
        bad_fraction: fraction of faulty ones (at least one of each fault when n allows).
        n_base: distinct simulated studies the good ones are copied from.
        seed: simulation and fault seed (same arguments, same files).
        sites: simulated site profiles writing one file per study (site_a, site_c; site_b
            writes one file per view, which this batch does not copy).

    Returns:
        The content of ``batch.json``: {"good": [folder, ...], "bad": [{"path", "fault"}, ...]}.
    """
    from osteoscan.simulate.writer import write_cohort

    out = Path(out_dir)
    n_bad = max(min(len(FAULTS), n - 1), round(n * bad_fraction)) if bad_fraction > 0 else 0
    n_good = n - n_bad
    base_dir = out / "_base"
    manifest = write_cohort(base_dir, min(n_base, n_good), seed=seed, sites=sites)
    base = [p for p in sorted((manifest.parent / "dicom").glob("*/*.dcm")) if len(list(p.parent.iterdir())) == 1]
    if not base:
        raise ValueError(f"sites {sites} wrote no single-file study")
    truths = sorted((manifest.parent / "labels").glob("*/*_truth.json"))
    rng = np.random.default_rng(seed)
    good, bad = [], []
    for k in range(n_good):
        dest = out / "studies" / f"{k:05d}" / "scan.dcm"
        if k < len(base):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(base[k], dest)
        else:
            _copy_with_new_ids(base[k % len(base)], dest, k)
        good.append(str(dest.parent))
    for j in range(n_bad):
        kind = FAULTS[j % len(FAULTS)]
        source = Path(good[int(rng.integers(0, n_good))]) / "scan.dcm"
        dest = out / "studies" / f"{n_good + j:05d}" / "scan.dcm"
        _fault(kind, source, truths[j % len(truths)], dest, rng)
        bad.append({"path": str(dest), "fault": kind})
    shutil.rmtree(base_dir)
    summary = {"n": n, "good": good, "bad": bad}
    (out / "batch.json").write_text(json.dumps(summary, indent=1))
    return summary
