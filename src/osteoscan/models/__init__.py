"""osteoscan.models: a registry of classification networks with one contract.

Example:
    >>> from osteoscan.models import create_model, list_models, model_info
    >>> model = create_model("convnext_large", num_classes=2, in_chans=2, tiny=True)
    >>> model_info("swin_base").is_transformer
    True
"""

from osteoscan.models._registry import (
    ModelInfo,
    check_img_size,
    create_model,
    get_module,
    list_models,
    model_info,
    register_model,
    tokens_to_grid,
)
from osteoscan.models.init import (
    IMAGENET_LITE0,
    InitReport,
    adapt_rgb_kernels,
    freeze,
    init_from,
    load_efficientnet_lite0_imagenet,
    param_groups,
    unfreeze,
)

__all__ = [
    "IMAGENET_LITE0",
    "InitReport",
    "adapt_rgb_kernels",
    "ModelInfo",
    "check_img_size",
    "create_model",
    "freeze",
    "get_module",
    "init_from",
    "list_models",
    "load_efficientnet_lite0_imagenet",
    "model_info",
    "param_groups",
    "register_model",
    "tokens_to_grid",
    "unfreeze",
]
