"""Simulated screen captures: files, LabelMe in picture pixels, determinism, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from osteoscan.errors import ConfigError
from osteoscan.simulate import CAPTURE_LAYOUTS, write_capture_cohort



def run_osteoscan(*args):
    exe = Path(sys.executable).with_name("osteoscan")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          check=False)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("caps")
    return write_capture_cohort(out, len(CAPTURE_LAYOUTS), seed=4)


def test_every_layout_is_written_with_labelme_in_picture_pixels(cohort):
    table = pd.read_csv(cohort, dtype=str)
    assert list(table["layout"]) == list(CAPTURE_LAYOUTS)
    root = cohort.parent
    for _, row in table.iterrows():
        with Image.open(root / row["image"]) as im:
            assert im.format == "JPEG"
            width, height = im.size
        doc = json.loads((root / row["annotations"]).read_text())
        assert (doc["imageWidth"], doc["imageHeight"]) == (width, height)
        for shape in doc["shapes"]:
            assert shape["label"] in ("4: Malignant", "2: Benign", "0: Uncertain")
            for x, y in shape["points"]:
                assert 0 <= x <= width and 0 <= y <= height
    wide = table[table["layout"] == "wide"].iloc[0]
    with Image.open(root / wide["image"]) as im:
        assert im.size[0] == 1640
    assert (root / "label_map.yaml").read_text().count(":") >= 3


def test_same_seed_same_bytes(cohort, tmp_path):
    again = write_capture_cohort(tmp_path, 2, seed=4)
    first = pd.read_csv(cohort, dtype=str).head(2)
    assert list(pd.read_csv(again, dtype=str)["study_id"]) == list(first["study_id"])
    image = pd.read_csv(again, dtype=str)["image"][1]
    assert (tmp_path / image).read_bytes() == (cohort.parent / image).read_bytes()


def test_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="bogus"):
        write_capture_cohort(tmp_path / "x", 2, layouts=("framed", "bogus"))
    assert not (tmp_path / "x").exists()


def test_simulate_captures_through_the_console_script(tmp_path):
    out = tmp_path / "caps"
    done = run_osteoscan("simulate", out, "--n", 2, "--captures", "spots,laterals", "--seed", 1)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "manifest.csv", dtype=str)
    assert list(table["layout"]) == ["spots", "laterals"]
    bad = run_osteoscan("simulate", tmp_path / "bad", "--n", 2, "--captures", "nope")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


def test_the_black_layout_turns_every_grey_of_the_view_over():
    import numpy as np

    from osteoscan.simulate.captures import Placement, _uninvert_bodies

    pic = np.full((6, 8), 255, np.uint8)  # the inverted display: white background
    pic[1, 1], pic[2, 2], pic[3, 3], pic[4, 4] = 250, 249, 100, 0  # one count ... the hottest
    pic[5, 7] = 255  # outside the view: the page, left as it is
    place = {"anterior": Placement(0, 0, 1.0, 1.0, 0, 6, False, 6, 5)}
    out = _uninvert_bodies(pic, place, 6)
    assert out[0, 0] == 0 and out[1, 1] == 5 and out[2, 2] == 6  # faint stays faint
    assert out[3, 3] == 155 and out[4, 4] == 255 and out[5, 7] == 255
