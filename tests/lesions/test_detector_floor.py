"""The test-retest floor of the robustness bars (``benchmarks/bench_robustness_floor.py``,
docs/robustness.md "The test-retest floor"): repeat pairs, and domain pairs against them."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository root: benchmarks/

from benchmarks.bench_robustness import patient_record  # noqa: E402
from benchmarks.bench_robustness_floor import (  # noqa: E402
    REPEAT,
    domain_pairs,
    failures,
    repeat_pairs,
    summarise_floor,
)
from osteoscan.lesions.patient import bundled_detector_or_none  # noqa: E402

THRESHOLD = 0.5
KEYS = ("dcm:0.3M_2.4mm", "dcm:1.5M_2.4mm")


def _records(q: dict, n: int, rng) -> list[dict]:
    """Synthetic patients: rendering -> probability of a positive decision over the noise;
    each rendering (and its repeat) an independent draw."""
    out = []
    for i in range(n):
        outcomes = {}
        for key, qk in q.items():
            for name in (key, key + REPEAT):
                pos = rng.random() < qk[i]
                outcomes[name] = {"prob": 0.9 if pos else 0.1, "malignant": int(pos), "bsi": 0.0}
        out.append({"seed": i, "label": "normal", "outcomes": outcomes})
    return out


def test_excess_over_the_floor_is_the_squared_shift():
    """With independent draws, P(flip A vs B) - mean repeat flip = (q_A - q_B)^2: 0 for
    patients whose decision does not depend on the acquisition, however noisy, and 0.36 for
    q_A = 0.2, q_B = 0.8."""
    rng = np.random.default_rng(0)
    n = 3000
    same = summarise_floor(_records({k: np.full(n, 0.5) for k in KEYS}, n, rng), THRESHOLD, 200)
    row = same["domain"]["counts 0.3M vs 1.5M (2.4 mm, DICOM)"]["flip_fail"]
    assert row["rate"] == pytest.approx(0.5, abs=0.04)
    assert row["floor"] == pytest.approx(0.5, abs=0.04)
    assert row["ci"][0] < 0 < row["ci"][1]
    moved = summarise_floor(_records({KEYS[0]: np.full(n, 0.2), KEYS[1]: np.full(n, 0.8)}, n, rng),
                            THRESHOLD, 200)
    row = moved["domain"]["counts 0.3M vs 1.5M (2.4 mm, DICOM)"]["flip_fail"]
    assert row["excess"] == pytest.approx(0.36, abs=0.04) and row["ci"][0] > 0.25
    way = moved["domain"]["counts 0.3M vs 1.5M (2.4 mm, DICOM)"]["direction"]
    assert way["c"] > 10 * way["b"] and way["p"] < 1e-6  # positive in the 0.8 rendering only
    way = same["domain"]["counts 0.3M vs 1.5M (2.4 mm, DICOM)"]["direction"]
    assert way["p"] > 0.001  # either way equally often


def test_the_floor_band_holds_the_patients_whose_repeats_flip():
    rng = np.random.default_rng(1)
    q = {k: np.array([0.0, 1.0, 0.5, 0.5] * 50) for k in KEYS}
    recs = _records(q, 200, rng)
    s = summarise_floor(recs, THRESHOLD, 50)
    band = set(s["band"]["seeds"])
    assert not band & set(range(0, 200, 4)) and not band & set(range(1, 200, 4))  # certain
    assert len(band) > 60  # about 3/4 of the 100 coin-flip patients flip in one of two repeats
    outside = s["domain"]["counts 0.3M vs 1.5M (2.4 mm, DICOM)"]["outside_band"]["flip"]
    assert outside["n"] == 200 - len(band)
    flips = failures(recs, KEYS[0], KEYS[1], THRESHOLD)["flip"]
    assert outside["k"] == int(np.sum(flips[[r["seed"] not in band for r in recs]]))


@pytest.fixture(scope="module")
def record():
    det = bundled_detector_or_none()
    if det is None:
        pytest.skip("no bundled hotspot detector installed")
    return det, patient_record(det, 910001, "metastasis", "main", repeats=True)


def test_every_rendering_has_its_repeat_draw(record):
    """One patient, with the bundled detector: 12 repeat pairs (DICOM and PNG at 4
    acquisitions, the JPG, 3 count-halved copies) and the 11 domain pairs beside them."""
    det, rec = record
    have = rec["outcomes"]
    reps, doms = repeat_pairs(have), domain_pairs(have)
    assert len(reps) == 12 and len(doms) == 11
    assert all(a + REPEAT == b for a, b in reps.values())
    s = summarise_floor([rec], det.decision_threshold, 20)
    for name, (a, b) in doms.items():
        fa, fb = (failures([rec], k, k + REPEAT, det.decision_threshold)["flip"] for k in (a, b))
        floor = (float(fa[0]) + float(fb[0])) / 2
        assert s["domain"][name]["flip_fail"]["floor"] == pytest.approx(floor)


def test_a_picture_threshold_follows_the_pictures_scale():
    """``bench_picture_threshold.fit_threshold``: pictures whose probabilities are the DICOM's
    squared (a lower scale, the same order) agree best with the DICOM at threshold 0.8 when
    decided at about 0.64; a threshold applied to pictures only leaves DICOM pairs alone."""
    from benchmarks.bench_picture_threshold import evaluate, fit_threshold

    rng = np.random.default_rng(2)
    recs = []
    for i, p in enumerate(rng.uniform(0, 1, 400)):
        out = {f"{kind}:1.5M_2.4mm{rep}": {"prob": float(p ** 2 if kind == "png" else p),
                                           "malignant": 0, "bsi": 0.0}
               for kind in ("dcm", "png") for rep in ("", REPEAT)}
        recs.append({"seed": i, "label": "metastasis" if p > 0.5 else "normal", "outcomes": out})
    t, curve = fit_threshold(recs, 0.8)
    assert t == pytest.approx(0.64, abs=0.01) and min(curve["disagreements"]) == 0
    at_card, at_t = evaluate(recs, 0.8, 0.8, 50), evaluate(recs, 0.8, t, 50)
    name = "DICOM vs 8-bit PNG (1.5M, 2.4 mm)"
    assert at_card[name]["k"] > 25 and at_t[name]["k"] <= 1
