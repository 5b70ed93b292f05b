import pytest

from support.colour_bundle import COLOUR_LABELS, build_colour_bundle, register_fixtures, two_tone  # noqa: F401

register_fixtures(globals())


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
    from classmill.serve import create_app

    # A window long enough that requests fired together land in one batch even on a slow CI box.
    yield from serve_in_thread(create_app(colour_bundle, batch_window_ms=25, max_batch_size=32))


@pytest.fixture(scope="session")
def strict_live_server(colour_bundle):
    """The same service created with thresholds no answer reaches: every answer is uncertain."""
    from classmill.serve import create_app

    yield from serve_in_thread(create_app(colour_bundle, thresholds={label: 1.0 for label in COLOUR_LABELS}))


def serve_in_thread(app):
    """Run `app` under uvicorn on a free 127.0.0.1 port in a thread; yield its base URL, then stop it."""
    import socket
    import threading
    import time

    import uvicorn

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
