"""A bundle whose answers are known: it names the dominant colour of the image's top half.
Used by the infer and serve tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

COLOUR_LABELS = ["red", "green", "blue", "dark"]
COLOURS = {"red": (230, 20, 20), "green": (20, 200, 30), "blue": (25, 30, 220), "dark": (10, 10, 10)}


def build_colour_bundle(out: Path, **export_options) -> Path:
    """Export a hand-weighted torch model: top-half mean colour -> red/green/blue, dark if black."""
    import torch

    from classmill.export import export_bundle
    from classmill.preprocess import PreprocessSpec

    linear = torch.nn.Linear(6, 4)  # inputs: (channel, half) flattened -> index 2*c + half
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
        for c in range(3):
            linear.weight[c, 2 * c] = 5.0
            linear.weight[3, 2 * c] = -1.0
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d((2, 1)), torch.nn.Flatten(), linear)
    spec = PreprocessSpec(input_size=32, resize_size=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    export_bundle(model, spec, COLOUR_LABELS, out, metadata={"name": "colour-test"}, **export_options)
    return out


def two_tone(top: tuple[int, int, int], bottom: tuple[int, int, int], size=(40, 40)) -> Image.Image:
    img = Image.new("RGB", size, bottom)
    img.paste(Image.new("RGB", (size[0], size[1] // 2), top), (0, 0))
    return img




def register_fixtures(namespace: dict) -> None:
    """Define the shared fixtures in a conftest module's namespace."""

    @pytest.fixture(scope="session")
    def colours() -> dict[str, tuple[int, int, int]]:
        return COLOURS

    @pytest.fixture(scope="session")
    def make_two_tone():
        """two_tone(top, bottom, size=(40, 40)) -> PIL image; the bundle answers the top colour."""
        return two_tone

    @pytest.fixture(scope="session")
    def colour_bundle(tmp_path_factory) -> Path:
        return build_colour_bundle(tmp_path_factory.mktemp("bundle") / "colour.cmb")

    @pytest.fixture(scope="session")
    def predictor(colour_bundle):
        from classmill.infer import Predictor

        return Predictor.load(colour_bundle)

    namespace.update(colours=colours, make_two_tone=make_two_tone, colour_bundle=colour_bundle, predictor=predictor)
