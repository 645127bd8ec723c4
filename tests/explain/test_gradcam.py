"""Grad-CAM: the split path equals pytorch_grad_cam, and the map points at the evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from osteoscan.errors import ModelError
from osteoscan.explain.gradcam import GradCam, resolve_layer, tokens_grid_fn

torch.set_num_threads(1)


class TinyCnn(nn.Module):
    """Two conv stages, global pool, linear head: the target layer is ``features.3``."""

    def __init__(self, in_chans: int = 2, num_classes: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def _input(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 2, 64, 16, generator=g)


def test_split_equals_pytorch_grad_cam_on_cnn():
    torch.manual_seed(0)
    model = TinyCnn()
    x = _input()
    split = GradCam(model, "features.3", method="split")(x, target=1)
    lib = GradCam(model, "features.3", method="library")(x, target=1)
    assert split.method == "split" and lib.method == "library"
    assert split.heatmaps.shape == (2, 64, 16)
    assert np.abs(split.heatmaps - lib.heatmaps).max() < 1e-5
    torch.testing.assert_close(split.logits, lib.logits, atol=1e-5, rtol=1e-5)
    assert split.heatmaps.max() == pytest.approx(1.0, abs=1e-4)
    assert split.heatmaps.min() >= 0.0


def test_split_does_not_build_a_graph_through_the_trunk():
    model = TinyCnn()
    seen = []
    model.features[0].register_forward_hook(lambda m, i, o: seen.append(o.requires_grad))
    GradCam(model, "features.3")(_input(), target=1)
    assert seen == [False]
    assert all(p.grad is None for p in model.parameters())


def test_split_matches_library_on_tiny_vit():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, num_classes=2, in_chans=2,
        img_size=(64, 32), depth=2, embed_dim=48, num_heads=2,
    )
    reshape = tokens_grid_fn(model, (64, 32))
    x = torch.rand(1, 2, 64, 32)
    split = GradCam(model, "blocks.-1.norm1", reshape=reshape, method="split")(x, target=1)
    lib = GradCam(model, "blocks.-1.norm1", reshape=reshape, method="library")(x, target=1)
    assert np.abs(split.heatmaps - lib.heatmaps).max() < 1e-5


def test_inplace_after_target_falls_back_to_library():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    out = GradCam(model, "0")(torch.rand(1, 1, 16, 8), target=0)
    assert out.method == "library"
    assert out.heatmaps.shape == (1, 16, 8)


def test_heatmap_peaks_on_the_discriminative_spot():
    # a hand-set "detector": one conv that fires on bright pixels, weight to class 1
    model = TinyCnn(in_chans=1)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.features[0].weight[:, 0, 1, 1] = 1.0
        model.features[2].weight[:, :, 1, 1] = torch.eye(16, 8)
        model.head.weight[1] = 1.0
    x = torch.zeros(1, 1, 64, 16)
    x[0, 0, 40:43, 5:8] = 1.0
    out = GradCam(model, "features.3")(x, target=1)
    r, c = np.unravel_index(out.heatmaps[0].argmax(), out.heatmaps[0].shape)
    assert 38 <= r <= 44 and 3 <= c <= 9


def test_missing_layer_is_a_model_error():
    with pytest.raises(ModelError, match="nope"):
        resolve_layer(TinyCnn(), "features.nope")
