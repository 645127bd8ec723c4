"""A learning-free reference for the 3-D figures: hot spots of SPECT uptake in bone.

Every lesion the simulator makes is hot on SPECT relative to the bone around it (osteoblastic,
mixed, lytic with a hot rim) or sits in bone on CT, so "SPECT above ``ratio`` times the
patient's median bone uptake, inside (or one voxel from) CT bone" is a well-posed baseline:
no training, one threshold, chosen on a selection profile (docs/seg3d.md). Each 26-connected
component is one instance, scored by its mean uptake ratio (what the FROC ranks); every
instance is called metastatic (the rule cannot tell benign look-alikes, which are also hot:
they are its false positives), and it predicts no origin (AUC 0.5).

It answers the segmenter's :meth:`predict` (a :class:`~osteoscan.volumetric.infer.Seg3DResult`
on the case's grid), so :func:`osteoscan.workflows.seg3d.evaluate_cases` scores it the same way
as a network.

Example:
    >>> import numpy as np
    >>> from osteoscan.volumetric.inputs import Case
    >>> ct = np.full((9, 9, 9), 400.0); spect = np.ones((9, 9, 9)); spect[4, 4, 3:6] = 5.0
    >>> r = HotSpotBaseline(ratio=2.0).predict(Case("c", "p", (4.0,) * 3, ct=ct, spect=spect))
    >>> len(r.lesions), int(r.semantic.sum() // 2)
    (1, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from osteoscan.volumetric.infer import Seg3DResult
from osteoscan.volumetric.inputs import Case
from osteoscan.volumetric.instances import components


@dataclass
class HotSpotBaseline:
    """SPECT uptake above ``ratio`` x median bone uptake, within a voxel of CT bone.

    Attributes:
        ratio: threshold on SPECT / median SPECT of CT bone (chosen on a selection profile).
        bone_hu: CT value above which a voxel is bone.
    """

    ratio: float = 2.5
    bone_hu: float = 150.0

    def uptake_ratio(self, case: Case) -> tuple[np.ndarray, np.ndarray]:
        """(SPECT / median bone uptake, bone mask dilated by one voxel) on the case's grid."""
        if case.ct is None or case.spect is None:
            raise ValueError(f"{case.case_id}: the hot-spot baseline needs CT and SPECT")
        bone = np.asarray(case.ct) > self.bone_hu
        spect = np.asarray(case.spect, np.float32)
        ref = float(np.median(spect[bone])) if bone.any() else float(np.median(spect))
        return spect / max(ref, 1e-6), ndimage.binary_dilation(bone)

    def predict(self, case: Case, *, keep_work: bool = False) -> Seg3DResult:
        """Instances and semantic map (2 = metastatic) of one case."""
        ratio, near_bone = self.uptake_ratio(case)
        labels = components(np.where(near_bone, ratio, 0.0), threshold=self.ratio)
        ids = list(range(1, int(labels.max()) + 1))
        scores = np.atleast_1d(ndimage.mean(ratio, labels, ids)) if ids else []
        table = [{"id": i, "cls": "metastatic", "score": float(s), "p_lung": float("nan"),
                  "volume_ml": float((labels == i).sum() * np.prod(case.spacing_mm) / 1000)}
                 for i, s in zip(ids, scores, strict=True)]
        semantic = np.where(labels > 0, 2, 0).astype(np.uint8)
        work = {}
        if keep_work:
            lesion = (labels > 0).astype(np.float32)
            work = {"prob": np.stack([1 - lesion, np.zeros_like(lesion), lesion]),
                    "labels": labels}
        return Seg3DResult(semantic=semantic, instances=labels, lesions=table,
                           origin_p_lung=float("nan"), work=work)
