"""Cohorts of simulated SPECT/CT studies written to disk, with a manifest.

Layout (docs/volumes.md)::

    folder/manifest.csv            one row per study (MANIFEST_COLUMNS)
    folder/<study_id>/ct/CT_0001.dcm ...   CT series, one file per slice   (format "dicom")
    folder/<study_id>/spect.dcm            NM RECON TOMO on the camera grid (format "dicom")
    folder/<study_id>/ct.nii.gz            CT in HU                         (format "nifti")
    folder/<study_id>/spect.nii.gz         SPECT counts on the CT grid      (format "nifti")
    folder/<study_id>/semantic.nii.gz      0 background, 1 benign, 2 metastatic (always)
    folder/<study_id>/instances.nii.gz     lesion ids (always)
    folder/<study_id>/truth.json           lesions, primary, profile, tumour (written last)

Study i depends only on (seed, i): its patient seed and its profile (drawn from ``profiles``).
A study whose truth.json exists is not simulated again, so an interrupted run resumes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from osteoscan.artefacts import atomic_write_json, atomic_write_text
from osteoscan.errors import ConfigError
from osteoscan.io.nifti import write_nifti
from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series, write_nm_spect
from osteoscan.simulate.volume_profiles import get_volume_profile
from osteoscan.simulate.volume_study import DEFAULT_SHAPE, SimStudy, simulate_study

FORMATS = ("dicom", "nifti")
DEFAULT_FORMATS = ("nifti",)
"""NIfTI only by default: a DICOM CT series is one fsync-ed file per slice (~25 ms each)."""
MANIFEST_COLUMNS = ("study_id", "patient_id", "profile", "primary", "metastatic",
                    "n_metastases", "n_benign", "ct", "spect", "semantic", "instances", "truth")
"""Manifest columns; file columns are relative to the manifest's folder. ``ct``/``spect``
name the NIfTI files when written, else the DICOM series folder / NM file."""


def study_plan(i: int, seed: int, profiles: Sequence[str]) -> tuple[int, str, str]:
    """(patient seed, profile, study id) of study i of a cohort."""
    rng = np.random.default_rng([int(seed), 3061, int(i)])
    patient_seed = int(np.random.SeedSequence([int(seed), 3067, int(i)]).generate_state(1)[0])
    return patient_seed, profiles[int(rng.integers(len(profiles)))], f"V{seed}-{i:05d}"


def truth_of(study: SimStudy, study_id: str) -> dict:
    """The truth.json content of a study."""
    return {"study_id": study_id, "patient_id": study.patient_id, "seed": study.seed,
            "profile": study.profile, "primary": study.primary, "metastatic": study.metastatic,
            "semantic_labels": ["background", "benign", "metastatic"],
            "lesions": study.lesions, "tumour": study.tumour,
            "ct_shape": list(study.ct.shape), "ct_spacing_mm": list(study.ct.spacing_mm),
            "coordinates": "centre_mm are LPS millimetres in (z, y, x) order"}


def _files(study_id: str, formats: Sequence[str]) -> dict:
    """The manifest's ct and spect cells: NIfTI when written, else the DICOM files."""
    if "nifti" in formats:
        return {"ct": f"{study_id}/ct.nii.gz", "spect": f"{study_id}/spect.nii.gz"}
    return {"ct": f"{study_id}/ct", "spect": f"{study_id}/spect.dcm"}


def write_volume_study(study: SimStudy, folder: str | Path, study_id: str,
                       formats: Sequence[str] = DEFAULT_FORMATS) -> None:
    """Write one study's files into ``folder`` (truth.json last)."""
    folder = Path(folder)
    prof = get_volume_profile(study.profile)
    ids = SeriesIds(study.patient_id, study_id, study.seed, prof.manufacturer, prof.model,
                    f"Simulated {prof.name}")
    if "dicom" in formats:
        write_ct_series(study.ct, folder / "ct", ids)
        write_nm_spect(study.spect_native, folder / "spect.dcm", ids)
    if "nifti" in formats:
        write_nifti(study.ct, folder / "ct.nii.gz")
        write_nifti(study.spect, folder / "spect.nii.gz")
    write_nifti(study.ct.with_array(study.semantic), folder / "semantic.nii.gz")
    write_nifti(study.ct.with_array(study.instances), folder / "instances.nii.gz")
    atomic_write_json(folder / "truth.json", truth_of(study, study_id))


def _row(truth: dict, files: dict, study_id: str) -> dict:
    lesions = truth["lesions"]
    return {"study_id": study_id, "patient_id": truth["patient_id"], "profile": truth["profile"],
            "primary": truth["primary"] or "none", "metastatic": int(truth["metastatic"]),
            "n_metastases": sum(1 for les in lesions if les["malignant"]),
            "n_benign": sum(1 for les in lesions if not les["malignant"]),
            **files, "semantic": f"{study_id}/semantic.nii.gz",
            "instances": f"{study_id}/instances.nii.gz", "truth": f"{study_id}/truth.json"}


def write_volume_cohort(folder: str | Path, n: int, *, seed: int = 0,
                        profiles: Sequence[str] = ("profile_0",), shape=DEFAULT_SHAPE,
                        formats: Sequence[str] = DEFAULT_FORMATS,
                        progress: Callable[[int, int], None] | None = None,
                        spacing=None) -> Path:
    """Simulate n SPECT/CT studies into ``folder`` and write ``manifest.csv``.

    Args:
        folder: output folder (created).
        n: number of studies.
        seed: cohort seed.
        profiles: site profiles (``profile_<k>``); each study is scanned at one of them.
        shape: CT grid (z, y, x), unless ``spacing`` is given.
        spacing: the CT voxel instead of ``shape``: ``"profile"`` (each study's site's slice
            thickness and pixel) or (slice, pixel) mm; see
            :func:`~osteoscan.simulate.volume_study.simulate_study`.
        formats: any of "dicom", "nifti" (masks and truth are always written).
        progress: called with (done, n) after each study.

    Returns:
        The manifest path.

    Raises:
        ConfigError: bad n, profiles or formats.
    """
    if n < 0 or not profiles or not set(formats) <= set(FORMATS) or not formats:
        raise ConfigError(f"n={n}, profiles={list(profiles)}, formats={list(formats)}: need "
                          f"n >= 0, one profile or more and formats among {FORMATS}")
    for p in profiles:
        get_volume_profile(p)
    folder = Path(folder)
    rows = []
    for i in range(n):
        patient_seed, profile, sid = study_plan(i, seed, tuple(profiles))
        truth_path = folder / sid / "truth.json"
        if not truth_path.exists():
            study = simulate_study(patient_seed, profile, shape, patient_id=f"SIM3D-{sid}",
                                   spacing=spacing)
            write_volume_study(study, folder / sid, sid, formats)
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        rows.append(_row(truth, _files(sid, formats), sid))
        if progress:
            progress(i + 1, n)
    return _write_manifest(folder / "manifest.csv", rows)


def _write_manifest(path: Path, rows: list[dict]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())
