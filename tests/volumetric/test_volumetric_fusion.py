"""Late fusion of a CT path (osteoscan.volumetric.fusion): the card round-trip, lesions added
only where the primary output is empty, the CT path's own post-processing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from osteoscan.artefacts import ModelCard, read_card
from osteoscan.errors import ModelError
from osteoscan.models import create_model
from osteoscan.volumetric.fusion import CTPath, bone_contrast
from osteoscan.volumetric.infer import Segmenter3D
from osteoscan.volumetric.postprocess import select_ct_path, write_fused

from .conftest import make_case


class _Scripted(Segmenter3D):
    """A segmenter whose "network" output is ``self.script(case)`` (P(lesion) per voxel,
    lesion voxels called metastatic); it records the input it was given."""

    def probabilities(self, image):
        self.seen = image
        lesion = self.script(self.current)
        return np.stack([1 - lesion, 0.2 * lesion, 0.8 * lesion]).astype(np.float32), None

    def predict(self, case, **kwargs):
        self.current = case
        if self.ct_path is not None:
            self.ct_path.net.current = case
        return super().predict(case, **kwargs)


def _net(script, spacing=4.0):
    kwargs = {"num_classes": 3, "in_chans": 2, "img_size": [16, 16, 16], "tiny": True}
    card = ModelCard(architecture="mtunet3d", classes=["background", "benign", "metastatic"],
                     positive=None, threshold=None, task="segmentation3d", model_kwargs=kwargs,
                     settings={"channels": "spectct", "spacing_mm": spacing,
                               "patch": [16, 16, 16]})
    net = _Scripted(create_model("mtunet3d", **kwargs), card)
    net.script = script
    return net


def _only(case, *ids, p=0.9):
    return np.where(np.isin(case.instances, ids), p, 0.0)


def test_a_ct_lesion_is_added_where_the_primary_is_empty_and_not_where_it_overlaps():
    case = make_case(2)  # lung primary: lesions 1, 2 metastatic (lucent on CT), 3 benign,
    # three separate components (seed 2)
    primary = _net(lambda c: _only(c, 1))
    primary.ct_path = CTPath.of(_net(lambda c: _only(c, 1, 2)), threshold=0.5, min_voxels=2)
    alone = _net(lambda c: _only(c, 1)).predict(case)
    fused = primary.predict(case)
    assert [t["source"] for t in fused.lesions[1:]] == ["ct_path"] and len(fused.lesions) == 2
    added = fused.lesions[1]
    assert added["id"] == 2 and added["in_mask"]
    np.testing.assert_array_equal(fused.instances == 2, case.instances == 2)
    np.testing.assert_array_equal(fused.instances == 1, alone.instances == 1)  # unchanged
    assert (fused.semantic[case.instances == 2] == 2).all()
    assert not fused.semantic[case.instances == 3].any()
    # the CT path saw its SPECT channel zeroed, the primary both channels
    ct_net = primary.ct_path.net
    assert ct_net.seen[0].max() == 0 and ct_net.seen[1].max() > 0 and primary.seen[0].max() > 0


def test_the_ct_post_processing_cuts_small_faint_and_dense_marks():
    case = make_case(2)

    def noisy(c):
        p = _only(c, 1, 2, 3)  # 3 is the dense benign lesion (600 HU in 300 HU bone)
        p[1:4, 1:4, 1:4] = 0.6  # a faint false blob
        p[20, 2, 2] = p[2, 28, 2] = 0.95  # single-voxel specks
        return p

    primary = _net(lambda c: np.zeros(c.shape))
    ct_net = _net(noisy)
    primary.ct_path = CTPath.of(ct_net, threshold=0.3, min_voxels=1)
    assert len(primary.predict(case).lesions) == 6  # everything, uncut
    primary.ct_path = CTPath.of(ct_net, threshold=0.7, min_voxels=4)
    kept = primary.predict(case).lesions
    assert len(kept) == 3 and all(t["volume_ml"] >= 4 * 0.064 for t in kept)
    primary.ct_path = CTPath.of(ct_net, threshold=0.7, min_voxels=4, max_contrast_hu=-50)
    lucent = primary.predict(case)
    assert len(lucent.lesions) == 2 and all(t["ct_contrast_hu"] < -200 for t in lucent.lesions)
    assert not lucent.semantic[case.instances == 3].any()


def test_bone_contrast_is_against_the_bone_around_only():
    hu = np.full((7, 7, 7), -100.0, np.float32)  # fat
    hu[:, :, :4] = 300.0  # bone on one side
    hu[3, 3, 3] = 20.0
    labels = np.zeros(hu.shape, np.int32)
    labels[3, 3, 3] = 1
    box = (slice(3, 4),) * 3
    assert bone_contrast(hu, labels, 1, box) == pytest.approx(20.0 - 300.0)
    assert np.isnan(bone_contrast(np.full_like(hu, -100.0), labels, 1, box))


def test_select_chooses_the_path_and_the_card_round_trips(tmp_path):
    cases = [make_case(s) for s in (2, 6)]  # seeds whose lesions do not touch

    def noisy(c):
        p = _only(c, 2)
        p[1:5, 1:5, 1:5] = 0.6  # a false blob in every scan
        return p

    primary, ct_net = _net(lambda c: _only(c, 1)), _net(noisy)
    order = iter([c for c in cases for _ in range(2)])

    def step(image):
        case = next(order)
        primary.current = ct_net.current = case
        return _Scripted.probabilities(primary if image[0].max() > 0 else ct_net, image)

    primary.probabilities = ct_net.probabilities = step
    choice = select_ct_path(primary, ct_net, cases, thresholds=(0.5, 0.7), min_voxels=(2,),
                            min_p_lesion=(0.0,), max_contrast_hu=(None,))
    assert choice["ct_path"]["threshold"] == 0.7  # above the false blobs, lesion 2 added
    table = pd.DataFrame(choice["table"])
    assert len(table) == 2 and choice["best"]["criterion"] > choice["primary"]["criterion"]
    assert choice["best"]["ct_path_lesions"] == 2
    out = write_fused(primary, ct_net, choice, tmp_path / "fused")
    post = read_card(out).settings["postprocess"]["ct_path"]
    assert post["model"] == "ct_path" and post["zeroed"] == ["spect"]
    assert "postprocess" not in read_card(tmp_path / "fused" / "ct_path").settings
    again = Segmenter3D.from_checkpoint(out)
    assert again.ct_path.to_dict() == choice["ct_path"]
    assert again.ct_path.net.zeroed == ("spect",) and again.ct_path.net.cut == "all"
    assert (again.threshold, again.min_voxels) == (primary.threshold, primary.min_voxels)


def test_a_fused_card_without_its_companion_or_on_another_grid_is_refused(tmp_path):
    primary, ct_net = _net(lambda c: c.instances * 0.0), _net(lambda c: c.instances * 0.0, 8.0)
    choice = {"ct_path": CTPath.of(ct_net, threshold=0.5, min_voxels=2).to_dict(),
              "criterion": "x", "profiles": [], "table": []}
    out = write_fused(primary, ct_net, choice, tmp_path / "fused")
    with pytest.raises(ModelError, match="primary's spacing"):
        Segmenter3D.from_checkpoint(out)
    for f in (out / "ct_path").iterdir():
        f.unlink()
    with pytest.raises(ModelError, match="ct_path"):
        Segmenter3D.from_checkpoint(out)
