"""The bundled detector on the same patients imaged differently (issue 16, item 4).

The issue's bars: across 0.3 M / 1.5 M counts, 2.4 / 4.8 mm pixels, DICOM / inverted 8-bit
screen export, the patient probability stays within 0.05, the decision does not change and
the malignant hotspot count moves by at most 1; a count-halved copy moves the BSI by at most
0.3. The first four patients of ``benchmarks/bench_robustness.py`` are checked here. Bars the
bundled detector does not meet yet are strict xfails (they fail loudly once met, so that the
mark is removed); the 100-patient figures are in docs/robustness.md.
"""

from dataclasses import replace

import numpy as np
import pytest

from osteoscan.io import load_study
from osteoscan.lesions.context import estimated_spacing
from osteoscan.preprocessing.augment import thin_counts
from osteoscan.simulate.variants import Variant, render_variants, screen_export

PROFILE = "profile_9001"  # the benchmark's held-out profile
PATIENTS = ((910000, "normal"), (910001, "metastasis"), (910002, "normal"),
            (910003, "metastasis"))
LOW, HIGH, COARSE = Variant(0.3e6, 2.4), Variant(1.5e6, 2.4), Variant(1.5e6, 4.8)
BAR_P, BAR_COUNT, BAR_BSI = 0.05, 1, 0.3


@pytest.fixture(scope="module")
def detector(bundled_detector):
    return bundled_detector


@pytest.fixture(scope="module")
def outcomes(detector, tmp_path_factory):
    """Per patient: rendering name -> (probability, decided positive, malignant count, BSI)."""
    tmp = tmp_path_factory.mktemp("robust")
    out = []
    for seed, label in PATIENTS:
        studies = render_variants(seed, [LOW, HIGH, COARSE], site=PROFILE, force_label=label)
        scans = {v.name: st.scan for v, st in studies.items()}
        pic = tmp / f"{seed}.png"
        pic.write_bytes(screen_export(studies[HIGH]))
        scans["png"] = load_study(pic)
        high = scans[HIGH.name]
        rng = np.random.default_rng([seed, 5])
        scans["half"] = replace(high, anterior=thin_counts(high.anterior, 0.5, rng),
                                posterior=thin_counts(high.posterior, 0.5, rng))
        res = {k: detector.analyze(s) for k, s in scans.items()}
        # each rendering decided at the threshold of the detector that answered it (a
        # picture: the bundle's picture variant, when it has one)
        thr = {k: detector.for_scan(s).decision_threshold for k, s in scans.items()}
        out.append({k: (r.probability, r.probability >= thr[k], r.malignant_count, r.bsi)
                    for k, r in res.items()})
    return out


def _bars(outcomes, a: str, b: str) -> list[str]:
    bad = []
    for (seed, _), o in zip(PATIENTS, outcomes, strict=True):
        (pa, da, ma, _), (pb, db, mb, _) = o[a], o[b]
        if abs(pa - pb) > BAR_P or da != db or abs(ma - mb) > BAR_COUNT:
            bad.append(f"{seed}: p {pa:.3f} vs {pb:.3f}, malignant {ma} vs {mb}")
    return bad


def test_bsi_of_a_count_halved_copy_within_0_3(outcomes):
    """Met on these four patients since the 3,600-study bundle (not for every patient of the
    100-patient benchmark: 92-94 of 100 within 0.3, docs/robustness.md)."""
    for (seed, _), o in zip(PATIENTS, outcomes, strict=True):
        assert abs(o[HIGH.name][3] - o["half"][3]) <= BAR_BSI, seed


def test_one_coherent_answer_in_every_rendering(outcomes):
    """Whatever the rendering, a study decided normal has no malignant hotspot and a BSI of 0,
    one decided metastatic has at least one (docs/lesions.md, coherence)."""
    for o in outcomes:
        for _, positive, malignant, bsi in o.values():
            assert (malignant > 0) == positive and (bsi > 0) <= positive


def test_pixel_size_of_a_screen_export_is_estimated(outcomes, tmp_path):
    studies = render_variants(PATIENTS[1][0], [HIGH, COARSE], site=PROFILE)
    for v, st in studies.items():
        pic = tmp_path / f"{v.name}.png"
        pic.write_bytes(screen_export(st))
        est = estimated_spacing(load_study(pic))[0]
        assert est == pytest.approx(v.spacing_mm, rel=0.15), v.name


@pytest.mark.xfail(strict=True, reason="count-level bar not met by the bundled detector "
                   "(docs/robustness.md, 'Results with the session-12 bundle': 6/100 "
                   "decision flips at 2.4 mm, 1/100 at 4.8 mm; max |dp| 0.94)")
def test_count_level_bars(outcomes):
    assert not _bars(outcomes, LOW.name, HIGH.name)


def test_pixel_size_bars(outcomes):
    """Met on these four patients since the session-12 bundle (not for every patient of the
    100-patient benchmark: 4/100 decision flips at 1.5 M, 3/100 at 0.3 M, docs/robustness.md,
    "Results with the session-12 bundle")."""
    assert not _bars(outcomes, HIGH.name, COARSE.name)


@pytest.mark.xfail(strict=True, reason="file-format bar not met by the bundled detector, even "
                   "with its picture variant (docs/robustness.md, 'The picture variant trained "
                   "on captures (session 17)': 8/100 decision flips, DICOM vs 8-bit PNG at "
                   "1.5 M and 2.4 mm, 10/100 at 4.8 mm)")
def test_screen_export_bars(outcomes):
    assert not _bars(outcomes, HIGH.name, "png")


@pytest.mark.xfail(strict=True, reason="count-halved bar not met by the session-12 bundle on "
                   "these four patients (910001: p 0.985 vs 0.931; on 100 patients 3/100 "
                   "decision flips at 1.5 M and 2.4 mm, 90 within |dp| 0.05, docs/robustness.md, "
                   "'Results with the session-12 bundle'); the session-6 bundle met it here")
def test_count_halved_copy_bars(outcomes):
    assert not _bars(outcomes, HIGH.name, "half")
