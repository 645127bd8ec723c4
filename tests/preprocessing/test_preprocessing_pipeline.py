"""PreprocessConfig / AugmentConfig / build_pipeline: the one entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.preprocessing import AugmentConfig, PreprocessConfig, build_pipeline


@pytest.mark.parametrize(
    "views,chans", [("aggregate", 1), ("stack", 2), ("geomean", 1), ("anterior", 1)]
)
def test_pipeline_shapes_and_channels(phantom_scan, views, chans):
    pre = PreprocessConfig(views=views, size=(512, 128))
    out = build_pipeline(pre)(phantom_scan, None)
    assert pre.in_chans == chans
    assert out.shape == (chans, 512, 128) and out.dtype == np.float32 and out.flags.c_contiguous
    assert 0.0 <= out.min() and out.max() <= 1.0 + 1e-6
    assert out[:, :10].max() == 0.0  # above the head: background stays 0


def test_configs_round_trip_through_json():
    pre = PreprocessConfig(views="aggregate", size=(512, 128), target_spacing_mm=4.8, norm="linear")
    aug = AugmentConfig(rotate_deg=10, p_flip=0.0)
    assert PreprocessConfig.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre
    assert AugmentConfig.from_dict(json.loads(json.dumps(aug.to_dict()))) == aug
    with pytest.raises(ConfigError, match="unknown key"):
        PreprocessConfig.from_dict({"view": "stack"})
    with pytest.raises(ConfigError, match="views"):
        PreprocessConfig(views="both")
    with pytest.raises(ConfigError, match="probability"):
        AugmentConfig(p_flip=1.5)
    with pytest.raises(ConfigError, match="norm_clip must be a number"):
        PreprocessConfig(norm_clip="high")
    with pytest.raises(ConfigError, match="size"):
        PreprocessConfig(size=("a", 3))
    assert AugmentConfig.from_dict({"rotate_deg": "10"}).rotate_deg == 10.0


def test_augmentation_needs_an_rng_and_is_deterministic_given_its_seed(phantom_scan):
    pipe = build_pipeline(PreprocessConfig(size=(256, 64)), AugmentConfig(p_affine=1.0, p_thin=1.0))
    plain = build_pipeline(PreprocessConfig(size=(256, 64)))(phantom_scan, None)
    np.testing.assert_array_equal(pipe(phantom_scan, None), plain)  # no rng: no augmentation
    a = pipe(phantom_scan, np.random.default_rng(3))
    b = pipe(phantom_scan, np.random.default_rng(3))
    c = pipe(phantom_scan, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, plain)
    # count thinning before normalisation leaves the normalised intensity level intact
    assert a.mean() == pytest.approx(plain.mean(), rel=0.15)


def test_inputs_are_never_modified(phantom_scan):
    before = phantom_scan.anterior.copy(), phantom_scan.posterior.copy()
    aug = AugmentConfig(p_affine=1, p_flip=1, p_thin=1, p_intensity=1)
    build_pipeline(PreprocessConfig(views="aggregate", size=(512, 128)), aug)(
        phantom_scan, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(phantom_scan.anterior, before[0])
    np.testing.assert_array_equal(phantom_scan.posterior, before[1])


def test_single_view_study_goes_through(ph, rng):
    scan = ph.scan(ph.counts(ph.rate(), 4e5, rng), None, spacing=None)
    out = build_pipeline(PreprocessConfig(views="stack", size=(512, 128)))(scan, None)
    np.testing.assert_array_equal(out[0], out[1])


def test_preprocessing_does_not_import_torch():
    code = "import sys, osteoscan.preprocessing; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_thinning_inside_resampling_has_native_thinning_statistics():
    """Thinning 2x2 block sums = thinning each pixel, then block-averaging (in distribution)."""
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.preprocessing.intensity import block_mean, resample

    rng = np.random.default_rng(5)
    counts = rng.poisson(10.0, (1, 1024, 256)).astype(np.float32)  # flat: variance is all noise
    native = block_mean(thin_counts(counts, 0.4, rng), 2, 2)
    hook = lambda sums: thin_counts(sums, 0.4, rng)  # noqa: E731
    inside = resample(counts, (512, 128), counts_hook=hook)
    # Poisson(10) thinned by 0.4 is Poisson(4); a 2x2 mean of it has mean 4 and variance 1
    for out in (native, inside):
        assert out.mean() == pytest.approx(4.0, rel=0.01)
        assert out.var() == pytest.approx(1.0, rel=0.03)
    wrong = thin_counts(block_mean(counts, 2, 2), 0.4, rng)  # thinning means, not sums
    assert wrong.var() > 1.3


def test_same_simulated_patient_on_three_cameras_normalises_alike():
    """Sites differ 3x in counts (0.4-1.2 M per view) and in pixel size; bone looks the same."""
    from osteoscan.preprocessing.intensity import block_mean
    from osteoscan.simulate import simulate_study

    pipe = build_pipeline(PreprocessConfig(views="anterior", size=(512, 128)))
    raw, normed = [], []
    for site in ("site_a", "site_b", "site_c"):
        study = simulate_study(3, site=site, force_label="normal")
        bone_full = study.bone_mask
        bone = block_mean(bone_full.astype(np.float32), 2, 2) > 0.5
        raw.append(float(study.scan.anterior[bone_full].mean()))
        normed.append(float(np.median(pipe(study.scan, None)[0][bone])))
    assert max(raw) / min(raw) > 2.5
    assert max(normed) / min(normed) < 1.08


def test_prepare_then_finish_is_the_pipeline(phantom_scan):
    pre, aug = PreprocessConfig(size=(256, 64)), AugmentConfig(p_thin=0.5)
    pipe = build_pipeline(pre, aug)
    prepared = pipe.prepare(phantom_scan)
    assert prepared.base.shape == (2, 256, 64) and prepared.blocks is not None
    for seed in range(4):
        np.testing.assert_array_equal(
            pipe.finish(prepared, np.random.default_rng(seed)),
            pipe(phantom_scan, np.random.default_rng(seed)),
        )
    assert build_pipeline(pre).prepare(phantom_scan).blocks is None  # no thinning: no sums kept


def test_thinned_reference_level_is_the_kept_fraction_of_the_full_one(ph, rng):
    from osteoscan.preprocessing.augment import thin_counts
    from osteoscan.preprocessing.intensity import reference_levels

    rate = ph.rate()
    scan = ph.scan(ph.counts(rate, 1.2e6, rng), ph.counts(rate, 1.2e6, rng))
    pipe = build_pipeline(PreprocessConfig(size=(384, 96)), AugmentConfig())
    prepared = pipe.prepare(scan)
    keep = 0.35
    thinned = thin_counts(prepared.blocks.astype(np.float32), keep, rng) / prepared.area
    recomputed = reference_levels(pipe._combine(thinned, prepared.scaled, prepared.align_map))
    np.testing.assert_allclose(recomputed, prepared.refs * keep, rtol=0.03)


@pytest.mark.parametrize("cls, field, value", [
    ("AugmentConfig", "p_intensity", None), ("AugmentConfig", "rotate_deg", True),
    ("PreprocessConfig", "norm_clip", float("nan")), ("PreprocessConfig", "norm_percentile", None),
])
def test_missing_or_non_numeric_settings_are_config_errors(cls, field, value):
    from osteoscan.preprocessing import pipeline

    with pytest.raises(ConfigError, match=field):
        getattr(pipeline, cls).from_dict({field: value})
