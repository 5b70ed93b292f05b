"""The model registry: name -> architecture, weights source, input size and preprocessing.

One public face over small private modules, as in timm::

    from classmill.models import create_model, default_preprocess
    model = create_model("efficientnet_lite0", num_classes=3)      # offline ImageNet weights
    spec = default_preprocess("efficientnet_lite0")                   # what evaluation/export use

Registered models (list_models()) have offline weights; any other timm architecture name also
works, pretrained only when its weights are already cached or allow_download=True.
check_model() raises what create_model would, without building the network.
"""

from classmill.models._entry import ModelEntry, WeightsSource
from classmill.models._registry import (
    ModelRegistry,
    default_preprocess,
    get_model_entry,
    list_models,
    list_offline_models,
    register_model,
)
from classmill.models import _builtin  # noqa: F401  (registers the shipped models)
from classmill.models._builtin import DEFAULT_MODEL
from classmill.models._factory import check_model, create_model
from classmill.models._labels import pretrained_class_names
from classmill.models._parameters import (BackboneAndHead, backbone_and_head_parameters, early_stages,
                                          set_backbone_trainable)

__all__ = [
    "DEFAULT_MODEL",
    "BackboneAndHead",
    "ModelEntry",
    "ModelRegistry",
    "WeightsSource",
    "backbone_and_head_parameters",
    "check_model",
    "create_model",
    "early_stages",
    "default_preprocess",
    "get_model_entry",
    "list_models",
    "list_offline_models",
    "pretrained_class_names",
    "register_model",
    "set_backbone_trainable",
]
