"""A published endpoint under load next to `classmill serve` on the same bundle: `python -m bench endpoint`.

The platform makes the model the way a user would: `classmill server` (SQLite, fresh workspace) imports
the casting photos as a zip, trains a task with the `fast` preset, and publishes its model version;
the version's bundle is then downloaded and served by `classmill serve`. Both are real uvicorn
processes on loopback ports with their default limits. Each run sends the same requests to both
(one casting JPEG per POST, `concurrency` clients at once, the endpoint with an API token), the two
alternating run by run; the figures are medians over the runs. After the runs the endpoint's own
statistics (GET /api/v1/endpoints/{id}) must have counted every request sent to it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.child import others_busy_cores
from bench.http_load import post_images
from bench.machine import cpu_busy_seconds, wait_for_quiet_machine
from bench.plan import BenchPlan
from bench.serve_load import serve_process
from bench.server_platform import cpu_seconds_with, measure_import, set_up, wait_for_job
from bench.stats import median

ENDPOINT_NAME = "casting-bench"
TARGETS = ("serve", "endpoint")


def _photos(plan: BenchPlan) -> dict[str, list[Path]]:
    root = plan.datasets_dir / plan.endpoint_dataset
    per_class = plan.endpoint_images_per_class or None
    return {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:per_class]
            for d in sorted(root.iterdir()) if d.is_dir()}


def _zip_classes(photos: dict[str, list[Path]], dest: Path) -> int:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as archive:  # JPEGs do not shrink
        for label, paths in photos.items():
            for path in paths:
                archive.write(path, f"{label}/{path.name}")
    return sum(len(paths) for paths in photos.values())


def publish_trained_model(plan: BenchPlan, api: httpx.Client, server, workdir: Path) -> dict:
    """Import, train (preset `plan.endpoint_preset`), publish; the bundle is saved to workdir/model.cmb."""
    upload = workdir / "endpoint-dataset.zip"
    images = _zip_classes(_photos(plan), upload)
    imported = measure_import(api, server, upload, images, timeout_s=600)
    project = api.post("/api/v1/projects", json={"name": "bench", "dataset_id": imported["dataset_id"]})
    project.raise_for_status()
    task = api.post(f"/api/v1/projects/{project.json()['id']}/tasks", json={
        "name": "bench", "dataset_version": imported["version"], "preset": plan.endpoint_preset,
        "options": plan.endpoint_task_options})
    task.raise_for_status()
    job = wait_for_job(api, task.json()["job"]["id"], plan.train_timeout_s)
    if job["state"] != "succeeded":
        raise RuntimeError(f"training job {job['id']} ended {job['state']!r}: {job.get('error')}")
    [version] = api.get(f"/api/v1/tasks/{task.json()['id']}").json()["model_versions"]
    endpoint = api.post("/api/v1/endpoints", json={"model_version_id": version["id"], "name": ENDPOINT_NAME})
    endpoint.raise_for_status()
    bundle = workdir / "model.cmb"
    download = api.get(f"/api/v1/models/{version['id']}/files/model.cmb")
    download.raise_for_status()
    bundle.write_bytes(download.content)
    return {"dataset": plan.endpoint_dataset, "images": images, "import_s": imported["seconds"], "preset": plan.endpoint_preset,
            "task_options": plan.endpoint_task_options, "training_s": version["metrics"].get("training_seconds"),
            "val_accuracy": version["metrics"].get("val", {}).get("accuracy"),
            "input_size": version["config"].get("image_size"), "model": version["config"].get("model"),
            "bundle_bytes": bundle.stat().st_size, "endpoint": endpoint.json(), "bundle": str(bundle)}


def _timed_run(plan: BenchPlan, port: int, path: str, pid: int, images: list[Path], headers: dict | None) -> dict:
    quiet = wait_for_quiet_machine(plan.quiet_wait_s) if plan.quiet_wait_s > 0 else None
    busy_before, cpu_before = cpu_busy_seconds(), cpu_seconds_with(pid)
    load = post_images(port, path, images, requests=plan.endpoint_requests, concurrency=plan.endpoint_concurrency,
                       headers=headers)
    own_cpu = cpu_seconds_with(pid) - cpu_before  # this process's clients and the measured server
    return {**load, "others_busy_cores": others_busy_cores(busy_before, own_cpu, load["seconds"]), "quiet_wait": quiet}


def _summary(runs: list[dict]) -> dict:
    return {"runs": runs,
            "requests_per_s_median": median([r["requests_per_s"] for r in runs]),
            "latency_ms_p50_median": median([r["latency_ms_p50"] for r in runs if r["latency_ms_p50"] is not None]),
            "latency_ms_p99_median": median([r["latency_ms_p99"] for r in runs if r["latency_ms_p99"] is not None]),
            "failed_requests": sum(r["failed_requests"] for r in runs),
            "others_busy_cores_median": median([r["others_busy_cores"] for r in runs
                                                if r["others_busy_cores"] is not None])}


def run_endpoint_benchmark(plan: BenchPlan, workdir: Path) -> dict:
    """{"status": "ok", ...figures} or {"status": "failed", "reason"}: a failure is reported, never hidden."""
    try:
        return {"status": "ok", **_measure(plan, workdir)}
    except Exception as exc:  # noqa: BLE001 - the report names what failed
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}


def _measure(plan: BenchPlan, workdir: Path) -> dict:
    from bench.server_process import running_server

    images = [p for paths in _photos(plan).values() for p in paths]
    results: dict = {"requests_per_run": plan.endpoint_requests, "concurrency": plan.endpoint_concurrency,
                     "runs": plan.endpoint_runs, "distinct_images": len(images)}
    with running_server(workdir / "workspace-endpoint", None, workdir / "server-endpoint.log") as server:
        token = set_up(server.url)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, timeout=120, headers=auth) as api:
            print("  importing, training and publishing on the platform ...", flush=True)
            model = results["model"] = publish_trained_model(plan, api, server, workdir)
            endpoint_path = f"/serve/{ENDPOINT_NAME}/predict"
            with serve_process(Path(model["bundle"]), workdir / "serve-endpoint.log") as served:
                platform_port = urlparse(server.url).port
                where = {"serve": (served.port, "/predict", served.pid, None),
                         "endpoint": (platform_port, endpoint_path, server.pid, auth)}
                for target, (port, path, _, headers) in where.items():  # loads the model, warms both alike
                    warm = post_images(port, path, images, requests=plan.endpoint_warmup_requests,
                                       concurrency=plan.endpoint_concurrency, headers=headers)
                    if warm["failed_requests"]:
                        raise RuntimeError(f"warm-up of {target} failed: {warm['failures_sample']}")
                runs: dict[str, list[dict]] = {t: [] for t in TARGETS}
                for i in range(plan.endpoint_runs):
                    for target in TARGETS:
                        port, path, pid, headers = where[target]
                        print(f"  run {i + 1}/{plan.endpoint_runs}: {target} ...", flush=True)
                        runs[target].append(_timed_run(plan, port, path, pid, images, headers))
            counted = api.get(f"/api/v1/endpoints/{model['endpoint']['id']}").json()
    results["serve"] = {"command": "classmill serve BUNDLE", **_summary(runs["serve"])}
    results["endpoint"] = {"command": f"classmill server, POST {endpoint_path} with a Bearer token",
                           **_summary(runs["endpoint"])}
    sent = plan.endpoint_warmup_requests + plan.endpoint_requests * plan.endpoint_runs
    results["endpoint_statistics"] = {
        "requests_sent": sent, "request_count": counted["request_count"], "error_count": counted["error_count"],
        "mean_latency_ms": counted["mean_latency_ms"], "latency_p50_ms": counted["latency_p50_ms"],
        "latency_p99_ms": counted["latency_p99_ms"]}
    serve_rate, endpoint_rate = results["serve"]["requests_per_s_median"], results["endpoint"]["requests_per_s_median"]
    results["endpoint_vs_serve_throughput"] = round(endpoint_rate / serve_rate, 3) if serve_rate else None
    return results
