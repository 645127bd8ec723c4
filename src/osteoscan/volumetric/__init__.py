"""osteoscan.volumetric: 3-D SPECT/CT and CT bone-lesion segmentation, instances and origin.

- :mod:`~osteoscan.volumetric.inputs`: modalities -> normalised channels on the model's grid,
  training targets (semantic labels, lesion-centre heatmap).
- :mod:`~osteoscan.volumetric.training`: patch sampling, the multi-task loss, training through
  the one loop (:func:`osteoscan.training.loop.fit_epochs`), checkpoints with a model card.
- :mod:`~osteoscan.volumetric.losses`: batch Dice + CE, voxel- or lesion-weighted.
- :mod:`~osteoscan.volumetric.infer`: sliding-window inference with bounded memory, labels back
  on the source grid.
- :mod:`~osteoscan.volumetric.instances`: lesion instances (connected components of the
  semantic output), per-instance features, the origin (lung / other) classifier.
- :mod:`~osteoscan.volumetric.postprocess`: the post-processing chosen on a selection cohort.
- :mod:`~osteoscan.volumetric.fusion`: late fusion of a CT path (a second network run with
  its SPECT channels zeroed) whose lesions are added where the primary marks none.

Design and measured figures: docs/seg3d.md. Submodules are imported lazily (torch).
"""

from __future__ import annotations

from osteoscan._lazy import lazy_getattr

_LAZY = {
    "Case": "osteoscan.volumetric.inputs",
    "channel_stack": "osteoscan.volumetric.inputs",
    "Seg3DSettings": "osteoscan.volumetric.training",
    "train_seg3d": "osteoscan.volumetric.training",
    "Segmenter3D": "osteoscan.volumetric.infer",
    "Seg3DResult": "osteoscan.volumetric.infer",
    "CTPath": "osteoscan.volumetric.fusion",
}

__all__ = list(_LAZY)

__getattr__ = lazy_getattr(__name__, _LAZY)
