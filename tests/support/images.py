"""Make small real image files for tests (the shared datasets cover the ordinary cases)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

SHARED_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def solid(size=(48, 48), color=(200, 30, 30), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def noise(size=(48, 48), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def save(img: Image.Image, path: Path, fmt: str | None = None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt, **kwargs)
    return path


def make_class_folders(root: Path, classes: dict[str, int], size=(48, 48), seed=0) -> list[Path]:
    """root/<label>/<label>_<i>.jpg with distinct random content."""
    paths = []
    for ci, (label, n) in enumerate(classes.items()):
        for i in range(n):
            paths.append(save(noise(size, seed=seed * 100_000 + ci * 10_000 + i), root / label / f"{label}_{i:03d}.jpg"))
    return paths


def jpeg_bytes(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def exif_rotated_jpeg(path: Path, size=(60, 40), orientation=6) -> Path:
    img = noise(size, seed=7)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(img, path, "JPEG", exif=exif.tobytes())


def huge_png(path: Path, side: int = 20000) -> Path:
    """A real, valid side x side greyscale PNG written row by row (never held in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * side  # filter byte + one byte per pixel
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def csv_of_copies(source: Path, classes, per_class: int, folder: Path, name: str = "data.csv") -> Path:
    """A `path,label` CSV of the first `per_class` images of each class of `source`, copied beside it.

    Copied, not pointed at: a CSV's paths must stay inside its own folder (paths leaving it are refused).
    """
    import shutil

    rows = []
    for label in classes:
        for image in sorted((source / label).iterdir())[:per_class]:
            (folder / label).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, folder / label / image.name)
            rows.append(f"{label}/{image.name},{label}\n")
    path = folder / name
    path.write_text("".join(rows), encoding="utf-8")
    return path
