"""MONAI U-Net family factory."""

import pytest
import torch

from osteoscan.errors import ConfigError
from osteoscan.models.segmenters import SEGMENTERS, create_segmenter, divisor


@pytest.mark.parametrize("name", SEGMENTERS)
def test_tiny_segmenters_keep_spatial_size(name):
    net = create_segmenter(name, in_channels=2, out_channels=3, tiny=True).eval()
    d = divisor(name, tiny=True)
    with torch.no_grad():
        out = net(torch.rand(1, 2, 4 * d, 2 * d))
    assert out.shape == (1, 3, 4 * d, 2 * d)


def test_unknown_segmenter():
    with pytest.raises(ConfigError, match="unknown segmenter"):
        create_segmenter("vnet3d", in_channels=1, out_channels=1)
