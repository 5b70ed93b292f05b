"""An app served by a real uvicorn in a thread of the test process, for responses that must stream.

TestClient runs the app to the end of a response before returning any of it, which a Server-Sent
Events stream never reaches while its job runs; a real server sends each event as it is written.
In-process (not `classmill server`), so a test can give the app its own executor (test job kinds).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import uvicorn

from support.live_server import free_port


@contextmanager
def serving(app, seconds: float = 30) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL, stops the server at the end."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
