from __future__ import annotations

import pytest

from classmill.errors import ModelNotAvailableError, UserError
from classmill.models import (
    DEFAULT_MODEL,
    ModelEntry,
    ModelRegistry,
    WeightsSource,
    default_preprocess,
    get_model_entry,
    list_models,
    list_offline_models,
    pretrained_class_names,
    register_model,
)
from classmill.preprocess import PreprocessSpec

_SPEC = PreprocessSpec(input_size=64, resize_size=72, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def test_builtin_models_are_the_offline_efficientnet_lites():
    assert {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"} <= set(list_models())
    assert DEFAULT_MODEL == "efficientnet_lite0"
    assert set(list_offline_models()) >= {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}


@pytest.mark.parametrize(
    ("name", "architecture", "size", "resize"),
    [
        ("efficientnet_lite0", "tf_efficientnet_lite0", 224, 256),
        ("efficientnet_lite1", "tf_efficientnet_lite1", 240, 272),
        ("efficientnet_lite2", "tf_efficientnet_lite2", 260, 292),
    ],
)
def test_lite_entries(name, architecture, size, resize):
    entry = get_model_entry(name)
    assert entry.architecture == architecture
    assert entry.weights_source is WeightsSource.OFFLINE_PACKAGE
    assert entry.input_size == size
    spec = default_preprocess(name)
    assert (spec.input_size, spec.resize_size) == (size, resize)
    assert spec.mean == spec.std == (0.5, 0.5, 0.5)
    assert spec.interpolation == "bicubic"


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_describes_itself(name):
    entry = get_model_entry(name)
    assert entry.name == name
    assert entry.description
    assert default_preprocess(name) == entry.preprocess


def test_default_preprocess_at_another_size_keeps_the_crop_ratio():
    spec = default_preprocess("efficientnet_lite0", input_size=112)
    assert (spec.input_size, spec.resize_size) == (112, 128)
    assert spec.mean == (0.5, 0.5, 0.5) and spec.interpolation == "bicubic"


def test_default_preprocess_rejects_a_nonsense_size():
    with pytest.raises(UserError, match="input_size"):
        default_preprocess("efficientnet_lite0", input_size=0)


def test_duplicate_registration_is_refused():
    registry = ModelRegistry()
    entry = ModelEntry(
        name="tiny",
        architecture="resnet10t",
        weights_source=WeightsSource.NONE,
        preprocess=_SPEC,
        description="t",
    )
    registry.register(entry)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(entry)
    assert registry.names() == ["tiny"]


def test_builtin_name_cannot_be_registered_again():
    with pytest.raises(ValueError, match="already registered"):
        register_model(get_model_entry("efficientnet_lite0"))


def test_offline_entry_needs_its_package():
    with pytest.raises(ValueError, match="weights_package"):
        ModelEntry(
            name="x", architecture="resnet10t", weights_source=WeightsSource.OFFLINE_PACKAGE,
            preprocess=_SPEC, description="x",
        )


def test_unknown_name_suggests_the_closest_and_lists_offline_models():
    with pytest.raises(ModelNotAvailableError) as caught:
        get_model_entry("efficientnet-lite0x")
    message = str(caught.value)
    assert "Did you mean 'efficientnet_lite0'?" in message
    assert "efficientnet_lite1" in message and "efficientnet_lite2" in message  # the offline list


def test_unknown_name_far_from_everything_still_names_offline_models():
    with pytest.raises(ModelNotAvailableError, match="offline weights: efficientnet_lite0") as caught:
        get_model_entry("zzzz_qqqq")
    assert "Did you mean" not in str(caught.value)


def test_any_timm_architecture_gets_an_entry_with_timms_preprocessing():
    entry = get_model_entry("resnet10t")
    assert entry.weights_source is WeightsSource.HUB
    assert entry.preprocess.mean == pytest.approx((0.485, 0.456, 0.406))
    assert entry.preprocess.input_size == 176


def test_imagenet_class_names_are_available_offline():
    names = pretrained_class_names("efficientnet_lite0")
    assert len(names) == 1000
    assert "tiger cat" in names[282]
