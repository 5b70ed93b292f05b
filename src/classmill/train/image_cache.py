"""The decoded-image cache: which images it holds within a byte budget, and where they lie.

Decoding a JPEG costs more than augmenting it, so images are decoded once per run where memory
allows. The budget (--cache-max-mb) bounds the cache itself; the images that do not fit are
decoded again each time they are drawn, so a dataset of any size trains in bounded memory.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from classmill.data.records import ImageRecord
from classmill.preprocess import PreprocessSpec


def decoded_bytes(record: ImageRecord, spec: PreprocessSpec, *, training: bool) -> int:
    """What pipeline.decode_for_training (training=True) or decode_for_eval keeps of `record`, in
    bytes, from its header's size (a square at the spec's size when unknown); a training image may
    come out a row of pixels smaller, never larger."""
    if not training:
        return 3 * spec.input_size ** 2
    side = spec.resize_size
    short, long = sorted((record.width or side, record.height or side))
    if short > side:  # shrunk to the resize size, never enlarged
        short, long = side, math.ceil(long * side / short) + 1
    return 3 * short * long


def plan_cache(sizes: Sequence[int], budget: int, draws: Sequence[float] | None = None) -> list[int]:
    """The images (indices, ascending) to cache within `budget` bytes, given each one's decoded size.

    A cached image saves one decode each time it is drawn, so the budget goes to the images drawn
    most per byte: with uniform draws (draws=None: every image once an epoch) the smallest first and,
    among same-sized ones, the first records; with a class-balancing sampler (`draws` = the sampling
    weights) rare-class images first. Beyond that the choice changes nothing: an epoch decodes each
    uncached image about once whichever they are.
    """
    weight = draws if draws is not None else [1.0] * len(sizes)
    chosen, used = [], 0
    for i in sorted(range(len(sizes)), key=lambda i: (-weight[i] / max(sizes[i], 1), i)):
        if used + sizes[i] <= budget:
            chosen.append(i)
            used += sizes[i]
    return sorted(chosen)


class ImageCache:
    """uint8 CHW images packed into a few large buffers that together stay within `budget` bytes.

    A few large buffers rather than a tensor per image: DataLoader worker processes started by fork
    (the Linux default up to Python 3.13) read them copy-on-write, nothing copied per worker; under
    spawn or forkserver (macOS, Windows, Python 3.14 on Linux) torch moves each buffer to shared
    memory once, when the first worker receives it, which per image would cost a file descriptor
    each. Where each image lies is one int64 tensor, not Python objects, so reading it does not
    make the workers' copy-on-write pages private through reference counts.
    """

    CHUNK_BYTES = 64 << 20

    def __init__(self, n: int, budget: int):
        self.budget = budget
        self.chunks: list[torch.Tensor] = []
        self.allocated = 0  # bytes of all buffers: the most this cache can hold in memory
        self.filled = 0  # bytes holding images
        self.count = 0
        self._tail = 0  # bytes used in the last buffer
        self._where = torch.full((n, 5), -1, dtype=torch.int64)  # buffer, offset, channels, height, width

    def add(self, index: int, image: torch.Tensor) -> bool:
        """Keep `image` as image `index`; False (not kept) when it does not fit the budget."""
        size = image.numel()
        if not self.chunks or self._tail + size > self.chunks[-1].numel():
            chunk_size = min(max(self.CHUNK_BYTES, size), self.budget - self.allocated)
            if chunk_size < size:
                return False
            self.chunks.append(torch.empty(chunk_size, dtype=torch.uint8))
            self.allocated += chunk_size
            self._tail = 0
        self.chunks[-1][self._tail:self._tail + size] = image.reshape(-1)
        self._where[index] = torch.tensor([len(self.chunks) - 1, self._tail, *image.shape])
        self._tail += size
        self.filled += size
        self.count += 1
        return True

    def get(self, index: int) -> torch.Tensor | None:
        """Image `index` (a view into its buffer: read, never write), or None when it is not cached."""
        chunk, offset, c, h, w = self._where[index].tolist()
        if chunk < 0:
            return None
        return self.chunks[chunk][offset:offset + c * h * w].view(c, h, w)
