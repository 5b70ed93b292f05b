"""The gallery page at 20,000 images, in a browser: `python -m bench.web_gallery [--images N] [--loads 5]`.

`classmill server` (SQLite) in its own process imports bench/server_process.make_upload_zip's distinct noise
JPEGs through the API; then headless Debian chromium (Playwright, never `playwright install`) opens the
gallery of the version, logged in as a person is, in a fresh browser context per load (an empty cache; the
server stays warm). Per load, from the navigation's start (performance.timeOrigin):
  - first contentful paint (performance.getEntriesByType('paint')),
  - the first screen of thumbnails painted: every tile image whose box starts inside the 1366x768 viewport
    reports `complete` with pixels (naturalWidth > 0), checked every animation frame.
Three pages: the first page of all images, the last page (the deepest offset), and one class's first page.
Medians of `--loads` loads; written to bench/results/web_gallery.json and printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.plan import REPO_ROOT
from bench.server_platform import ADMIN, measure_import, set_up
from bench.server_process import make_upload_zip, running_server

CHROMIUM = "/usr/bin/chromium"  # Debian's, as tests/support/browser.py uses it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
OUT = REPO_ROOT / "bench" / "results" / "web_gallery.json"

# True (with the time) once the first screen's thumbnails are all decoded; polled once per animation frame.
_FIRST_SCREEN_DONE = """() => {
  const images = [...document.querySelectorAll('li.tile img')]
      .filter(img => img.getBoundingClientRect().top < window.innerHeight);
  if (!images.length || !images.every(img => img.complete && img.naturalWidth > 0)) return false;
  return {ms: performance.now(), thumbnails: images.length};
}"""
_FCP = """() => (performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || {}).startTime"""


def measure_page(browser, base: str, path: str, loads: int) -> dict:
    """`loads` navigations to `path`, each in a fresh logged-in context: FCP and first-screen-thumbnail times."""
    fcp, thumbs, dom = [], [], []
    shown = None
    for _ in range(loads):
        context = browser.new_context(viewport=VIEWPORT, base_url=base, locale="en-US")
        try:
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Username").fill(ADMIN["username"])
            page.get_by_label("Password").fill(ADMIN["password"])
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/datasets")
            page.goto(path, wait_until="commit")
            done = page.wait_for_function(_FIRST_SCREEN_DONE, polling="raf", timeout=60_000).json_value()
            page.wait_for_load_state("load")
            fcp.append(page.evaluate(_FCP))
            dom.append(page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
            thumbs.append(done["ms"])
            shown = done["thumbnails"]
            header = page.locator("#gallery-count").inner_text()
        finally:
            context.close()
    return {"path": path, "loads": loads, "count_line": header, "first_screen_thumbnails": shown,
            "fcp_ms_median": round(statistics.median(fcp), 1), "fcp_ms_all": [round(v, 1) for v in fcp],
            "dom_content_loaded_ms_median": round(statistics.median(dom), 1),
            "thumbnails_ms_median": round(statistics.median(thumbs), 1),
            "thumbnails_ms_all": [round(v, 1) for v in thumbs]}


def run(images: int, classes: int, loads: int, workdir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    upload = workdir / "upload.zip"
    made = make_upload_zip(upload, images, classes, px=48)
    with running_server(workdir / "workspace", None, workdir / "server.log") as server:
        token = set_up(server.url)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as api:
            imported = measure_import(api, server, upload, images, timeout_s=1800)
        dataset, version = imported["dataset_id"], imported["version"]
        gallery = f"/datasets/{dataset}/versions/{version}/gallery"
        last_page = -(-images // 60)  # the gallery shows 60 a page
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                pages = {name: measure_page(browser, server.url, path, loads) for name, path in (
                    ("first_page", gallery), ("last_page", f"{gallery}?page={last_page}"),
                    ("one_class", f"{gallery}?label=class_07"))}
            finally:
                browser.close()
    return {"measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "database": "sqlite",
            "upload": made, "import_s": imported["seconds"], "viewport": VIEWPORT, "pages": pages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_gallery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-gallery-") as tmp:
        results = run(args.images, args.classes, args.loads, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"{args.images} images imported in {results['import_s']} s; gallery, median of {args.loads} loads:")
    for name, page in results["pages"].items():
        print(f"  {name:10s} first contentful paint {page['fcp_ms_median']:7.1f} ms, first screen of "
              f"{page['first_screen_thumbnails']} thumbnails {page['thumbnails_ms_median']:7.1f} ms  ({page['path']})")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
