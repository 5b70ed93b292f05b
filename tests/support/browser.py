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


# Every <img> inside the viewport has finished (loaded or failed: a broken one is shown as broken).
_VISIBLE_IMAGES_LOADED = """() => [...document.images].every((img) => {
    const box = img.getBoundingClientRect();
    const onScreen = box.width > 0 && box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
    return !onScreen || img.complete;
})"""


@dataclass
class Screenshots:
    """Saves each page as <folder>/<NN-name>.png (a test artefact), and into $CLASSMILL_SCREENSHOT_DIR too."""

    folder: Path
    taken: list[Path] = field(default_factory=list)
    prefix: str = ""  # an area's name, so each area's set sorts together: "<prefix>-NN-<name>.png"

    def take(self, page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        number = f"{len(self.taken) + 1:02d}"
        path = self.folder / (f"{self.prefix}-{number}-{name}.png" if self.prefix else f"{number}-{name}.png")
        # the picture a visitor gets once the page settles: thumbnails on screen loaded, not their grey boxes
        page.wait_for_function(_VISIBLE_IMAGES_LOADED, timeout=15_000)
        page.screenshot(path=str(path))  # the viewport: what a 1366x768 screen shows without scrolling
        self.taken.append(path)
        if os.environ.get(SCREENSHOT_DIR_ENV):
            target = Path(os.environ[SCREENSHOT_DIR_ENV])
            target.mkdir(parents=True, exist_ok=True)
            (target / path.name).write_bytes(path.read_bytes())
        return path


def set_up_admin(page, username: str, password: str) -> None:
    """First-run setup on the setup page (a new server sends every visitor there); ends logged in, on /datasets."""
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name="Create the admin and log in").click()
    page.wait_for_url("**/datasets")


def log_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/datasets")


def fill_task_options(page, options: dict) -> None:
    """Type options into the new-task form's advanced fields (#opt-<name>), opening them first."""
    page.get_by_text("Advanced options").click()
    for name, value in options.items():
        if isinstance(value, bool):
            page.locator(f"#opt-{name}").set_checked(value)
        else:
            page.locator(f"#opt-{name}").fill(str(value))


def ask_to_relabel_first_tiles(page, count: int, label: str) -> None:
    """In a gallery: select the first `count` tiles and ask to relabel them to `label`, up to the confirmation
    dialog (the caller checks it and confirms)."""
    tiles = page.locator("li.tile")
    for i in range(count):
        tiles.nth(i).get_by_role("checkbox").check()
    page.get_by_label("Action").select_option("relabel")
    page.locator("#edit-label").select_option(label)
    page.get_by_role("button", name="Apply…").click()


def first_contentful_paint_ms(page) -> float | None:
    """The current document's first contentful paint, in ms from its navigation's start."""
    return page.evaluate("(performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')"
                         " || {}).startTime ?? null")
