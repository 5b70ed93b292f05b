"""check_model: create_model's refusals, without building the network (a run checks before writing)."""

import pytest

from classmill.errors import ConfigError, ModelNotAvailableError
from classmill.models import check_model, create_model


def test_offline_models_pass_and_return_their_entry():
    assert check_model("efficientnet_lite0", input_size=160).name == "efficientnet_lite0"


@pytest.mark.parametrize("name", ["efficientnet_lte0", "resnet10t"])
def test_check_and_create_refuse_alike(name, empty_weight_caches):
    with pytest.raises(ModelNotAvailableError) as checked:
        check_model(name)
    with pytest.raises(ModelNotAvailableError) as created:
        create_model(name, num_classes=3)
    assert str(checked.value) == str(created.value)


def test_uncached_weights_name_the_cli_flags(empty_weight_caches):
    with pytest.raises(ModelNotAvailableError) as caught:
        check_model("resnet10t")
    assert "--allow-download" in str(caught.value) and "--no-pretrained" in str(caught.value)
    check_model("resnet10t", allow_download=True)
    check_model("resnet10t", pretrained=False)


def test_fixed_size_architectures_refuse_other_sizes():
    with pytest.raises(ConfigError, match="--image-size 224"):
        check_model("vit_tiny_patch16_224", pretrained=False, input_size=160)
    check_model("vit_tiny_patch16_224", pretrained=False, input_size=224)
    check_model("resnet10t", pretrained=False, input_size=160)  # convolutional: any size
