"""Helpers for dataset import tests: tiny class-folder zips, hostile zips, waiting for a job."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

from support.images import jpeg_bytes, make_class_folders, noise


def zip_folder(folder: Path, target: Path, *, top: str | None = None) -> Path:
    """target.zip holding every file under `folder` (inside `top/` if given)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                zf.write(path, f"{top}/{rel}" if top else rel)
    return target


def class_zip(tmp: Path, classes: dict[str, int], name: str = "data.zip", seed: int = 0) -> Path:
    root = tmp / f"{name}-src"
    make_class_folders(root, classes, seed=seed)
    return zip_folder(root, tmp / name)


def zip_of(entries: dict[str, bytes], target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return target


def small_jpegs(count: int, side: int = 40, seed: int = 0) -> list[bytes]:
    return [jpeg_bytes(noise((side, side), seed=seed * 100_000 + i), quality=70) for i in range(count)]


def wait_for_job(get, job_id: int, seconds: float = 60) -> dict:
    """Poll GET /api/v1/jobs/{id} with `get` (a client's get) until the job ends; returns it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end within {seconds} s: {job}")
