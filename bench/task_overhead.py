"""A training task's overhead: the platform against `classmill train` on the same data (`python -m bench task`).

The same work both ways, each repeated: train the default first-time preset on a shared dataset,
evaluate the validation split with the PDF report, export the FP32 bundle. The CLI runs the three
commands one after the other; the platform runs them as one task through the real server (import
done once, beforehand, and not timed): the time from POST to the model version being ready.
The ratio platform / CLI is the overhead a user pays for the platform (job process start, the
database, progress writes, the CSV over the image store).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

from bench.machine import wait_for_quiet_machine
from bench.plan import BenchPlan
from bench.server_platform import set_up
from bench.server_process import running_server
from bench.stats import median, ratio

SETTLED = ("succeeded", "failed", "stopped", "paused", "interrupted")


def _dataset_folder(plan: BenchPlan, workdir: Path) -> Path:
    """The task dataset (or its first tiny_images_per_class images per class) as class folders."""
    source = plan.datasets_dir / plan.task_dataset
    target = workdir / f"task-{plan.task_dataset}"
    if target.exists():
        return target
    for klass in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(f for f in klass.iterdir() if f.is_file())
        (target / klass.name).mkdir(parents=True)
        for image in files[:plan.tiny_images_per_class or None]:
            shutil.copy(image, target / klass.name / image.name)
    return target


def _options(plan: BenchPlan) -> dict:
    return {"seed": plan.seed, **plan.classmill_overrides}


def _cli_flags(options: dict) -> list[str]:
    return [part for key, value in options.items() for part in (f"--{key.replace('_', '-')}", str(value))]


def measure_cli(plan: BenchPlan, workdir: Path, data: Path, rep: int) -> dict:
    run = workdir / f"cli-run-{rep}"
    steps = {
        "train": [sys.executable, "-m", "classmill", "train", str(data), "--preset", plan.task_preset,
                  "--out", str(run), *_cli_flags(_options(plan))],
        "evaluate": [sys.executable, "-m", "classmill", "evaluate", str(run), "--pdf"],
        "export": [sys.executable, "-m", "classmill", "export", str(run)],
    }
    times = {}
    for name, command in steps.items():
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=plan.train_timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"`classmill {name}` failed: {done.stderr[-1500:]}")
        times[name] = round(time.perf_counter() - started, 2)
    return {**times, "total_s": round(sum(times.values()), 2)}


def measure_platform(api: httpx.Client, plan: BenchPlan, project: int, rep: int) -> dict:
    started = time.perf_counter()
    created = api.post(f"/api/v1/projects/{project}/tasks", json={
        "name": f"bench-{rep}", "dataset_version": 1, "preset": plan.task_preset, "options": _options(plan)})
    created.raise_for_status()
    task_id = created.json()["id"]
    first_progress = None
    while True:
        job = api.get(f"/api/v1/tasks/{task_id}").json()["job"]
        if first_progress is None and job["progress_phase"] not in ("queued", "starting", ""):
            first_progress = time.perf_counter() - started
        if job["state"] in SETTLED:
            break
        time.sleep(0.2)
    total = time.perf_counter() - started
    if job["state"] != "succeeded":
        raise RuntimeError(f"task {task_id} ended {job['state']}: {job['error']}")
    return {"total_s": round(total, 2), "first_progress_s": round(first_progress or total, 2),
            "training_s": job["result"].get("wall_seconds")}


def _import(api: httpx.Client, data: Path, workdir: Path) -> int:
    upload = workdir / "task-data.zip"
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(data.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(data).as_posix())
    dataset = api.post("/api/v1/datasets", json={"name": "bench-task"}).json()["id"]
    with open(upload, "rb") as body:
        job = api.post(f"/api/v1/datasets/{dataset}/imports", content=body,
                       headers={"Content-Type": "application/zip"}).json()
    while (state := api.get(f"/api/v1/jobs/{job['id']}").json())["state"] not in SETTLED:
        time.sleep(0.5)
    if state["state"] != "succeeded":
        raise RuntimeError(f"the import failed: {state['error']}")
    project = api.post("/api/v1/projects", json={"name": "bench-task", "dataset_id": dataset})
    project.raise_for_status()
    return project.json()["id"]


def run_task_benchmark(plan: BenchPlan, workdir: Path) -> dict:
    data = _dataset_folder(plan, workdir)
    results: dict = {"dataset": plan.task_dataset, "images": sum(1 for p in data.rglob("*") if p.is_file()),
                     "preset": plan.task_preset, "options": _options(plan), "repeats": plan.task_repeats,
                     "cli": [], "platform": []}
    with running_server(workdir / "workspace-task", None, workdir / "server-task.log") as server:
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {set_up(server.url)}"}) as api:
            project = _import(api, data, workdir)
            for rep in range(plan.task_repeats):
                # Alternate which goes first, so a drift in the machine's load hits both alike.
                order = ("cli", "platform") if rep % 2 == 0 else ("platform", "cli")
                for side in order:
                    wait_for_quiet_machine(plan.quiet_wait_s)
                    print(f"  {side} {rep + 1}/{plan.task_repeats} ...", flush=True)
                    measured = measure_cli(plan, workdir, data, rep) if side == "cli" \
                        else measure_platform(api, plan, project, rep)
                    results[side].append(measured)
    cli = median([r["total_s"] for r in results["cli"]])
    platform = median([r["total_s"] for r in results["platform"]])
    results["median_cli_s"], results["median_platform_s"] = cli, platform
    results["platform_over_cli"] = ratio(platform, cli)
    results["median_first_progress_s"] = median([r["first_progress_s"] for r in results["platform"]])
    return results
