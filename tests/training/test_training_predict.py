"""predict_manifest: a prefetching worker gives the same predictions as loading in-process."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from osteoscan.simulate import write_cohort
from osteoscan.training.predict import predict_manifest

_spec = importlib.util.spec_from_file_location("_fx", Path(__file__).parents[1] / "_analyze_fixtures.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


def test_prefetching_worker_matches_in_process_and_lists_bad_studies(tmp_path):
    manifest = write_cohort(tmp_path / "cohort", 5, seed=8, sites=("site_a",))
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    (Path(manifest).parent / frame.loc[2, "image"]).write_bytes(b"not a dicom file")
    fx.save_tiny(tmp_path / "model")
    runs = {w: predict_manifest(tmp_path / "model", manifest, tmp_path / f"p{w}.csv", workers=w,
                                batch_size=2) for w in (0, 1)}
    for res in runs.values():
        assert [sid for sid, _ in res.failed] == [frame.loc[2, "study_id"]]
        assert len(res.frame) == 4
    pd.testing.assert_frame_equal(runs[0].frame, runs[1].frame)
