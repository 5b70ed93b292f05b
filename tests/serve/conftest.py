"""A bundle whose answers are known: it names the dominant colour of the image's top half.

(Kept in step with the copy in tests/infer/conftest.py; test folders do not import each other.)
"""

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


@pytest.fixture(scope="session")
def image_bytes(colours):
    """PNG bytes of a two-tone image whose top half is `top`."""
    import io

    def encode(top: str, bottom: str = "dark", fmt: str = "PNG") -> bytes:
        buf = io.BytesIO()
        two_tone(colours[top], colours[bottom if bottom != top else "red"]).save(buf, fmt)
        return buf.getvalue()

    return encode


@pytest.fixture(scope="session")
def live_server(colour_bundle):
    """The real service under uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from classmill.serve import create_app

    # A window long enough that requests fired together land in one batch even on a slow CI box.
    app = create_app(colour_bundle, batch_window_ms=25, max_batch_size=32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
