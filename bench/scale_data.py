"""The scale benchmark's data: a large folder dataset generated from the shared ones, and held-out originals.

Every class of every source dataset becomes one namespaced class (`casting-ok_front`). Each class's
files are split 80/20 (seeded) into training originals and held-out originals; the generated
dataset holds only re-encoded, randomly transformed copies of the training originals (random crop,
flip, colour jitter, JPEG quality), about as many copies of each original, until the wanted count.
The held-out originals were never copied, so scoring on them measures generalisation, not memory
of the copies. Every copy is a function of (seed, original, copy number): the same files for any
number of processes.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# The platform refuses images with a side of 30 px or less (classmill.data.policy, min_side): copies
# keep at least this much. The longest side is capped so the copies stay about the originals' size
# (the phone photos in sign-digits/7 are 3024 px) and the generation fast.
MIN_SIDE = 32
MAX_SIDE = 320


@dataclass(frozen=True)
class Original:
    path: Path
    label: str  # namespaced: <dataset>-<class>


def split_originals(datasets_dir: Path, sources: tuple[str, ...], held_out: float, seed: int
                    ) -> tuple[list[Original], list[Original]]:
    """(training originals, held-out originals): each class's files split by a seeded shuffle."""
    train, test = [], []
    for dataset in sources:
        for class_dir in sorted(p for p in (datasets_dir / dataset).iterdir() if p.is_dir()):
            files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            random.Random(f"{seed}:{dataset}/{class_dir.name}").shuffle(files)
            cut = round(len(files) * held_out)
            label = f"{dataset}-{class_dir.name}"
            test += [Original(p, label) for p in files[:cut]]
            train += [Original(p, label) for p in files[cut:]]
    return train, test


def copies_per_original(originals: list[Original], images: int, seed: int) -> list[int]:
    """How many copies each original gets: images // len(originals) each, and one more for a
    seeded choice of originals spread over the classes in proportion to their size, so every class
    gets its share (a small plan must not leave a class under the platform's 20-image minimum)."""
    base, extra = divmod(images, len(originals))
    by_class: dict[str, list[int]] = {}
    for i, original in enumerate(originals):
        by_class.setdefault(original.label, []).append(i)
    place = {}
    for label, members in by_class.items():
        random.Random(f"{seed}:{label}").shuffle(members)
        place.update({i: (rank + 0.5) / len(members) for rank, i in enumerate(members)})
    lucky = set(sorted(range(len(originals)), key=lambda i: (place[i], i))[:extra])
    return [base + (i in lucky) for i in range(len(originals))]


def generate(originals: list[Original], out: Path, images: int, *, seed: int, processes: int) -> dict:
    """Write `images` copies of `originals` as out/<label>/<name>_<k>.jpg; figures of the generation."""
    started = time.perf_counter()
    counts = copies_per_original(originals, images, seed)
    for label in {o.label for o in originals}:
        (out / label).mkdir(parents=True, exist_ok=True)
    tasks = [(str(o.path), str(out / o.label), i, n, seed) for i, (o, n) in enumerate(zip(originals, counts)) if n]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        written = sum(pool.imap_unordered(_write_copies, tasks, chunksize=8))
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in out.rglob("*.jpg"))
    return {"images": written, "seconds": round(seconds, 1), "images_per_s": round(written / max(seconds, 1e-9), 1),
            "processes": processes, "megabytes": round(size / 2**20, 1),
            "copies_per_original": [min(counts), max(counts)]}


def _write_copies(task: tuple[str, str, int, int, int]) -> int:
    """All copies of one original, decoded once."""
    from classmill.image import open_rgb

    path, folder, index, count, seed = task
    # Decoded at a reduced JPEG scale where that still leaves MAX_SIDE: the phone photos decode 8x faster.
    original = open_rgb(path, needed_side=MAX_SIDE)
    stem = Path(path).stem
    for k in range(count):
        image, quality = augmented_copy(original, random.Random(f"{seed}:{index}:{k}"))
        image.save(os.path.join(folder, f"{stem}_{k:03d}.jpg"), quality=quality)
    return count


def augmented_copy(image, rng: random.Random):
    """(a random crop (50-100 % of the area, aspect 3:4 to 4:3), flip and colour jitter of `image`,
    resized to MIN_SIDE..MAX_SIDE a side; the JPEG quality to save it at, 60-95)."""
    from PIL import Image, ImageEnhance, ImageOps

    w, h = image.size
    area = w * h * rng.uniform(0.5, 1.0)
    ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    cw, ch = min(w, max(1, round(math.sqrt(area * ratio)))), min(h, max(1, round(math.sqrt(area / ratio))))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.crop((left, top, left + cw, top + ch))
    scale = max(MIN_SIDE / min(cw, ch), min(1.0, MAX_SIDE / max(cw, ch)))
    if scale != 1.0:
        out = out.resize((max(MIN_SIDE, round(cw * scale)), max(MIN_SIDE, round(ch * scale))), Image.BILINEAR)
    if rng.random() < 0.5:
        out = ImageOps.mirror(out)
    # Brightness and contrast (about mid-grey) as one lookup table: a third of the time of Pillow's two
    # enhancers, which decides how long 50,000 copies take.
    brightness, contrast = rng.uniform(0.75, 1.25), rng.uniform(0.75, 1.25)
    out = out.point([min(255, max(0, round((v * brightness - 128) * contrast + 128))) for v in range(256)] * 3)
    out = ImageEnhance.Color(out).enhance(rng.uniform(0.75, 1.25))
    return out, rng.randint(60, 95)
