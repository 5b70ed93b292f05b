"""Fixed predictions shared by the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Five classes chosen to hit every awkward case at once:
#   bird has images but is never predicted; fish has no images but is predicted once;
#   frog has no images and is never predicted.
ANIMALS = ["cat", "dog", "bird", "fish", "frog"]
ANIMAL_TRUE = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
ANIMAL_PRED = [0, 0, 0, 1, 1, 1, 0, 3, 0, 1, 1]


def probabilities_with_argmax(predicted: list[int], n_classes: int, seed: int = 0) -> np.ndarray:
    """Random softmax-like rows whose largest entry is exactly `predicted`."""
    rng = np.random.default_rng(seed)
    rows = 0.45 * rng.dirichlet(np.ones(n_classes), size=len(predicted))
    rows[np.arange(len(predicted)), predicted] += 0.55  # >= 0.55 beats anything <= 0.45
    return rows


@pytest.fixture
def animals() -> tuple[np.ndarray, np.ndarray, list[str]]:
    return np.array(ANIMAL_TRUE), probabilities_with_argmax(ANIMAL_PRED, len(ANIMALS)), list(ANIMALS)


@pytest.fixture
def ok_ng() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Binary inspection set: 6 ok, 4 ng (the minority, so the default positive class)."""
    ng_scores = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1, 0.05, 0.02])
    y_true = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    return y_true, np.column_stack([1 - ng_scores, ng_scores]), ["ok", "ng"]


def make_images(folder: Path, count: int, size: tuple[int, int] = (40, 30)) -> list[Path]:
    """Tiny distinct JPEGs; every 3rd is a PNG so more than one decoder is exercised."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        colour = ((index * 37) % 256, (index * 91) % 256, (index * 53) % 256)
        suffix = ".png" if index % 3 == 2 else ".jpg"
        path = folder / f"img_{index:04d}{suffix}"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    return paths
