"""``osteoscan.lesions.detector_cv``: candidate truth, the score of an annotated box, the fold
detectors (scratch and from the bundled one) and their files."""

import numpy as np
import pytest

from osteoscan.errors import ConfigError
from osteoscan.lesions.detector_cv import (
    box_scores,
    candidate_truth,
    cohort_record,
    fit_fold,
    peaks_in_boxes,
    score_fold,
)
from osteoscan.lesions.detector_train import arrays


def test_a_peak_is_in_a_box_when_its_pixel_overlaps_it_on_the_same_view():
    box = [[2, 3, 5, 7]]  # x0, y0, x1, y1 (pixel edges): columns 2-4, rows 3-6
    rows = np.array([3, 6, 7, 2, 3, 3, 4])
    cols = np.array([2, 4, 2, 2, 5, 1, 3])
    view = np.array([0, 0, 0, 0, 0, 0, 1])
    inside = peaks_in_boxes(view, rows, cols, np.array([0]), box)
    assert inside[:, 0].tolist() == [True, True, False, False, False, False, False]
    # the posterior candidate is in the same box drawn on the posterior view
    assert peaks_in_boxes(view, rows, cols, np.array([1]), box)[:, 0].tolist() == [False] * 6 + [True]


def test_candidate_truth_malignant_box_wins_benign_and_unannotated_are_negative():
    inside = np.array([[True, True],    # in a malignant and a benign box
                       [False, True],   # benign box only
                       [False, False],  # no box
                       [True, False]])  # malignant only
    assert candidate_truth(inside, np.array([True, False])).tolist() == [1, 0, 0, 1]
    assert candidate_truth(inside, np.array([False, False])).tolist() == [0, 0, 0, 0]


def test_a_box_scores_its_most_probable_candidate_and_zero_when_missed():
    inside = np.array([[True, False, False], [False, False, True], [True, False, True]])
    score, best = box_scores(inside, np.array([0.2, 0.9, 0.5]))
    assert score.tolist() == [0.5, 0.0, 0.9]
    assert best.tolist() == [2, -1, 1]
    score, best = box_scores(np.zeros((0, 2), bool), np.zeros(0))
    assert score.tolist() == [0.0, 0.0] and best.tolist() == [-1, -1]


@pytest.fixture(scope="module")
def base():
    from osteoscan.lesions.cv import bundled_detector

    return bundled_detector()


@pytest.fixture(scope="module")
def studies():
    from osteoscan.lesions.pipeline import simulate_studies

    return simulate_studies(8, 4321, sites=("profile_14",), prevalence_metastasis=0.75)


@pytest.fixture(scope="module")
def records(studies, base):
    return [cohort_record(st, base) for st in studies]


def test_record_truth_follows_the_true_malignant_lesions(studies, records):
    """A candidate whose peak pixel lies on a malignant lesion is positive, one on a benign
    lesion only or on no lesion is negative unless a malignant box holds it (the peaks and the
    masks share one orientation, posterior mirrored)."""
    n_on = {"malignant": 0, "benign": 0}
    for st, rec in zip(studies, records, strict=True):
        malignant = {k for k, v in st.lesion_labels.items() if v == "malignant"}
        assert rec["inside"].shape == (len(rec["y"]), len(rec["lesions"]))
        for i, (r, c) in enumerate(rec["peak"].astype(int)):
            view = ("anterior", "posterior")[int(rec["view"][i])]
            lid = int(st.lesion_masks[view][r, c])
            if lid in malignant:
                n_on["malignant"] += 1
                assert rec["y"][i] == 1
            elif rec["y"][i]:  # positive off a malignant lesion: inside one's box
                boxes = [les for les, on in zip(rec["lesions"], rec["inside"][i], strict=True) if on]
                assert any(les["label"] == "malignant" for les in boxes)
            n_on["benign"] += lid > 0 and lid not in malignant
        assert int(rec["label"]) == int(bool(malignant))
    assert n_on["malignant"] > 0 and sum(int(r["y"].sum()) for r in records) < sum(len(r["y"]) for r in records)


def test_fold_detectors_from_scratch_and_from_the_bundled_one(records, base, tmp_path):
    from osteoscan.lesions.patient import HotspotDetector

    scratch = fit_fold(records, "scratch", base, tiny=True)
    bundled = fit_fold(records, "bundled", base, rule="stage2", tiny=True)
    arr = arrays(records[0])
    # from the bundled one: its first stage and region table kept, a second stage of its own
    assert bundled.forest is base.forest and bundled.stage2 is not base.stage2
    assert np.array_equal(bundled.stages(arr)["p1"], base.stages(arr)["p1"])
    assert not np.allclose(scratch.stages(arr)["p1"], base.stages(arr)["p1"])
    assert bundled.card["init"] == "bundled" and scratch.card["bundled_rule"] is None
    assert bundled.card["count_band"] == base.card["count_band"]
    untouched = fit_fold(records, "bundled", base, rule="none")
    assert untouched.patient_probability(arr, *untouched.score(arr)) == base.patient_probability(arr, *base.score(arr))
    # saved like the bundle (safetensors + card) and read back to the same answers
    bundled.save(tmp_path / "fold")
    again = HotspotDetector.load(tmp_path / "fold")
    assert np.allclose(again.stages(arr)["probability"], bundled.stages(arr)["probability"])
    lesions, rows = score_fold(again, records[:2], k=3)
    assert len(lesions) == sum(len(r["lesions"]) for r in records[:2]) and len(rows) == 2
    assert all(0 <= le["probability"] <= 1 and le["fold"] == 3 for le in lesions)


def test_no_malignant_candidate_to_learn_from_is_a_config_error(records, base):
    blank = [{**r, "y": np.zeros_like(r["y"])} for r in records]
    with pytest.raises(ConfigError, match="malignant annotation"):
        fit_fold(blank, "scratch", base, tiny=True)
    # the default rule fits trees too; the message names the rule that fits none, which works
    with pytest.raises(ConfigError, match="--bundled-rule patient keeps the bundled trees"):
        fit_fold(blank, "bundled", base, tiny=True)
    assert fit_fold(blank, "bundled", base, rule="patient").forest is base.forest


def test_analyze_reads_a_detector_folder_or_the_networks(base, tmp_path):
    from osteoscan.errors import ModelError
    from osteoscan.lesions.patient import load_lesion_stage
    from osteoscan.lesions.patient import HotspotDetector

    base.save(tmp_path / "det")
    assert isinstance(load_lesion_stage(tmp_path / "det"), HotspotDetector)
    with pytest.raises(ModelError):
        load_lesion_stage(tmp_path / "empty")


def _with_focus(st, amp: float, lid: int = 99):
    """``st`` with a round focus (sigma 3 pixels) of ``amp`` x the local bone background on the
    anterior view at 45 % of the height (the row's hottest bone), annotated malignant (an
    11-pixel box)."""
    from dataclasses import replace

    from osteoscan.lesions.candidates import view_maps

    a = np.asarray(st.scan.anterior, np.float32)
    maps = view_maps(a, tuple(st.scan.spacing_mm))
    r = int(0.45 * a.shape[0])
    c = int(np.argmax(np.where(maps.bone[r], maps.z[r], -1)))
    yy, xx = np.mgrid[:a.shape[0], :a.shape[1]]
    height = amp * maps.level * maps.background[r, c]
    focus = np.round(height * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / 18.0))
    masks = {k: v.copy() for k, v in st.lesion_masks.items()}
    masks["anterior"][r - 5:r + 6, c - 5:c + 6] = lid
    return replace(st, scan=replace(st.scan, anterior=(a + focus).astype(np.float32)),
                   lesion_masks=masks, lesion_labels={**st.lesion_labels, lid: "malignant"})


@pytest.fixture(scope="module")
def normal_study():
    from osteoscan.lesions.pipeline import simulate_studies

    return simulate_studies(1, 4321, sites=("profile_14",), prevalence_metastasis=0.0)[0]


def _malignant_box(rec) -> int:
    j = [k for k, les in enumerate(rec["lesions"]) if les["label"] == "malignant"]
    assert len(j) == 1
    return j[0]


def test_a_box_without_a_detected_peak_scores_its_forced_candidate(normal_study, base):
    """A faint focus with no significant peak: no detected candidate in its box, yet a score
    above 0 from the candidate forced at its hottest pixel. Forced at a brighter focus in the
    same place (one the detector finds), the brighter one ranks higher."""
    from osteoscan.lesions.detector_cv import forced_candidates

    faint = cohort_record(_with_focus(normal_study, 0.15), base)
    j = _malignant_box(faint)
    assert not faint["inside"][:, j].any() and faint["forced"]["inside"][:, j].sum() == 1
    lesions, _ = score_fold(base, [faint], k=0)
    assert lesions[j]["probability"] > 0 and lesions[j]["region"] == "undetected"
    before, _ = score_fold(base, [{**faint, "forced": None}], k=0)
    assert before[j]["probability"] == 0
    bright_st = _with_focus(normal_study, 0.8)
    bright = cohort_record(bright_st, base)
    assert bright["inside"][:, _malignant_box(bright)].any()
    none = np.zeros_like(bright["inside"])  # force every box of the bright study
    box_view = np.array([int(le["view"] == "posterior") for le in bright["lesions"]])
    forced = forced_candidates(bright_st, base, bright["lesions"], box_view, none)
    les, _ = score_fold(base, [{**bright, "inside": none, "forced": forced}], k=0)
    assert les[_malignant_box(bright)]["probability"] > lesions[j]["probability"]


def test_forced_candidates_change_no_patient_probability_and_no_truth(records, base):
    """The forced candidates only score the boxes that hold no detected peak: the patient
    probabilities, the detected boxes' scores and a fold detector fitted with or without them
    are the same."""
    forced = [r for r in records if r["forced"] is not None]
    plain = [{**r, "forced": None} for r in records]
    assert forced
    les_f, rows_f = score_fold(base, records, k=0)
    les_p, rows_p = score_fold(base, plain, k=0)
    assert rows_f == rows_p
    found = np.concatenate([r["inside"].any(axis=0) for r in records])
    pf, pp = (np.array([le["probability"] for le in les]) for les in (les_f, les_p))
    assert np.array_equal(pf[found], pp[found]) and (pp[~found] == 0).all() and (pf[~found] > 0).any()
    a, b = (fit_fold(recs, "bundled", base, rule="patient") for recs in (records, plain))
    assert [r["prob_metastasis"] for r in score_fold(a, records, 1)[1]] == \
        [r["prob_metastasis"] for r in score_fold(b, plain, 1)[1]]


def test_a_cohort_of_pictures_starts_from_the_picture_variant(studies, base, caplog):
    from dataclasses import replace

    from osteoscan.lesions.augment import screen_round_trip
    from osteoscan.lesions.detector_cv import cohort_base

    assert base.picture is not None  # the bundle ships a picture-domain variant
    pictures = [replace(st, scan=screen_round_trip(st.scan, st.scan.anterior > 0)) for st in studies[:3]]
    assert cohort_base(base, pictures) is base.picture
    assert cohort_base(base, studies) is base
    with caplog.at_level("WARNING", logger="osteoscan.lesions.detector_cv"):
        assert cohort_base(base, [*pictures, *studies[:2]]) is base.picture
        assert cohort_base(base, [*pictures[:1], *studies[:2]]) is base
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "the cohort mixes 3 screen pictures with 2 count studies",
        "the cohort mixes 1 screen pictures with 2 count studies"]
