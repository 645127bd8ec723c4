"""Every registered model: tiny build, non-square forward, backward to the first layer.

The loop covers every task of the registry (image classifiers, the lesion stage's
segmentation U-Nets and its lesion classifier, the 3-D SPECT/CT networks), each through its
task's contract.
"""

from __future__ import annotations

import pytest
import torch

from osteoscan.errors import ModelError
from osteoscan.models import create_model, get_module, list_models, model_info, tokens_to_grid

torch.set_num_threads(2)

EXPECTED = {
    "resnet18",
    "deit_base",
    "vit_large_patch16",
    "swin_base",
    "convnext_large",
    "convnextv2_atto",
    "convnextv2_nano",
    "convnextv2_tiny",
    "convnextv2_base",
    "vgg11",
    "vgg16",
    "inception_v1",
    "inception_v3",
    "densenet169",
    "efficientnet_lite0",
    "inrac18",
    "inrac34",
    "outrac18",
    "outrac34",
    "unet",
    "basicunet",
    "attentionunet",
    "patchcontext",
    "mtunet3d",
    "unet3d",
    "attentionunet3d",
    "segresnet3d",
    "dynunet3d",
    "unetr3d",
}
CLASSIFIERS = list_models(task="classification")


def _small_size(name: str) -> tuple[int, ...]:
    """The smallest convenient non-square size valid for the entry (4:1 when possible)."""
    if model_info(name).spatial_dims == 3:
        return (16, 32, 16)
    lo = model_info(name).min_img_size
    return (128, 32) if max(lo) <= 32 else (112, 80)


def _first_weight(model: torch.nn.Module) -> torch.nn.Parameter:
    return next(p for p in model.parameters() if p.ndim in (4, 5))


def test_registry_lists_the_published_architectures():
    assert EXPECTED <= set(list_models())
    for name in list_models():
        info = model_info(name)
        assert info.name == name and info.family in ("cnn", "transformer")
        assert info.is_transformer == (info.family == "transformer")
        assert info.source in ("timm", "torchvision", "osteoscan", "monai") and info.description
        assert info.task in ("classification", "segmentation", "lesion-classification",
                             "segmentation3d")
        assert info.spatial_dims == (3 if info.task == "segmentation3d" else 2)
        assert len(info.default_img_size) == len(info.min_img_size) == info.spatial_dims
    assert {"unet", "basicunet", "attentionunet"} <= set(list_models(task="segmentation"))
    assert len(list_models(task="segmentation3d")) >= 5
    assert list_models(task="lesion-classification") == ["patchcontext"]


# inception_v3 has no tiny variant (24 M parameters): its 1- and 3-channel runs are slow-marked
_FULL_SIZE = {"inception_v3"}
_CASES = [
    pytest.param(name, c, marks=[pytest.mark.slow] if name in _FULL_SIZE and c != 2 else [])
    for name in list_models()
    for c in ((2,) if model_info(name).task == "lesion-classification" else (1, 2, 3))
]


def _forward(name: str, in_chans: int, size: tuple[int, ...]) -> tuple[torch.nn.Module, torch.Tensor]:
    """Build the tiny variant and run a batch of 2 through its task's contract; returns
    the model and a scalar to differentiate."""
    task = model_info(name).task
    if task == "lesion-classification":
        from osteoscan.models.patchcontext import N_TAB

        model = create_model(name, num_classes=1, in_chans=2, img_size=(32, 32), tiny=True)
        logits = model(torch.randn(2, 2, 32, 32), torch.randn(2, 2, 32, 32), torch.randn(2, N_TAB))
        assert logits.shape == (2,)
        return model, logits.sum()
    model = create_model(name, num_classes=3, in_chans=in_chans, img_size=size, tiny=True)
    logits = model(torch.randn(2, in_chans, *size))
    out = 3 + model_info(name).aux_channels
    assert logits.shape == ((2, 3) if task == "classification" else (2, out, *size))
    return model, logits.logsumexp(1).sum()


@pytest.mark.parametrize("name,in_chans", _CASES)
def test_tiny_model_forward_backward(name, in_chans):
    torch.manual_seed(0)
    size = _small_size(name)
    model, scalar = _forward(name, in_chans, size)
    assert sum(p.numel() for p in model.parameters()) < 25e6
    scalar.backward()
    grad = _first_weight(model).grad
    assert _first_weight(model).shape[1] == (2 if model_info(name).task == "lesion-classification" else in_chans)
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_gradcam_layer_resolves_to_an_image_grid(name):
    size = _small_size(name)
    model = create_model(name, in_chans=2, img_size=size, tiny=True).eval()
    info = model_info(name)
    layer = get_module(model, info.gradcam_layer)
    seen = {}
    handle = layer.register_forward_hook(lambda m, i, o: seen.update(out=o))
    with torch.no_grad():
        model(torch.randn(1, 2, *size))
    handle.remove()
    grid = tokens_to_grid(model, name, seen["out"])
    assert grid.ndim == 4 and grid.shape[0] == 1
    h, w = grid.shape[2:]
    assert h > w  # the 4:1 body stays tall on the feature grid
    assert size[0] / h == pytest.approx(size[1] / w, rel=0.35)


@pytest.mark.parametrize("name", ["deit_base", "vit_large_patch16", "swin_base"])
def test_transformers_take_the_native_non_square_size(name):
    model = create_model(name, in_chans=2, img_size=(1024, 256), tiny=True).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 2, 1024, 256))
    assert out.shape == (1, 2)
    if name != "swin_base":
        assert tuple(model.patch_embed.grid_size) == (64, 16)


def test_size_rules_raise_model_errors_naming_the_rule():
    with pytest.raises(ModelError, match="multiples of the 16-pixel patch"):
        create_model("deit_base", img_size=(1000, 256), tiny=True)
    with pytest.raises(ModelError, match="multiples of 32"):
        create_model("swin_base", img_size=(1024, 250), tiny=True)
    with pytest.raises(ModelError, match="minimum"):
        create_model("inception_v3", img_size=(64, 64), tiny=True)
    with pytest.raises(ModelError, match="in_chans"):
        create_model("resnet18", in_chans=4, tiny=True)
    with pytest.raises(ModelError, match="unknown model"):
        create_model("resnet19")
    with pytest.raises(ModelError, match=r"multiples of 16"):
        create_model("unetr3d", img_size=(16, 24, 16), tiny=True)
    with pytest.raises(ModelError, match=r"\(D, H, W\)"):
        create_model("mtunet3d", img_size=(64, 64), tiny=True)
    with pytest.raises(ModelError, match="no module"):
        get_module(create_model("resnet18", tiny=True), "layer9")


def test_tiny_large_models_are_genuinely_tiny():
    for name in (
        "vit_large_patch16",
        "convnext_large",
        "swin_base",
        "vgg16",
        "densenet169",
        "inception_v1",
        "efficientnet_lite0",
    ):
        n = sum(p.numel() for p in create_model(name, img_size=(128, 32), tiny=True).parameters())
        assert n < 1e6, name


def test_public_api_exposes_the_registry():
    import osteoscan as osc

    assert osc.list_models() == list_models()
    assert osc.model_info("inrac18").gradcam_layer == "layer4"


@pytest.mark.parametrize("views", ["stack", "aggregate"])
def test_pipeline_output_feeds_a_model_built_from_the_same_config(views):
    import numpy as np

    from osteoscan.preprocessing import PreprocessConfig, build_pipeline
    from osteoscan.types import BoneScan, StudySource

    rng = np.random.default_rng(0)
    lam = np.zeros((256, 64), np.float32)
    lam[10:240, 16:48] = 5.0
    scan = BoneScan(
        rng.poisson(lam).astype(np.float32),
        rng.poisson(lam).astype(np.float32),
        (2.4, 2.4),
        "p",
        "s",
        (),
        StudySource((), "simulated"),
    )
    pre = PreprocessConfig(views=views, size=(128, 32))
    x = torch.from_numpy(build_pipeline(pre)(scan, None))[None]
    model = create_model("inrac18", in_chans=pre.in_chans, img_size=pre.size, tiny=True).eval()
    with torch.no_grad():
        probs = model(x).softmax(1)
    assert probs.shape == (1, 2) and float(probs.sum()) == pytest.approx(1.0)


def test_vit_dynamic_img_size_maps_tokens_to_the_actual_grid():
    model = create_model("deit_base", img_size=(128, 32), tiny=True, dynamic_img_size=True).eval()
    seen = {}
    get_module(model, "blocks.-1.norm1").register_forward_hook(lambda m, i, o: seen.update(out=o))
    with torch.no_grad():
        assert model(torch.randn(1, 2, 256, 64)).shape == (1, 2)
    assert tokens_to_grid(model, "deit_base", seen["out"]).shape == (1, 32, 16, 4)


def test_model_modules_are_auto_imported_and_register_by_decorator():
    import subprocess
    import sys

    # a fresh interpreter: nothing but the registry's own look-up imports the lesion networks
    code = ("from osteoscan.models import list_models; "
            "print(list_models(task='segmentation'), list_models(task='lesion-classification'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['attentionunet', 'basicunet', 'unet'] ['patchcontext']"
    from osteoscan.models import ModelInfo, register_model

    bad = ModelInfo("x", "cnn", "osteoscan", "", (32, 32), "", False, "x", task="detection")
    with pytest.raises(ModelError, match="task must be one of"):
        register_model(bad)


def test_registry_look_up_does_not_import_monai():
    import subprocess
    import sys

    code = ("import sys; from osteoscan.models import list_models; "
            "assert 'mtunet3d' in list_models(task='segmentation3d'); "
            "sys.exit(1 if 'monai' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=300).returncode == 0
