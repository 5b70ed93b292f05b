"""Headless Debian chromium through Playwright for the browser tests, and a watch on what a page does.

Never `playwright install`: it downloads a browser. CI installs Debian's chromium (.ci/run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
LAPTOP = {"width": 1366, "height": 768}  # the screen the pages are laid out for
# Where the journey also writes its screenshots (the committed set: docs/screenshots), if set.
SCREENSHOT_DIR_ENV = "CLASSMILL_SCREENSHOT_DIR"

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@dataclass
class PageWatch:
    """Console errors, uncaught exceptions and requests to any host but 127.0.0.1, as they happen.

    Chromium also logs "Failed to load resource" for a page whose own answer is a 4xx, such as the
    login form saying "wrong password" with a 401. Those pages are listed in `error_pages` (status,
    path) for the test to expect exactly; they are not script errors. Every other console error counts.
    """

    messages: list[tuple[str, str]] = field(default_factory=list)  # (text, url of the resource it names)
    error_pages: list[tuple[int, str]] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    requests: int = 0
    _page_urls: dict[str, int] = field(default_factory=dict)

    def attach(self, page) -> None:
        page.on("console", lambda message: self.messages.append((message.text, message.location.get("url", "")))
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.messages.append((f"uncaught: {error} ({page.url})", "")))
        page.on("request", self._request)
        page.on("response", self._response)

    @property
    def console_errors(self) -> list[str]:
        return [text for text, url in self.messages
                if not (text.startswith(_FAILED_LOAD) and f"status of {self._page_urls.get(url)} " in text)]

    def _request(self, request) -> None:
        self.requests += 1
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1":
            self.foreign_requests.append(request.url)

    def _response(self, response) -> None:
        if response.status >= 400 and response.request.is_navigation_request():
            self._page_urls[response.url] = response.status
            self.error_pages.append((response.status, urlsplit(response.url).path))


_FAILED_LOAD = "Failed to load resource: the server responded with a status of"


@dataclass
class Screenshots:
    """Saves each page as <folder>/<NN-name>.png (a test artefact), and into $CLASSMILL_SCREENSHOT_DIR too."""

    folder: Path
    prefix: str = ""  # an area's own names (tasks-01-...), so several tests' sets can share a folder
    taken: list[Path] = field(default_factory=list)

    def take(self, page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix + '-' if self.prefix else ''}{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))  # the viewport: what a 1366x768 screen shows without scrolling
        self.taken.append(path)
        if os.environ.get(SCREENSHOT_DIR_ENV):
            target = Path(os.environ[SCREENSHOT_DIR_ENV])
            target.mkdir(parents=True, exist_ok=True)
            (target / path.name).write_bytes(path.read_bytes())
        return path
