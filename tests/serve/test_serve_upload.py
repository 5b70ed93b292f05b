"""The /upload page without a browser: GET is a self-contained form, POST shows the top 5 of one image
(the same numbers as /predict) with the uncertain flag, and a bad file shows the page with the fix."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from classmill.infer import write_bundle_thresholds
from classmill.serve import create_app

MURKY_RED = (160, 120, 40)  # answered "red" with ~0.79


class _Page(HTMLParser):
    """The parts of the page a person reads: ids' text, the top-k rows and the marked elements."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[tuple[str, float]] = []
        self.attrs_by_id: dict[str, dict] = {}
        self.text_by_id: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-prob" in attrs:
            self.rows.append((attrs["data-label"], float(attrs["data-prob"])))
        if "id" in attrs:
            self.attrs_by_id[attrs["id"]] = attrs
            self.text_by_id.setdefault(attrs["id"], "")
            self._open.append(attrs["id"])
        elif tag not in ("img", "input", "br", "meta", "link"):
            self._open.append("")

    def handle_endtag(self, tag):
        if self._open and tag not in ("img", "input", "br", "meta", "link"):
            self._open.pop()

    def handle_data(self, data):
        for element in self._open:
            if element:
                self.text_by_id[element] += data


@pytest.fixture(scope="module")
def murky_png(colours):
    import io

    from support.colour_bundle import two_tone

    buf = io.BytesIO()
    two_tone(MURKY_RED, colours["dark"]).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def client(colour_bundle, tmp_path_factory):
    bundle = write_bundle_thresholds(colour_bundle, {"red": 0.9}, tmp_path_factory.mktemp("u") / "colour.cmb").path
    with TestClient(create_app(bundle, max_upload_mb=0.05)) as c:
        yield c


def test_get_is_a_self_contained_form_that_posts_to_upload(client):
    r = client.get("/upload")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", r.text), "the page loads something from the network"
    assert re.search(r'<form id="form" action="upload" method="post" enctype="multipart/form-data">', r.text)
    page = _Page(r.text)
    assert page.text_by_id["model-name"] == "colour-test"
    assert "4 classes" in page.text_by_id["model-facts"] and "thresholds for 1" in page.text_by_id["model-facts"]
    assert "result" not in page.attrs_by_id and "error" not in page.attrs_by_id
    assert "{{" not in r.text


def test_post_shows_the_top_5_as_predict_answers_them_and_the_uncertain_flag(client, murky_png, image_bytes):
    for name, data, uncertain in (("murky.png", murky_png, True), ("red.png", image_bytes("red"), False)):
        r = client.post("/upload", files={"files": (name, data, "image/png")})
        assert r.status_code == 200, r.text
        [json_answer] = client.post("/predict", files={"files": (name, data, "image/png")}).json()
        page = _Page(r.text)
        assert page.rows == [(t["label"], t["prob"]) for t in json_answer["top_k"]]  # the exact numbers
        assert len(page.rows) == 4  # top 5 of a 4-class model
        assert page.text_by_id["top-label"] == json_answer["label"] == "red"
        assert page.attrs_by_id["result"]["data-uncertain"] == str(uncertain).lower() == str(json_answer["uncertain"]).lower()
        assert page.attrs_by_id["result-image"]["src"].startswith("data:image/png;base64,")
        assert ("uncertain" in page.attrs_by_id) is uncertain
        if uncertain:
            assert "below the 90.0% threshold" in page.text_by_id["uncertain"]
            assert float(page.attrs_by_id["uncertain"]["data-threshold"]) == json_answer["threshold"] == 0.9


# What a browser sends for a form whose file input was left empty (httpx cannot write an empty filename).
_EMPTY_FILE_INPUT = (b'--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
                     b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n")


@pytest.mark.parametrize(
    ("files", "status", "code", "words"),
    [
        ({"files": ("notes.png", b"just text", "image/png")}, 415, "not_an_image", ["notes.png", "JPEG"]),
        (_EMPTY_FILE_INPUT, 422, "no_image", ["No image was chosen"]),
        ({"files": ("big.png", b"x" * 60_000, "image/png")}, 413, "file_too_large", ["big.png"]),
        ({}, 422, "no_image", ["No image was chosen"]),
    ],
)
def test_a_bad_upload_shows_the_page_with_what_is_wrong(client, files, status, code, words):
    if isinstance(files, bytes):
        r = client.post("/upload", content=files, headers={"Content-Type": "multipart/form-data; boundary=b"})
    else:
        r = client.post("/upload", files=files, data={} if files else {"nothing": "here"})
    assert r.status_code == status and r.headers["content-type"].startswith("text/html"), r.text
    page = _Page(r.text)
    assert page.attrs_by_id["error"]["data-code"] == code and "result" not in page.attrs_by_id
    assert all(w in page.text_by_id["error"] for w in words), page.text_by_id["error"]


def test_a_file_name_is_escaped_and_never_substituted(client, murky_png):
    name = "<script>alert(1)</script>{{RESULT}}.png"
    r = client.post("/upload", files={"files": (name, murky_png, "image/png")})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;{{RESULT}}.png" in r.text
