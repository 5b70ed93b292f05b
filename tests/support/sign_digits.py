"""A zip of a few classes of ../shared/datasets/sign-digits for the browser tests, with class 7's three
phone originals (3024 px, their JPEG data ends early) that the dataset check refuses with its fix."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

SIGN_DIGITS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "sign-digits"
PHONE_ORIGINALS = ("IMG_5874.JPG", "IMG_5935.JPG", "IMG_5978.JPG")


def sign_digits_zip(path: Path, per_class: int, labels: tuple[str, ...] = ("0", "1", "7")) -> Path:
    """`per_class` 100 px photos of each class in <label>/ folders, plus the phone originals in 7/ (if chosen)."""
    if not SIGN_DIGITS.is_dir():
        pytest.skip(f"needs {SIGN_DIGITS}")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for label in labels:
            files = sorted(p for p in (SIGN_DIGITS / label).iterdir() if p.name not in PHONE_ORIGINALS)[:per_class]
            if label == "7":
                files += [SIGN_DIGITS / label / name for name in PHONE_ORIGINALS]
            for file in files:
                archive.write(file, f"{label}/{file.name}")
    return path
