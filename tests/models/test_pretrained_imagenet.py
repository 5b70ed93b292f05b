"""The offline weights are really ImageNet weights, loaded into the right architecture with the
right preprocessing: a photo of a cat is classified as a cat."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from classmill.models import create_model, default_preprocess, list_offline_models, pretrained_class_names
from classmill.preprocess import preprocess

skimage_data = pytest.importorskip("skimage.data")

# ImageNet-1k: tabby, tiger cat, Persian, Siamese, Egyptian cat.
_IMAGENET_CATS = range(281, 286)


@pytest.fixture(scope="module")
def chelsea() -> Image.Image:
    return Image.fromarray(skimage_data.chelsea())


@pytest.mark.parametrize("name", list_offline_models())
def test_pretrained_model_sees_a_cat(name, chelsea):
    model = create_model(name, num_classes=None, pretrained=True).eval()
    x = torch.from_numpy(preprocess(chelsea, default_preprocess(name))).unsqueeze(0)
    with torch.no_grad():
        probabilities = model(x).softmax(dim=1)[0]
    top_probability, top_class = probabilities.max(dim=0)
    label = pretrained_class_names(name)[int(top_class)]
    print(f"{name}: top-1 {int(top_class)} {label!r} p={float(top_probability):.3f}")
    assert int(top_class) in _IMAGENET_CATS, label
    # The five cat classes together should dominate; random or misloaded weights spread out.
    assert float(probabilities[281:286].sum()) > 0.8
