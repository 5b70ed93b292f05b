"""The service through FastAPI's TestClient: every endpoint and every 4xx answer."""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from classmill.serve import create_app


@pytest.fixture(scope="module")
def client(colour_bundle):
    app = create_app(colour_bundle, max_upload_mb=0.05, max_batch_files=4, batch_window_ms=2)
    with TestClient(app) as c:
        yield c


def _files(*items: tuple[str, bytes], field: str = "files"):
    return [(field, (name, data, "application/octet-stream")) for name, data in items]


def test_health_and_model(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["classes"] == 4 and len(health["model_sha256"]) == 64
    assert "CPUExecutionProvider" in health["providers"]
    assert set(health["batching"]) >= {"ort_calls", "images", "largest_batch", "batch_sizes"}
    model = client.get("/model").json()
    assert model["labels"] == ["red", "green", "blue", "dark"]
    assert model["preprocess"]["input_size"] == 32 and model["metadata"]["name"] == "colour-test"


def test_predict_one_and_many(client, image_bytes):
    r = client.post("/predict", files=_files(("a.png", image_bytes("red"))))
    assert r.status_code == 200
    [item] = r.json()
    assert item["filename"] == "a.png" and item["label"] == "red" and item["confidence"] > 0.9
    assert len(item["top_k"]) == 4 and item["top_k"][0] == {"label": "red", "prob": item["confidence"]}
    assert "result_image" not in item
    r = client.post(
        "/predict?top_k=2",
        files=_files(("g.jpg", image_bytes("green", fmt="JPEG")), ("b.png", image_bytes("blue")), ("d.png", image_bytes("dark"))),
    )
    assert [(i["filename"], i["label"], len(i["top_k"])) for i in r.json()] == [
        ("g.jpg", "green", 2), ("b.png", "blue", 2), ("d.png", "dark", 2)
    ]


def test_predict_render_returns_png_data_url(client, image_bytes):
    [item] = client.post("/predict?render=true", files=_files(("a.png", image_bytes("blue")))).json()
    assert item["result_image"].startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(item["result_image"].split(",", 1)[1])))
    assert img.format == "PNG" and img.width >= 320


def test_predict_image_returns_png(client, image_bytes):
    r = client.post("/predict/image", files=_files(("a.png", image_bytes("green")), field="file"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size[0] >= 320


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_predict_batch_zip_to_csv(client, image_bytes):
    data = _zip({"x/red.png": image_bytes("red"), "blue.png": image_bytes("blue"), "bad.jpg": b"not an image"})
    r = client.post("/predict/batch?top_k=2", files=_files(("imgs.zip", data), field="file"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "predictions.csv" in r.headers["content-disposition"]
    assert r.headers["x-classmill-images"] == "3" and r.headers["x-classmill-errors"] == "1"
    rows = {row["path"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert rows["x/red.png"]["top1"] == "red" and rows["blue.png"]["top1"] == "blue"
    assert rows["bad.jpg"]["error"] and not rows["bad.jpg"]["top1"]


def test_docs_upload_openapi_are_offline(client):
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/predict/image", "/predict/batch", "/health", "/model"} <= set(schema["paths"])
    for page in ("/docs", "/upload"):
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text), f"{page} loads something from the network"
    assert "/predict/batch" in client.get("/docs").text
    assert client.get("/", follow_redirects=False).headers["location"] == "/upload"


def _problem(r, status: int, code: str, filename: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["detail"] and body["fix"]
    if filename is not None:
        assert body["filename"] == filename and filename in body["detail"]
    return body


def test_non_image_is_415_with_filename(client, image_bytes):
    r = client.post("/predict", files=_files(("ok.png", image_bytes("red")), ("notes.txt", b"hello, not a picture")))
    body = _problem(r, 415, "not_an_image", "notes.txt")
    assert "JPEG" in body["fix"]


def test_damaged_image_is_422(client, image_bytes):
    jpeg = image_bytes("red", fmt="JPEG")
    _problem(client.post("/predict", files=_files(("cut.jpg", jpeg[: len(jpeg) // 2]))), 422, "damaged_image", "cut.jpg")


def test_empty_file_is_422(client):
    _problem(client.post("/predict", files=_files(("empty.png", b""))), 422, "empty_file", "empty.png")


def test_oversize_file_is_413(client):
    big = Image.new("RGB", (200, 200), (200, 10, 10))
    buf = io.BytesIO()
    big.save(buf, "BMP")  # ~120 KB, over the 0.05 MiB cap
    _problem(client.post("/predict", files=_files(("big.bmp", buf.getvalue()))), 413, "file_too_large", "big.bmp")


def test_too_many_files_is_413(client, image_bytes):
    files = _files(*[(f"{i}.png", image_bytes("red")) for i in range(5)])
    _problem(client.post("/predict", files=files), 413, "too_many_files")


def test_request_body_over_cap_is_413_before_parsing(client):
    r = client.post("/predict", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "multipart/form-data; boundary=x"})
    _problem(r, 413, "request_too_large")


def test_chunked_body_over_cap_is_413(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    _problem(r, 413, "request_too_large")


def test_missing_field_and_bad_query_are_422(client, image_bytes):
    body = _problem(client.post("/predict", files=_files(("a.png", image_bytes("red")), field="image")), 422, "invalid_request")
    assert "files" in body["detail"]
    _problem(client.post("/predict?top_k=0", files=_files(("a.png", image_bytes("red")))), 422, "invalid_request")


def test_bad_zip_is_400(client, image_bytes):
    _problem(client.post("/predict/batch", files=_files(("x.zip", b"PK not really"), field="file")), 400, "bad_zip", "x.zip")
    evil = _zip({"../../escape.png": image_bytes("red")})
    body = _problem(client.post("/predict/batch", files=_files(("evil.zip", evil), field="file")), 400, "bad_zip")
    assert "'..'" in body["detail"]


def test_zip_without_images_is_422(client):
    data = _zip({"readme.txt": b"no pictures here"})
    _problem(client.post("/predict/batch", files=_files(("t.zip", data), field="file")), 422, "no_images", "t.zip")
