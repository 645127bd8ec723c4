"""Patient-level splits: no patient in two parts, stratification, sizes, protocols."""

import numpy as np
import pytest

from osteoscan.data.splits import (
    check_no_leakage, column_split, external_split, holdout_split, kfold_splits, make_splits,
    Split,
)
from osteoscan.errors import ConfigError


def _random_manifest(rng: np.random.Generator):
    """Random cohort: 10-60 patients with 1-4 studies each, labels mixed within a patient."""
    n_patients = int(rng.integers(10, 60))
    per = rng.integers(1, 5, size=n_patients)
    groups = np.repeat([f"P{i:03d}" for i in range(n_patients)], per)
    p_pos = rng.uniform(0.2, 0.6)
    patient_pos = rng.random(n_patients) < p_pos
    labels = np.where(np.repeat(patient_pos, per), "metastasis", "normal")
    flip = rng.random(len(labels)) < 0.1  # a patient may change status between studies
    labels = np.where(flip, "normal", labels)
    sites = np.repeat(rng.choice(["A", "B", "C"], size=n_patients), per)
    return labels, groups, sites


@pytest.mark.parametrize("seed", range(40))
def test_no_patient_in_two_parts_over_random_manifests(seed):
    rng = np.random.default_rng(seed)
    labels, groups, sites = _random_manifest(rng)
    splits = [holdout_split(labels, groups, seed=seed)]
    splits += kfold_splits(labels, groups, k=5, seed=seed)
    test_sites = [str(sites[0])]
    if len(set(sites)) > 1:
        splits.append(external_split(labels, groups, sites, train_sites=(),
                                     test_sites=test_sites, seed=seed))
    for split in splits:
        parts = [set(groups[ix]) for ix in split.parts().values()]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
        every = np.concatenate(list(split.parts().values()))
        assert len(every) == len(set(every.tolist()))  # no study twice
        check_no_leakage(split, groups)


def test_kfold_tests_every_study_once():
    labels, groups, _ = _random_manifest(np.random.default_rng(3))
    splits = kfold_splits(labels, groups, k=5, seed=1)
    tested = np.sort(np.concatenate([s.test for s in splits]))
    np.testing.assert_array_equal(tested, np.arange(len(labels)))
    for s in splits:  # train+val+test cover the cohort
        assert len(s.train) + len(s.val) + len(s.test) == len(labels)


def test_holdout_is_about_seven_to_three_and_stratified():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"P{i}" for i in range(300)], 2)
    labels = np.repeat(np.where(rng.random(300) < 0.3, "metastasis", "normal"), 2)
    split = holdout_split(labels, groups, test_fraction=0.3, val_fraction=0.0, seed=0)
    assert len(split.val) == 0
    assert abs(len(split.test) / len(labels) - 0.3) < 0.03
    pos_all = np.mean(labels == "metastasis")
    pos_test = np.mean(labels[split.test] == "metastasis")
    assert abs(pos_test - pos_all) < 0.04


def test_external_split_tests_only_the_named_site():
    labels, groups, sites = _random_manifest(np.random.default_rng(5))
    split = external_split(labels, groups, sites, train_sites=(), test_sites=["B"])
    assert set(sites[split.test]) == {"B"}
    assert "B" not in set(sites[np.concatenate([split.train, split.val])])
    with pytest.raises(ConfigError, match="protocol.test_sites"):
        external_split(labels, groups, sites, train_sites=(), test_sites=["nowhere"])


def test_column_split_honoured_and_leakage_refused():
    groups = np.array(["a", "a", "b", "c", "d", "e", "f", "g"])
    labels = np.array(["normal", "metastasis"] * 4)
    col = ["train", "train", "train", "validation", "test", "train", "val", "test"]
    split = column_split(col, labels, groups)
    assert split.test.tolist() == [4, 7] and split.val.tolist() == [3, 6]
    bad = ["train", "test", "train", "val", "test", "train", "val", "test"]
    with pytest.raises(ConfigError, match=r"\['a'\].*train and test"):
        column_split(bad, labels, groups)
    with pytest.raises(ConfigError, match="unknown values"):
        column_split(["train"] * 7 + ["later"], labels, groups)


def test_make_splits_auto_uses_column_when_present_and_checks():
    groups = np.array([f"P{i}" for i in range(12)])
    labels = np.array(["normal", "metastasis"] * 6)
    col = ["train"] * 8 + ["test"] * 4
    (split,) = make_splits("auto", labels=labels, groups=groups, split_column=col)
    assert split.name == "column" and split.test.tolist() == [8, 9, 10, 11]
    (split,) = make_splits("auto", labels=labels, groups=groups)
    assert split.name == "holdout"
    with pytest.raises(ConfigError, match="protocol.kind"):
        make_splits("random", labels=labels, groups=groups)


def test_check_no_leakage_names_the_patient():
    groups = np.array(["x", "y", "z"])
    split = Split("s", np.array([0, 1]), np.array([], dtype=int), np.array([2, 1]))
    with pytest.raises(ConfigError, match="'y'"):
        check_no_leakage(split, groups)


def test_external_split_with_internal_hold_out():
    labels, groups, sites = _random_manifest(np.random.default_rng(7))
    split = external_split(labels, groups, sites, train_sites=(), test_sites=["C"],
                           test_fraction=0.3, seed=0)
    test_sites = set(sites[split.test])
    assert "C" in test_sites and len(test_sites) > 1  # external site + internal hold-out
    assert np.all(sites[split.train] != "C") and np.all(sites[split.val] != "C")
    check_no_leakage(split, groups)


def test_external_split_selects_on_validation_sites_it_never_trains_or_tests_on():
    labels, groups, sites = _random_manifest(np.random.default_rng(8))
    split = external_split(labels, groups, sites, train_sites=(), test_sites=["C"],
                           val_sites=["B"], test_fraction=0.2, val_fraction=0.9, seed=0)
    assert set(sites[split.val]) == {"B"} and len(split.val) == int((sites == "B").sum())
    assert set(sites[split.train]) == {"A"} and "B" not in set(sites[split.test])
    assert "C" in set(sites[split.test]) and "A" in set(sites[split.test])  # + internal hold-out
    check_no_leakage(split, groups)
    with pytest.raises(ConfigError, match="must differ"):
        external_split(labels, groups, sites, train_sites=(), test_sites=["C"], val_sites=["C"])


def test_tiny_sets_still_split_by_patient():
    labels = np.array(["normal", "metastasis", "normal"])
    groups = np.array(["a", "b", "c"])
    split = holdout_split(labels, groups, test_fraction=0.34, val_fraction=0.0, seed=0)
    assert len(split.test) >= 1 and len(split.train) >= 1
    check_no_leakage(split, groups)
