"""Choosing the lesion threshold and minimum instance size on a selection cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd

from osteoscan.artefacts import ModelCard, read_card
from osteoscan.models import create_model
from osteoscan.volumetric.infer import Segmenter3D
from osteoscan.volumetric.postprocess import select_postprocessing, write_selected

from .conftest import make_case


class _Scripted(Segmenter3D):
    """A segmenter whose "network" output is made from the truth: every lesion at
    P(lesion) 0.9, one 3x3x3 false blob at 0.45, and single-voxel specks at 0.95."""

    def probabilities(self, image):
        case = self.current
        lesion = np.where(case.semantic > 0, 0.9, 0.0)
        lesion[1:4, 1:4, 1:4] = 0.45
        lesion[20, 2, 2] = lesion[20, 2, 28] = lesion[2, 28, 2] = 0.95
        prob = np.stack([1 - lesion, 0.2 * lesion, 0.8 * lesion]).astype(np.float32)
        return prob, None


def _segmenter(cases):
    kwargs = {"num_classes": 3, "in_chans": 2, "img_size": [16, 16, 16], "tiny": True}
    card = ModelCard(architecture="mtunet3d", classes=["background", "benign", "metastatic"],
                     positive=None, threshold=None, task="segmentation3d", model_kwargs=kwargs,
                     settings={"channels": "spectct", "spacing_mm": 4.0, "patch": [16, 16, 16]})
    seg = _Scripted(create_model("mtunet3d", **kwargs), card)
    it = iter(cases)
    original = seg.probabilities

    def step(image):
        seg.current = next(it)
        return original(image)

    seg.probabilities = step
    return seg


def test_selection_drops_the_faint_blob_and_the_specks(tmp_path):
    cases = [make_case(s, primary="other") for s in range(3)]
    seg = _segmenter(cases)
    assert (seg.threshold, seg.min_voxels) == (0.5, 2)  # no choice in the card: defaults
    choice = select_postprocessing(seg, cases, thresholds=(0.3, 0.5), min_voxels=(1, 4))
    assert (choice["threshold"], choice["min_voxels"]) == (0.5, 4)
    table = pd.DataFrame(choice["table"])
    assert len(table) == 4 and choice["profiles"] == ["synthetic"]
    best = table.loc[(table.threshold == 0.5) & (table.min_voxels == 4)].iloc[0]
    worst = table.loc[(table.threshold == 0.3) & (table.min_voxels == 1)].iloc[0]
    assert best.dice_lesion > 0.95 > worst.dice_lesion
    assert best["sens@1.5"] == 1.0
    out = write_selected(seg, choice, tmp_path / "selected")
    post = read_card(out).settings["postprocess"]
    assert post["threshold"] == 0.5 and post["min_voxels"] == 4
    assert "postprocess" not in seg.card.settings  # the source card is left as it was
    assert len(pd.read_csv(out / "selection.csv")) == 4
    again = Segmenter3D.from_checkpoint(out)
    assert (again.threshold, again.min_voxels) == (0.5, 4)
    assert Segmenter3D.from_checkpoint(out, threshold=0.3).threshold == 0.3


def test_a_mask_only_cut_keeps_every_candidate_ranked_but_out_of_the_mask():
    from osteoscan.volumetric.instances import OriginModel

    case = make_case(3, primary="other")
    seg = _segmenter([case, case])
    # a lesion model that calls the 3x3x3 faint blob unlikely (its mean P(metastatic), the
    # second feature, is 0.36) and the true lesions (0.72) likely
    seg.lesion_model = OriginModel(["p"])
    seg.lesion_model.predict_proba = lambda X: np.where(np.asarray(X)[:, 1] < 0.4, 0.1, 0.9)
    seg.threshold, seg.min_voxels, seg.min_p_lesion = 0.3, 4, 0.5
    everywhere = seg.predict(case)
    seg.cut = "mask"
    mask_only = seg.predict(case)
    assert len(mask_only.lesions) == len(everywhere.lesions) + 1  # the blob stays a candidate
    dropped = [t for t in mask_only.lesions if not t["in_mask"]]
    assert len(dropped) == 1 and dropped[0]["p_lesion"] < 0.5
    np.testing.assert_array_equal(mask_only.semantic, everywhere.semantic)
    assert (mask_only.instances == dropped[0]["id"]).any()
    assert not mask_only.semantic[mask_only.instances == dropped[0]["id"]].any()


def test_the_origin_follows_the_mask_only_cut():
    from osteoscan.volumetric.instances import OriginModel

    case = make_case(3, primary="other")
    seg = _segmenter([case, case])
    assert seg.origin_over == "all"  # a card without the choice keeps the earlier rule
    seg.lesion_model = OriginModel(["p"])
    seg.lesion_model.predict_proba = lambda X: np.where(np.asarray(X)[:, 1] < 0.4, 0.1, 0.9)
    # the origin model calls the faint blob (left out of the mask) "other", the lesions "lung"
    seg.origin = OriginModel(["p"])
    seg.origin.predict_proba = lambda X: np.where(np.asarray(X)[:, 1] < 0.4, 0.0, 1.0)
    seg.threshold, seg.min_voxels, seg.min_p_lesion, seg.cut = 0.3, 4, 0.5, "mask"
    every = seg.predict(case)
    assert any(not t["in_mask"] for t in every.lesions) and every.origin_p_lung < 1.0
    seg.origin_over = "mask"
    assert seg.predict(case).origin_p_lung == 1.0


def test_selection_tries_both_cuts_and_stores_the_choice(tmp_path):
    from osteoscan.volumetric.instances import OriginModel

    cases = [make_case(s, primary="other") for s in range(2)]
    seg = _segmenter(cases)
    seg.lesion_model = OriginModel(["p"])
    seg.lesion_model.predict_proba = lambda X: np.where(np.asarray(X)[:, 1] < 0.4, 0.1, 0.9)
    choice = select_postprocessing(seg, cases, thresholds=(0.3,), min_voxels=(4,),
                                   min_p_lesion=(0.0, 0.5))
    table = pd.DataFrame(choice["table"])
    assert sorted(zip(table.min_p_lesion, table.cut)) == [(0.0, "all"), (0.5, "all"),
                                                          (0.5, "mask")]
    assert choice["cut"] in ("all", "mask")
    out = write_selected(seg, choice, tmp_path / "sel")
    assert read_card(out).settings["postprocess"]["cut"] == choice["cut"]
    assert Segmenter3D.from_checkpoint(out).cut == choice["cut"]
    assert Segmenter3D.from_checkpoint(out).origin_over == "mask"
    seg = _segmenter(cases)  # the earlier rule only: the cut removes instances and mask
    seg.lesion_model = OriginModel(["p"])
    seg.lesion_model.predict_proba = lambda X: np.where(np.asarray(X)[:, 1] < 0.4, 0.1, 0.9)
    only = select_postprocessing(seg, cases, thresholds=(0.3,), min_voxels=(4,),
                                 min_p_lesion=(0.0, 0.5), cuts=("all",))
    assert [r["cut"] for r in only["table"]] == ["all", "all"] and only["cut"] == "all"


class _Logged:
    """A case that logs its id whenever a volume is read from it (as a cohort case whose
    cache holds one study reads it again)."""

    def __init__(self, case, log):
        self._case, self._log = case, log

    def __getattr__(self, name):
        if name in ("ct", "spect", "semantic", "instances"):
            self._log.append(self._case.case_id)
        return getattr(self._case, name)


def test_a_sweep_reads_each_case_once_for_every_setting():
    log = []
    cases = [_Logged(make_case(s, primary="other"), log) for s in range(3)]
    seg = _segmenter(cases)
    choice = select_postprocessing(seg, cases, thresholds=(0.3, 0.5), min_voxels=(1, 4))
    assert len(choice["table"]) == 4
    runs = [c for i, c in enumerate(log) if i == 0 or log[i - 1] != c]
    assert runs == ["case0", "case1", "case2"]  # every setting scored before the next case
