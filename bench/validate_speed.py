"""Validation / import speed: `classmill.data.check` vs a naive full-decode check, on 10,000 images.

The corpus is made once (kept in the system temp folder and reused by later runs) from the
shared cifar10-mini and casting images: every file is a re-encoding of a source image with its
index written into a row of pixels and its own JPEG quality, so no two files hash alike and
the duplicate rule sees 10,000 distinct images, as in a real import.

Peers, interleaved repeat by repeat so load from other processes hits all alike, after one
untimed pass that puts every file in the page cache for all of them:
- classmill.data.check (default policy: header, hash and end-marker per file, threads);
- classmill.data.check with DatasetPolicy(deep=True) (decodes every pixel too);
- naive: PIL open + load + convert("RGB") for every image, one after another, as a user
  script checking its images would do.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

import classmill.data
from bench.child import others_busy_cores
from bench.machine import cpu_busy_seconds, wait_for_quiet_machine
from bench.plan import BenchPlan
from bench.stats import median, ratio

_SOURCES = ("cifar10-mini", "casting")
_CORPUS_VERSION = 2
_INDEX_BITS = 16


def corpus_dir(count: int) -> Path:
    return Path(tempfile.gettempdir()) / "classmill-bench" / f"check-corpus-{count}-v{_CORPUS_VERSION}"


def _sources(datasets_dir: Path) -> list[tuple[Path, str]]:
    found = []
    for name in _SOURCES:
        for class_dir in sorted(p for p in (datasets_dir / name).iterdir() if p.is_dir()):
            found += [(p, class_dir.name) for p in sorted(class_dir.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg")]
    return found


def _variant(pixels: np.ndarray, index: int) -> np.ndarray:
    """The source with `index` written in black/white pixels along its top row: unique content."""
    out = pixels.copy()
    bits = [(index >> b) & 1 for b in range(_INDEX_BITS)]
    width = out.shape[1]
    for b, bit in enumerate(bits):
        x = b * width // _INDEX_BITS
        out[0:2, x:x + max(1, width // _INDEX_BITS)] = 255 * bit
    return out


def make_corpus(datasets_dir: Path, count: int) -> Path:
    """count images in <class>/ folders (reused when a complete one exists)."""
    root = corpus_dir(count)
    ready = root / ".complete"
    if ready.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    sources = _sources(datasets_dir)
    # Mixed order, so any count draws from every class of both datasets.
    random.Random(0).shuffle(sources)
    decoded = {}
    for path, _label in sources:
        with Image.open(path) as img:
            decoded[path] = np.asarray(img.convert("RGB"))
    for label in {label for _, label in sources[:count]}:
        (root / label).mkdir(parents=True, exist_ok=True)

    def write(index: int) -> None:
        path, label = sources[index % len(sources)]
        pixels = _variant(decoded[path], index)
        Image.fromarray(pixels).save(root / label / f"{path.stem}_{index:05d}.jpg", quality=70 + index % 25)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(write, range(count)))
    ready.write_text(f"{count}\n")
    return root


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.jpg"))


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _naive_check(files: list[Path]) -> int:
    bad = 0
    for path in files:
        try:
            with Image.open(path) as img:
                img.load()
                img.convert("RGB")
        except Exception:  # noqa: BLE001 - a naive script counts any failure as a bad image
            bad += 1
    return bad


def run_validation(plan: BenchPlan) -> dict:
    print(f"  preparing {plan.check_images} distinct images (once; kept in {corpus_dir(plan.check_images)}) ...",
          flush=True)
    started = time.perf_counter()
    root = make_corpus(plan.datasets_dir, plan.check_images)
    files = _files(root)
    made_s = time.perf_counter() - started
    for path in files:  # page cache warm for every peer alike
        path.read_bytes()

    peers = {
        "classmill_check": lambda: classmill.data.check(root),
        "classmill_check_deep": lambda: classmill.data.check(root, classmill.data.DatasetPolicy(deep=True)),
        "naive_decode": lambda: _naive_check(files),
    }
    seconds: dict[str, list[float]] = {name: [] for name in peers}
    quiet = wait_for_quiet_machine(plan.quiet_wait_s) if plan.quiet_wait_s > 0 else None
    timed_from, busy_before, own_before = time.perf_counter(), cpu_busy_seconds(), _own_cpu_seconds()
    outcomes: dict[str, object] = {}
    for repeat in range(plan.check_repeats):
        print(f"  repeat {repeat + 1}/{plan.check_repeats} ...", flush=True)
        for name, run in peers.items():
            start = time.perf_counter()
            outcomes[name] = run()
            seconds[name].append(time.perf_counter() - start)

    timed_s = time.perf_counter() - timed_from
    others = others_busy_cores(busy_before, _own_cpu_seconds() - own_before, timed_s)
    report = outcomes["classmill_check"]
    results = {
        "corpus": {"dir": str(root), "images": len(files), "classes": len({p.parent.name for p in files}),
                   "bytes": sum(p.stat().st_size for p in files), "sources": list(_SOURCES),
                   "prepare_s": round(made_s, 1)},
        "classmill_report": {"ok": report.ok, "files_checked": report.files_checked,
                             "usable_images": len(report.dataset.records), "errors": len(report.errors),
                             "warnings": len(report.warnings)},
        "naive_bad_images": outcomes["naive_decode"],
        "others_busy_cores": others,
        "quiet_wait": quiet,
        "peers": {},
    }
    for name, values in seconds.items():
        rate = len(files) / median(values)
        results["peers"][name] = {"seconds": [round(v, 2) for v in values], "images_per_s_median": round(rate, 1)}
    naive_rate = results["peers"]["naive_decode"]["images_per_s_median"]
    for name, peer in results["peers"].items():
        peer["vs_naive"] = ratio(peer["images_per_s_median"], naive_rate)
    return results
