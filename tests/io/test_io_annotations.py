"""LabelMe outlines, label maps, view rules and masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from osteoscan.errors import InputError
from osteoscan.io import annotations_to_mask, read_labelme, read_mask


def _write(path, shapes, *, h=40, w=20, flags=None):
    doc = {
        "version": "5.4.1",
        "flags": flags or {},
        "shapes": shapes,
        "imagePath": "x.png",
        "imageData": None,
        "imageHeight": h,
        "imageWidth": w,
    }
    path.write_text(json.dumps(doc))
    return path


def _rect(label, p0, p1, **kw):
    return {
        "label": label,
        "points": [list(p0), list(p1)],
        "shape_type": "rectangle",
        "flags": {},
        **kw,
    }


def test_labels_are_mapped_and_kinds_kept(tmp_path):
    poly = {"label": "Metastasis ", "points": [[2, 2], [6, 2], [6, 6]], "shape_type": "polygon"}
    path = _write(tmp_path / "a.json", [poly, _rect("degenerative", (1, 10), (4, 14))])
    anns = read_labelme(path)
    assert [(a.kind, a.label, a.raw_label, a.view) for a in anns] == [
        ("polygon", "malignant", "Metastasis ", "anterior"),
        ("rectangle", "benign", "degenerative", "anterior"),
    ]


def test_unknown_labels_are_all_listed(tmp_path):
    path = _write(
        tmp_path / "u.json", [_rect("blob", (1, 1), (2, 2)), _rect("thing", (1, 1), (2, 2))]
    )
    with pytest.raises(InputError, match=r"u.json: unknown label name\(s\) \['blob', 'thing'\]"):
        read_labelme(path)
    anns = read_labelme(path, label_map={"blob": "malignant", "thing": "ignore"})
    assert [a.label for a in anns] == ["malignant", "ignore"]


def test_shape_outside_the_image(tmp_path):
    path = _write(tmp_path / "o.json", [_rect("met", (1, 1), (25, 5))], w=20)
    with pytest.raises(
        InputError, match=r"o.json: shape 0 \('met'\) has point \(25, 5\) outside the 40 x 20"
    ):
        read_labelme(path)


def test_image_shape_must_match(tmp_path):
    path = _write(tmp_path / "s.json", [_rect("met", (1, 1), (2, 2))])
    with pytest.raises(InputError, match="annotated image is 40 x 20, the study is 50 x 20"):
        read_labelme(path, image_shape=(50, 20))


def test_posterior_outlines_are_mirrored(tmp_path):
    # a file flagged posterior, and one shape forced anterior by its own flags
    shapes = [
        _rect("met", (2, 5), (5, 8)),
        _rect("benign", (2, 5), (5, 8), flags={"anterior": True}),
    ]
    path = _write(tmp_path / "p.json", shapes, flags={"posterior": True})
    post, ant = read_labelme(path)
    assert post.view == "posterior" and post.points == ((18.0, 5.0), (15.0, 8.0))
    assert ant.view == "anterior" and ant.points == ((2.0, 5.0), (5.0, 8.0))
    raw = read_labelme(path, flip_posterior=False)[0]
    assert raw.points == ((2.0, 5.0), (5.0, 8.0))
    # the view argument beats the file flags
    assert read_labelme(path, view="anterior")[0].view == "anterior"


def test_mask_covers_pixel_centres_and_malignant_wins(tmp_path):
    shapes = [
        _rect("benign", (0, 0), (10, 10)),
        _rect("met", (4, 4), (6, 6)),
        _rect("ignore", (0, 30), (20, 40)),
    ]
    anns = read_labelme(_write(tmp_path / "m.json", shapes))
    mask = annotations_to_mask(anns, (40, 20))
    assert (mask == 1).sum() == 100 - 4 and (mask == 2).sum() == 4
    assert mask[4:6, 4:6].tolist() == [[2, 2], [2, 2]]
    assert (mask == 3).sum() == 200
    assert annotations_to_mask(anns, (40, 20), view="posterior").sum() == 0


def test_tiny_outline_marks_one_pixel(tmp_path):
    anns = read_labelme(_write(tmp_path / "t.json", [_rect("met", (3.2, 7.2), (3.4, 7.4))]))
    mask = annotations_to_mask(anns, (40, 20))
    assert mask.sum() == 2 and mask[7, 3] == 2


def test_unsupported_shape_and_bad_json(tmp_path):
    point = {"label": "met", "points": [[1, 1]], "shape_type": "point"}
    with pytest.raises(InputError, match="only polygons and rectangles"):
        read_labelme(_write(tmp_path / "pt.json", [point]))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json: not a readable LabelMe JSON"):
        read_labelme(tmp_path / "bad.json")


def test_read_mask_png_and_bad_values(tmp_path):
    arr = np.zeros((16, 8), np.uint8)
    arr[2:4, 2:4] = 2
    arr[5, 5] = 3
    Image.fromarray(arr).save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), arr)
    arr[0, 0] = 7
    Image.fromarray(arr).save(tmp_path / "bad.png")
    with pytest.raises(InputError, match=r"bad.png: mask values \[7\]"):
        read_mask(tmp_path / "bad.png")


def test_read_mask_instances(tmp_path):
    arr = np.zeros((16, 8), np.uint16)
    arr[1:3, 1:3], arr[8:10, 4:6] = 1, 300
    Image.fromarray(arr).save(tmp_path / "ids.png")
    ids = read_mask(tmp_path / "ids.png", instances=True)
    assert ids.dtype == np.int32 and sorted(np.unique(ids).tolist()) == [0, 1, 300]
    with pytest.raises(InputError, match="mask values"):
        read_mask(tmp_path / "ids.png")
