"""inRAC / outRAC: CBAM placement, ablation switches, attention maps."""

from __future__ import annotations

import pytest
import torch

from osteoscan.errors import ModelError
from osteoscan.models import create_model
from osteoscan.models.inrac import CBAM, InRAC, RABlock


def _count(model, cls) -> int:
    return sum(isinstance(m, cls) for m in model.modules())


def test_switches_change_the_graph():
    full = create_model("inrac18", tiny=True)
    no_attn = create_model("inrac18", tiny=True, attention=False)
    no_skip = create_model("inrac18", tiny=True, residual=False)
    assert _count(full, CBAM) == 4 and _count(no_attn, CBAM) == 0
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(no_attn) < n(full) and n(no_skip) < n(full)  # CBAMs / projection shortcuts removed
    assert all(
        b.downsample is None and not b.residual for b in no_skip.modules() if isinstance(b, RABlock)
    )
    assert _count(create_model("inrac18_noattn", tiny=True), CBAM) == 0
    narrow = {"widths": (8, 16, 32, 64), "stem_width": 8}
    assert _count(InRAC(34, **narrow), RABlock) == 16 and _count(InRAC(18, **narrow), RABlock) == 8


def test_full_inrac18_is_resnet18_sized():
    n = sum(p.numel() for p in create_model("inrac18", num_classes=3).parameters())
    assert 11.0e6 < n < 11.6e6  # ResNet-18 (11.2 M) + CBAM MLPs and 7x7 spatial convs


def _zero_convs(block: RABlock) -> None:
    with torch.no_grad():
        block.conv2.weight.zero_()


def test_residual_switch_really_removes_the_skip():
    x = torch.rand(1, 8, 16, 8) + 0.1
    with_skip = RABlock(8, 8, residual=True, attention=None).eval()
    no_skip = RABlock(8, 8, residual=False, attention=None).eval()
    for b in (with_skip, no_skip):
        _zero_convs(b)
        with torch.no_grad():
            b.bn2.bias.zero_()
    assert torch.allclose(with_skip(x), x)  # relu(0 + x) = x
    assert torch.count_nonzero(no_skip(x)) == 0  # relu(0) = 0


@pytest.mark.parametrize("placement", ["inside", "outside"])
def test_cbam_sits_inside_or_after_the_addition(placement):
    torch.manual_seed(0)
    block = RABlock(8, 8, attention=placement).eval()
    seen = {}
    # hooks must return None: a forward hook's return value replaces the module output
    block.bn2.register_forward_hook(lambda m, i, o: seen.update(bn2=o.clone()))
    block.cbam.register_forward_hook(lambda m, i, o: seen.update(cbam_in=i[0].clone()))
    x = torch.randn(2, 8, 16, 8)
    with torch.no_grad():
        block(x)
    expected = seen["bn2"] if placement == "inside" else seen["bn2"] + x
    assert torch.allclose(seen["cbam_in"], expected, atol=1e-6)


def test_cbam_attention_maps_are_in_unit_interval():
    torch.manual_seed(0)
    cbam = CBAM(16, reduction=4)
    x = torch.randn(2, 16, 24, 8) * 10
    ch, sp = cbam.channel(x), cbam.spatial(x)
    assert ch.shape == (2, 16, 1, 1) and sp.shape == (2, 1, 24, 8)
    for m in (ch, sp):
        assert m.min() > 0 and m.max() < 1
    assert torch.allclose(cbam(x), x * ch * cbam.spatial(x * ch))


def test_inrac_rejects_bad_settings():
    with pytest.raises(ModelError, match="depth"):
        InRAC(depth=50)
    with pytest.raises(ModelError, match="4 stages"):
        InRAC(layers=(1, 1, 1))
    with pytest.raises(ModelError, match="placement"):
        InRAC(placement="middle")
    with pytest.raises(ModelError, match="pretrained"):
        create_model("inrac18", pretrained=True)  # offline: refusal test
