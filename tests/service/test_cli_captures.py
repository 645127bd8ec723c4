"""Screen captures through the installed console script: dataset check, --label-map."""

from __future__ import annotations

import pytest

from osteoscan.simulate import write_capture_cohort


@pytest.fixture(scope="module")
def caps(tmp_path_factory):
    out = tmp_path_factory.mktemp("caps")
    return write_capture_cohort(out, 3, layouts=("spots", "laterals", "header"), seed=2)


def test_dataset_check_prints_each_layout_and_what_was_discarded(caps, osteoscan_cli):
    done = osteoscan_cli("dataset", "check", caps, "--label-map", caps.parent / "label_map.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "layout found" in out and out.count(".jpg") == 3
    assert "spot view" in out and "lateral" in out and "grey-scale bar" in out
    assert "keyword" in out  # views named from the burned-in text
    assert "3 rows, 3 loaded, 0 error(s)" in out


def test_unknown_label_names_are_listed_all_at_once(caps, osteoscan_cli, tmp_path):
    partial = tmp_path / "map.yaml"
    partial.write_text('"0: Uncertain": ignore\n')
    done = osteoscan_cli("lesions", "train", "--data", caps, "--label-map", partial,
                         "--out", tmp_path / "models", "--tiny")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = " ".join((done.stderr + done.stdout).split())
    assert "map.yaml" in message and "'4: Malignant'" in message and "'2: Benign'" in message
    assert not (tmp_path / "models").exists()


@pytest.mark.slow
def test_lesions_train_on_captures_with_a_label_map(caps, osteoscan_cli, tmp_path):
    """Views of different sizes (one per capture layout) train the lesion stage end to end."""
    done = osteoscan_cli("lesions", "train", "--data", caps, "--label-map",
                         caps.parent / "label_map.yaml", "--out", tmp_path / "m", "--tiny",
                         "--seg-epochs", 1, "--region-epochs", 1, "--clf-epochs", 1)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list((tmp_path / "m").glob("*.safetensors"))) == 3
