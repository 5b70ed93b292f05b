"""The platform server at scale: `python -m bench server`.

On SQLite and on PostgreSQL, against the real `classmill server` process (see server_process.py):
first-run setup through the API, then one function per measurement — login, token-authenticated
calls, importing the generated zip (images/s and the server's peak RSS, polling the import job),
gallery pages of the newest version, all of it and one class (p50/p99), and thumbnails (p50). A measurement whose route does not exist on this server yet (404/405) is
recorded as "not available yet" with the route it needs, never as a number.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Callable

import httpx

from bench.child import others_busy_cores
from bench.machine import cpu_busy_seconds, wait_for_quiet_machine
from bench.plan import BenchPlan
from bench.server_process import fresh_postgres_schema, make_upload_zip, running_server
from bench.stats import percentile

ADMIN = {"username": "bench", "password": "bench-password-1"}
_MISSING = (404, 405)


class NotAvailable(Exception):
    """The server has no route for this measurement yet."""


def _ms(values: list[float], q: float) -> float | None:
    found = percentile(values, q)
    return None if found is None else round(found, 2)


def _timed(calls: int, call: Callable[[int], httpx.Response]) -> list[float]:
    """Milliseconds per call; any answer other than 2xx stops the measurement with its text."""
    latencies = []
    for i in range(calls):
        start = time.perf_counter()
        response = call(i)
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code in _MISSING:
            raise NotAvailable(f"{response.request.method} {response.request.url.path} answered {response.status_code}")
        response.raise_for_status()
    return latencies


def set_up(base: str) -> str:
    """First-run setup through the API, then an API token for every later call."""
    with httpx.Client(base_url=base, timeout=60) as browser:
        setup = browser.post("/api/v1/setup", json=ADMIN)
        setup.raise_for_status()
        csrf = setup.json()["csrf_token"]
        made = browser.post("/api/v1/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf})
        made.raise_for_status()
        return made.json()["token"]


def measure_login(base: str, calls: int) -> dict:
    """POST /auth/login with the right password: dominated by the argon2 verify (the production cost)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        latencies = _timed(calls, lambda i: client.post("/api/v1/auth/login", json=ADMIN))
    return {"requests": calls, "latency_ms_p50": _ms(latencies, 50), "latency_ms_p99": _ms(latencies, 99)}


def measure_token_calls(api: httpx.Client, calls: int) -> dict:
    """GET /me with a Bearer token: token lookup + one user row, the floor of every API call."""
    latencies = _timed(calls, lambda i: api.get("/api/v1/me"))
    return {"requests": calls, "latency_ms_p50": _ms(latencies, 50), "latency_ms_p99": _ms(latencies, 99)}


def measure_import(api: httpx.Client, server, upload: Path, images: int, timeout_s: float,
                   quiet_wait_s: float = 0.0) -> dict:
    """Create a dataset, stream the zip to POST /datasets/{id}/imports, wait for ready: images/s and peak RSS."""
    made = api.post("/api/v1/datasets", json={"name": "bench", "description": "generated noise"})
    if made.status_code in _MISSING:
        raise NotAvailable(f"POST /api/v1/datasets answered {made.status_code}")
    made.raise_for_status()
    dataset_id = made.json()["id"]
    rss_before = server.high_water_mb()
    quiet = wait_for_quiet_machine(quiet_wait_s) if quiet_wait_s > 0 else None
    busy_before, own_before = cpu_busy_seconds(), cpu_seconds_with(server.pid)
    started = time.perf_counter()
    with open(upload, "rb") as body:
        sent = api.post(f"/api/v1/datasets/{dataset_id}/imports", content=body,
                        headers={"Content-Type": "application/zip", "Content-Length": str(upload.stat().st_size)})
    if sent.status_code in _MISSING:
        raise NotAvailable(f"POST /api/v1/datasets/{{id}}/imports answered {sent.status_code}")
    sent.raise_for_status()
    uploaded_s = time.perf_counter() - started
    job = wait_for_job(api, sent.json()["id"], timeout_s)
    seconds = time.perf_counter() - started
    if job["state"] != "succeeded":
        raise RuntimeError(f"import job {job['id']} ended {job['state']!r}: {job.get('error')}")
    dataset = api.get(f"/api/v1/datasets/{dataset_id}").json()
    if dataset["status"] != "ready":
        raise RuntimeError(f"the import ended with the dataset {dataset['status']!r}: {dataset.get('status_reason')}")
    return {"dataset_id": dataset_id, "version": newest_version(api, dataset_id), "job_id": job["id"],
            "images": images, "upload_s": round(uploaded_s, 2), "seconds": round(seconds, 2),
            "images_per_s": round(images / seconds, 1), "rss_mb_before": rss_before,
            "peak_rss_mb": server.high_water_mb(),
            "server_cpu_s": round(cpu_seconds_with(server.pid) - own_before, 1),
            "others_busy_cores": others_busy_cores(busy_before, cpu_seconds_with(server.pid) - own_before, seconds),
            "quiet_wait": quiet}


def cpu_seconds_with(server_pid: int) -> float:
    """CPU time of this process and of the server process so far: what the import itself costs the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except (OSError, IndexError, ValueError):
        server = 0.0
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + server


def wait_for_job(api: httpx.Client, job_id: int, timeout_s: float) -> dict:
    """Poll GET /jobs/{id} (an import, or a training task's job) until it is no longer queued or running."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = api.get(f"/api/v1/jobs/{job_id}")
        found.raise_for_status()
        job = found.json()
        if job["state"] not in ("queued", "running"):
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['state']!r} ({job['progress_phase']} "
                               f"{job['progress_done']}/{job['progress_total']}) after {timeout_s:.0f} s")
        time.sleep(0.25)


def newest_version(api: httpx.Client, dataset_id: int) -> int:
    """The number of the dataset's newest version (the versions list is newest first)."""
    found = api.get(f"/api/v1/datasets/{dataset_id}/versions", params={"limit": 1})
    found.raise_for_status()
    items = found.json()["items"]
    if not items:
        raise RuntimeError(f"dataset {dataset_id} is ready but has no version")
    return items[0]["number"]


def gallery_path(dataset_id: int, version: int) -> str:
    return f"/api/v1/datasets/{dataset_id}/versions/{version}/images"


def measure_gallery(api: httpx.Client, dataset_id: int, version: int, expected: int, calls: int,
                    label: str | None = None, page_size: int = 200) -> dict:
    """Gallery pages spread over the whole (filtered) version, deep offsets included; the total must be `expected`."""
    url, where = gallery_path(dataset_id, version), ({"label": label} if label else {})
    first = api.get(url, params={"limit": 1, **where})
    if first.status_code in _MISSING:
        raise NotAvailable(f"GET {url} answered {first.status_code}")
    first.raise_for_status()
    if first.json()["total"] != expected:
        raise RuntimeError(f"the gallery{' of ' + label if label else ''} lists {first.json()['total']} images, "
                           f"expected {expected}")
    pages = max(1, expected // page_size)
    latencies = _timed(calls, lambda i: api.get(url, params={"limit": page_size, "offset": (i % pages) * page_size,
                                                             **where}))
    return {"requests": calls, "page_size": page_size, "total": expected, "label": label,
            "latency_ms_p50": _ms(latencies, 50), "latency_ms_p99": _ms(latencies, 99)}


def measure_thumbnails(api: httpx.Client, dataset_id: int, version: int, calls: int) -> dict:
    """Thumbnails named by gallery pages (each fetched once: no client cache)."""
    urls: list[str] = []
    while len(urls) < calls:
        page = api.get(gallery_path(dataset_id, version), params={"limit": 200, "offset": len(urls)})
        page.raise_for_status()
        items = page.json()["items"]
        if not items:
            break
        urls += [item["thumbnail_url"] for item in items]
    urls = urls[:calls]
    if not urls:
        raise NotAvailable("the gallery lists no thumbnail_url")
    latencies = _timed(len(urls), lambda i: api.get(urls[i]))
    return {"requests": len(urls), "latency_ms_p50": _ms(latencies, 50), "latency_ms_p99": _ms(latencies, 99)}


def _attempt(results: dict, name: str, measure: Callable[[], dict]) -> dict | None:
    """Run one measurement into results[name]; a missing route is recorded and printed, not raised."""
    try:
        results[name] = {"status": "ok", **measure()}
    except NotAvailable as missing:
        results[name] = {"status": "not available yet", "reason": str(missing)}
    except Exception as exc:  # noqa: BLE001 - one failed figure must not lose the others
        results[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    if results[name]["status"] != "ok":
        print(f"    {name}: {results[name]['status']} ({results[name]['reason']})", flush=True)
    return results[name] if results[name]["status"] == "ok" else None


def measure_backend(plan: BenchPlan, workdir: Path, backend: str, database_url: str | None, upload: Path) -> dict:
    """Every measurement against one fresh server on one database."""
    results: dict = {"status": "ok"}
    with running_server(workdir / f"workspace-{backend}", database_url, workdir / f"server-{backend}.log") as server:
        results["rss_mb_idle"] = server.high_water_mb()
        token = set_up(server.url)
        _attempt(results, "login", lambda: measure_login(server.url, plan.server_login_requests))
        with httpx.Client(base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as api:
            _attempt(results, "token_call", lambda: measure_token_calls(api, plan.server_token_requests))
            imported = _attempt(results, "import", lambda: measure_import(
                api, server, upload, plan.server_images, plan.server_import_timeout_s, plan.quiet_wait_s))
            if imported is None:
                for name in ("gallery", "gallery_label", "thumbnail"):
                    results[name] = {"status": "not available yet", "reason": "needs the import (above)"}
            else:
                dataset_id, version = imported["dataset_id"], imported["version"]
                per_class = -(-plan.server_images // plan.server_classes)  # class_00 holds images 0, n, 2n, ...
                _attempt(results, "gallery", lambda: measure_gallery(api, dataset_id, version, plan.server_images,
                                                                     plan.server_gallery_requests))
                _attempt(results, "gallery_label", lambda: measure_gallery(
                    api, dataset_id, version, per_class, plan.server_gallery_requests, label="class_00"))
                _attempt(results, "thumbnail", lambda: measure_thumbnails(api, dataset_id, version,
                                                                          plan.server_thumbnail_requests))
    results["peak_rss_mb"] = server.peak_rss_mb
    return results


def run_server_benchmark(plan: BenchPlan, workdir: Path) -> dict:
    print(f"  generating {plan.server_images:,} images ({plan.server_image_px} px) as a zip ...", flush=True)
    upload = workdir / "server-upload.zip"
    results: dict = {"upload": make_upload_zip(upload, plan.server_images, plan.server_classes, plan.server_image_px)}
    results["backends"] = on_both_backends(lambda backend, url: measure_backend(plan, workdir, backend, url, upload))
    return results


def on_both_backends(measure: Callable[[str, str | None], dict]) -> dict:
    """measure(backend, database URL or None for SQLite) on SQLite, then on a throwaway PostgreSQL schema."""
    backends = {}
    print("  SQLite ...", flush=True)
    backends["sqlite"] = _guarded(lambda: measure("sqlite", None))
    print("  PostgreSQL ...", flush=True)
    with fresh_postgres_schema() as url:
        if url is None:
            backends["postgresql"] = {"status": "skipped", "reason": "no PostgreSQL reachable "
                                      "(set CLASSMILL_BENCH_POSTGRES_URL)"}
        else:
            backends["postgresql"] = _guarded(lambda: measure("postgresql", url))
    return backends


def _guarded(run: Callable[[], dict]) -> dict:
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - the server did not start or set up: say why, keep going
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
