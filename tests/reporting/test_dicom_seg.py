"""DICOM Segmentation of 3-D lesion masks: references, pixels, dciodvfy."""

from __future__ import annotations

import shutil
import subprocess

import highdicom as hd
import numpy as np
import pydicom
import pytest

from osteoscan.errors import InputError
from osteoscan.io.volumes import read_ct_series
from osteoscan.reporting.dicom_seg import write_lesion_seg
from osteoscan.simulate.volume_dicom import SeriesIds, write_ct_series
from osteoscan.simulate.volume_study import simulate_study


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    study = simulate_study(3, "profile_1", (16, 40, 40), primary="lung")
    write_ct_series(study.ct, root / "ct", SeriesIds(study.patient_id, "st1", 3, "GE", "X", "Sim"))
    return read_ct_series(root / "ct"), study.semantic, root


def test_segmentation_references_the_ct_and_keeps_the_mask(ct_series, tmp_path):
    ct, semantic, root = ct_series
    assert (semantic == 2).any()
    path = write_lesion_seg(ct, semantic, tmp_path / "seg.dcm")
    seg = hd.seg.segread(path)
    ct_uids = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID
               for p in (root / "ct").iterdir()}
    refs = {r.ReferencedSOPInstanceUID for s in seg.ReferencedSeriesSequence
            for r in s.ReferencedInstanceSequence}
    assert refs == ct_uids
    labels = [d.SegmentLabel for d in seg.SegmentSequence]
    assert labels == ["benign bone lesion", "bone metastasis"][-len(labels):]
    met = labels.index("bone metastasis") + 1
    volume = seg.get_volume(segment_numbers=[met], combine_segments=True)
    assert int(np.asarray(volume.array).astype(bool).sum()) == int((semantic == 2).sum())
    assert seg.FrameOfReferenceUID == ct.frame_of_reference_uid


def test_an_empty_mask_gives_a_valid_object(ct_series, tmp_path):
    ct, semantic, _ = ct_series
    seg = hd.seg.segread(write_lesion_seg(ct, np.zeros_like(semantic), tmp_path / "e.dcm"))
    assert len(seg.SegmentSequence) == 1


def test_nifti_sources_and_missing_slices_are_refused(ct_series, tmp_path):
    ct, semantic, root = ct_series
    from dataclasses import replace

    from osteoscan.io.volume import VolumeSource

    nifti = replace(ct, source=VolumeSource(str(root / "ct.nii.gz"), "nifti"))
    with pytest.raises(InputError, match="needs the source CT as a DICOM series"):
        write_lesion_seg(nifti, semantic, tmp_path / "x.dcm")
    partial = tmp_path / "partial"
    shutil.copytree(root / "ct", partial)
    sorted(partial.iterdir())[5].unlink()
    moved = replace(ct, source=replace(ct.source, path=str(partial)))
    with pytest.raises(InputError, match="found 15 of the 16 CT slices"):
        write_lesion_seg(moved, semantic, tmp_path / "y.dcm")


@pytest.mark.skipif(shutil.which("dciodvfy") is None,
                    reason="dciodvfy (Debian package dicom3tools) is not installed")
def test_dciodvfy_finds_no_errors(ct_series, tmp_path):
    ct, semantic, _ = ct_series
    path = write_lesion_seg(ct, semantic, tmp_path / "seg.dcm")
    res = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    report = res.stdout + res.stderr
    assert "Segmentation" in report
    assert not [ln for ln in report.splitlines() if ln.startswith("Error")], report
