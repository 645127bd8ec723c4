"""Mutation fuzzing of every osteoscan reader: seeds, readers and the property check.

Shared by the short fuzz test (``tests/io/test_fuzz_readers.py``, driven by hypothesis) and the
long run (``benchmarks/bench_fuzz.py``, driven by a seeded ``random.Random``). A mutator
(``tests/io/fuzz_mutators.py``) takes
a valid seed file and a ``random.Random``-like source and returns hostile bytes: bit flips,
truncation, spliced chunks, and format-aware changes (DICOM element VR/length/value, PNG/JPEG/
TIFF headers claiming other or huge sizes, JSON/YAML subtrees replaced, CSV cells replaced).

The property (:func:`run_one`): a reader either returns or raises an ``OsteoscanError``; any
other exception "escapes". Time and memory are measured by the callers.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.uid import RLELossless

from osteoscan.errors import OsteoscanError

sys.path.insert(0, str(Path(__file__).parent))
from dicom_factory import phantom, write_nm_multiframe, write_nm_single, write_sc  # noqa: E402
from fuzz_mutators import (  # noqa: E402
    mutate_csv,
    mutate_dicom,
    mutate_json,
    mutate_nifti,
    mutate_picture,
    mutate_yaml,
)

ROOT = Path(__file__).resolve().parents[2]


# --- seeds ------------------------------------------------------------------------------------


def make_seeds(folder: Path) -> dict[str, list[bytes]]:
    """Valid inputs of every reader (small, so that each run takes milliseconds)."""
    folder.mkdir(parents=True, exist_ok=True)
    ph = phantom(128, 32, total_counts=5e4, seed=21)
    uid = "1.2.826.0.1.3680043.8.498.4242"
    dicom = [
        write_nm_multiframe(folder / "mf.dcm", [ph.anterior, ph.posterior],
                            ["anterior", "posterior"], study_uid=uid),
        write_nm_multiframe(folder / "notag.dcm", [ph.posterior, ph.anterior], [None, None]),
        write_nm_multiframe(folder / "rle.dcm", [ph.anterior, ph.posterior],
                            ["anterior", "posterior"], transfer_syntax=RLELossless),
        write_nm_single(folder / "single.dcm", ph.anterior, series_description="WB ANT"),
        write_sc(folder / "sc.dcm", np.clip(ph.anterior * 40, 0, 255).astype(np.uint8)),
    ]
    pictures = []
    grey8 = np.clip(ph.anterior * 40, 0, 255).astype(np.uint8)
    for name, arr in (("g8.png", grey8), ("g16.png", ph.anterior), ("g.jpg", grey8),
                      ("g.tif", ph.anterior)):
        Image.fromarray(arr).save(folder / name)
        pictures.append(folder / name)
    labelme = {"imageHeight": 128, "imageWidth": 32, "flags": {"posterior": False},
               "shapes": [{"label": "metastasis", "shape_type": "polygon",
                           "points": [[4, 4], [12, 5], [8, 20]], "flags": {}},
                          {"label": "benign", "shape_type": "rectangle",
                           "points": [[1, 60], [9, 70]], "flags": {"posterior": True}}]}
    manifest = ("patient_id,study_id,image,label,site,lesion_count,annotations\n"
                "P1,S1,mf.dcm,metastasis,site_a,1,a.json\nP2,S2,g8.png,normal,site_b,0,\n")
    (folder / "a.json").write_text(json.dumps(labelme))
    pair = [write_nm_single(folder / f"{view[:4]}.dcm", arr, view=view, study_uid=uid)
            for view, arr in (("anterior", ph.anterior), ("posterior", ph.posterior))]
    return {
        **volume_seeds(folder),
        "dicom": [p.read_bytes() for p in dicom],
        "pair": [p.read_bytes() for p in pair],
        "picture": [p.read_bytes() for p in pictures],
        "labelme": [json.dumps(labelme).encode()],
        "manifest": [manifest.encode()],
        "card": [(ROOT / "src/osteoscan/assets/reference/model.json").read_bytes()],
        "config": [(ROOT / "configs/reference.yaml").read_bytes(),
                   b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                   b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c]\n"
                   b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e]\n",
                   b"[" * 5000 + b"]" * 5000],
    }


def volume_seeds(folder: Path) -> dict[str, list[bytes]]:
    """A small SPECT (NM RECON TOMO), one slice of a 4-slice CT series and a NIfTI volume."""
    from osteoscan.io.nifti import write_nifti
    from osteoscan.io.volume import Volume
    from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series, write_nm_spect

    rng = np.random.default_rng(5)
    ids = SeriesIds("F1", "F1", 1)
    spect = Volume(rng.poisson(20, (6, 12, 12)).astype(np.float32), (4.0, 4.0, 4.0),
                   modality="NM", frame_of_reference_uid="1.2.3.1")
    ct = Volume(rng.normal(40, 30, (4, 16, 16)).astype(np.float32), (2.5, 1.0, 1.0),
                frame_of_reference_uid="1.2.3.1")
    write_nm_spect(spect, folder / "spect.dcm", ids)
    write_ct_series(ct, folder / "ct", ids)
    write_nifti(ct, folder / "ct.nii")
    return {"nm_spect": [(folder / "spect.dcm").read_bytes()],
            "ct_slice": [(folder / "ct" / "CT_0003.dcm").read_bytes()],
            "nifti": [(folder / "ct.nii").read_bytes()]}


# --- readers under test -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """A reader under test: its seeds' kind, mutator, file name and call."""

    name: str
    seeds: str
    mutate: Callable[[bytes, random.Random], bytes]
    filename: str
    call: Callable[[Path], object]


def _load_study(path: Path) -> object:
    from osteoscan.io import load_study

    return load_study(path)


def _load_folder(path: Path) -> object:
    from osteoscan.io import load_study

    return load_study(path.parent)  # a valid pair beside the mutated file (see prepare)


def _mask(path: Path) -> object:
    from osteoscan.io.annotations import read_mask

    return read_mask(path, instances=True)


def _labelme(path: Path) -> object:
    from osteoscan.io import annotations_to_mask, read_labelme

    anns = read_labelme(path)
    return annotations_to_mask(anns, (128, 32))


def _manifest(path: Path) -> object:
    from osteoscan.io import read_manifest

    m = read_manifest(path, validate=False)
    m.validate()
    for i in range(min(len(m), 3)):
        try:
            m.load(i)
        except OsteoscanError:
            pass
    return m


def _card(path: Path) -> object:
    from osteoscan.artefacts import read_card

    return read_card(path)


def _config(path: Path) -> object:
    from osteoscan.config.train import load_config

    return load_config(path)


def _nm_spect(path: Path) -> object:
    from osteoscan.io.nmtomo import read_nm_spect

    return read_nm_spect(path)


def _ct_series(path: Path) -> object:
    from osteoscan.io.volumes import read_ct_series

    return read_ct_series(path.parent)  # three valid slices beside the mutated one


def _nifti(path: Path) -> object:
    from osteoscan.io.nifti import read_nifti

    return read_nifti(path)


READERS = {
    r.name: r
    for r in (
        Reader("dicom", "dicom", mutate_dicom, "x.dcm", _load_study),
        Reader("dicom_folder", "pair", mutate_dicom, "study/zz_mutated.dcm", _load_folder),
        Reader("picture", "picture", mutate_picture, "x.img", _load_study),
        Reader("mask", "picture", mutate_picture, "mask.img", _mask),
        Reader("labelme", "labelme", mutate_json, "x.json", _labelme),
        Reader("manifest", "manifest", mutate_csv, "manifest.csv", _manifest),
        Reader("card", "card", mutate_json, "card/model.json", _card),
        Reader("config", "config", mutate_yaml, "config.yaml", _config),
        Reader("nm_spect", "nm_spect", mutate_dicom, "x.dcm", _nm_spect),
        Reader("ct_series", "ct_slice", mutate_dicom, "ct/CT_0003.dcm", _ct_series),
        Reader("nifti", "nifti", mutate_nifti, "x.nii", _nifti),
    )
}


def prepare(workdir: Path, seeds_dir: Path) -> None:
    """Files the readers need beside the mutated one: the valid pair that ``dicom_folder``
    mutates a copy of, the images a manifest names, the weights file a card names."""
    (workdir / "study").mkdir(parents=True, exist_ok=True)
    for name in ("ante.dcm", "post.dcm"):
        (workdir / "study" / name).write_bytes((seeds_dir / name).read_bytes())
    for name in ("mf.dcm", "g8.png", "a.json"):
        (workdir / name).write_bytes((seeds_dir / name).read_bytes())
    (workdir / "ct").mkdir(exist_ok=True)
    for k in (1, 2, 4):
        name = f"CT_{k:04d}.dcm"
        (workdir / "ct" / name).write_bytes((seeds_dir / "ct" / name).read_bytes())
    (workdir / "card").mkdir(exist_ok=True)
    (workdir / "card" / "model.safetensors").write_bytes(b"")


def run_one(reader: Reader, data: bytes, workdir: Path) -> str:
    """Write ``data`` where the reader looks and call it.

    Returns:
        "accepted" or "rejected" (an OsteoscanError).

    Raises:
        Exception: anything else the reader raised (an escape).
    """
    path = workdir / reader.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        reader.call(path)
    except OsteoscanError:
        return "rejected"
    return "accepted"
