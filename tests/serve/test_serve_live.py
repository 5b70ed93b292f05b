"""The real server under uvicorn: 32 concurrent clients, right answers, requests merged into batches."""

from __future__ import annotations

import threading

import httpx


def test_concurrent_requests_are_answered_right_and_batched(live_server, image_bytes):
    before = httpx.get(f"{live_server}/health", timeout=10).json()["batching"]
    names = ["red", "green", "blue", "dark"]
    expected = [names[i % 4] for i in range(32)]
    answers: list[object] = [None] * 32
    start = threading.Barrier(32)

    def post(i: int) -> None:
        data = image_bytes(expected[i])
        with httpx.Client(base_url=live_server, timeout=30) as client:
            start.wait()  # fire all 32 at once
            r = client.post("/predict?top_k=2", files={"files": (f"{i}.png", data, "image/png")})
            answers[i] = (r.status_code, r.json())

    threads = [threading.Thread(target=post, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    for i, answer in enumerate(answers):
        assert answer is not None, f"request {i} got no answer"
        status, body = answer
        assert status == 200, body
        assert body[0]["filename"] == f"{i}.png" and body[0]["label"] == expected[i]

    after = httpx.get(f"{live_server}/health", timeout=10).json()["batching"]
    images = after["images"] - before["images"]
    calls = after["ort_calls"] - before["ort_calls"]
    assert images == 32
    print("batching:", calls, "ORT calls for", images, "images;", after)
    assert calls < 32, f"no requests were merged: {after}"
    assert after["largest_batch"] > 1
