"""One typed configuration tree, validated on load (docs/configuration.md lists every key).

* :mod:`osteoscan.config.train`: ``osteoscan train`` (:class:`TrainConfig`);
* :mod:`osteoscan.config.study`: ``osteoscan compare`` (:class:`Study`) and
  ``osteoscan lesions compare`` (:class:`LesionStudy`);
* :mod:`osteoscan.config.demo`: ``osteoscan demo`` (:class:`DemoPlan`);
* :mod:`osteoscan.config.core`: YAML, ``--set key=value`` overrides and the validation
  they share; every problem is a :class:`~osteoscan.errors.ConfigError` naming the file
  and the key path.

Torch-free: it sits below training, evaluation and the lesion stage.
"""

from osteoscan.config.core import apply_overrides, read_yaml, to_dict, validate
from osteoscan.config.study import (
    Arm,
    LesionStudy,
    Study,
    arm_config,
    load_lesion_study,
    load_study,
    parse_study,
)
from osteoscan.config.train import (
    TrainConfig,
    config_to_dict,
    load_config,
    resolve_config,
    save_config,
)

__all__ = [
    "Arm", "LesionStudy", "Study", "TrainConfig", "apply_overrides", "arm_config",
    "config_to_dict", "load_config", "load_lesion_study", "load_study", "parse_study",
    "read_yaml", "resolve_config", "save_config", "to_dict", "validate",
]
