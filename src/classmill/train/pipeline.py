"""Images to training batches: decode once, augment deterministically, prefetch the next batch.

Decoding a JPEG costs more than a lite0 forward at low resolution on a CPU, so each image is
decoded and resized once per run and kept as uint8 (a little above training size); epochs then
only crop, flip and normalise. Evaluation images go through the preprocessing spec exactly, so
validation sees what an exported bundle will see.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image

from classmill.data.records import ImageRecord
from classmill.image import open_rgb
from classmill.preprocess import INTERPOLATIONS, PreprocessSpec, resize_and_crop
from classmill.progress import PhaseProgress
from classmill.train.augment import augment
from classmill.train.seeding import generator



def _to_chw(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def decode_for_eval(record: ImageRecord, spec: PreprocessSpec) -> torch.Tensor:
    """uint8 CHW at input size: exactly classmill.preprocess.resize_and_crop."""
    return _to_chw(resize_and_crop(open_rgb(record.path, needed_side=spec.resize_size), spec))


def decode_for_training(record: ImageRecord, spec: PreprocessSpec) -> torch.Tensor:
    """uint8 CHW with the shorter side at the spec's resize size, the whole image kept (for random crops)."""
    img = open_rgb(record.path, needed_side=spec.resize_size)
    w, h = img.size
    scale = spec.resize_size / min(w, h)
    if scale < 1:  # only shrink: upscaling here would just cost memory
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), INTERPOLATIONS[spec.interpolation])
    return _to_chw(img)


class ImageStore:
    """uint8 tensors for a list of records: all decoded up front (cached) or decoded on each access."""

    def __init__(self, records: list[ImageRecord], decode: Callable[[ImageRecord], torch.Tensor], *,
                 cache: bool, pool: ThreadPoolExecutor, progress: PhaseProgress | None = None):
        self.records = records
        self._decode = decode
        self._pool = pool
        self._cached: list[torch.Tensor] | None = None
        if cache:
            self._cached = []
            for image in pool.map(decode, records):  # results come in record order
                self._cached.append(image)
                if progress is not None:
                    progress.advance()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self._cached[index] if self._cached is not None else self._decode(self.records[index])

    def take(self, indices: range | list[int]) -> list[torch.Tensor]:
        """Several images at once; uncached ones are decoded on the pool's threads."""
        if self._cached is not None:
            return [self._cached[i] for i in indices]
        return list(self._pool.map(lambda i: self._decode(self.records[i]), indices))


def estimated_cache_mb(records: list[ImageRecord], side: int) -> float:
    total = 0.0
    for r in records:
        short, long = sorted((r.width or side, r.height or side))
        total += 3 * side * side * (long / max(short, 1))
    return total / 2**20


def normalize_batch(batch_uint8: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
    return (batch_uint8.float() * (1.0 / 255.0) - mean) / std


def eval_batches(store: ImageStore, spec: PreprocessSpec, batch_size: int, device: torch.device,
                 indices: range | None = None) -> Iterator[torch.Tensor]:
    """The store's images (or those of `indices`) in order, as normalised channels_last batches on
    `device` (no augmentation)."""
    indices = range(len(store)) if indices is None else indices
    for lo in range(0, len(indices), batch_size):
        x = normalize_batch(torch.stack(store.take(indices[lo:lo + batch_size])), spec)
        # channels_last is the faster layout for these convolutions on CPU and GPU (bench/).
        yield x.to(device).contiguous(memory_format=torch.channels_last)


@dataclass
class TrainingBatches:
    """Batches of (normalised images, labels) for one epoch, from a given batch index on."""

    store: ImageStore
    labels: torch.Tensor
    spec: PreprocessSpec
    augment_level: str
    seed: int
    pool: ThreadPoolExecutor  # per-image work
    # Assembling a batch waits on `pool`, so it must run on its own (one-thread) executor: sharing
    # `pool` deadlocks once every worker is a batch waiting for its own images.
    prefetcher: ThreadPoolExecutor

    def _item(self, epoch: int, position: int, index: int) -> torch.Tensor:
        image = self.store[index]
        if self.augment_level == "none":
            if image.shape[1:] == (self.spec.input_size, self.spec.input_size):
                return image
            pil = Image.fromarray(image.permute(1, 2, 0).numpy())
            return _to_chw(resize_and_crop(pil, self.spec))
        return augment(image, self.spec.input_size, self.augment_level, generator(self.seed, epoch, position))

    def _make(self, epoch: int, positions: range, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        items = list(self.pool.map(lambda pi: self._item(epoch, pi[0], pi[1]), zip(positions, indices)))
        return normalize_batch(torch.stack(items), self.spec), self.labels[indices]

    def iterate(self, epoch: int, order: list[int], batch_size: int, start_batch: int,
                select: Callable[[list[int]], list[int]] = lambda b: b
                ) -> Iterator[tuple[int, list[int], torch.Tensor, torch.Tensor]]:
        """Yield (batch_index, positions, x, y): `positions` are the places in `order` that `select`
        kept for this process. The next batch is prepared while the caller trains on this one."""
        starts = list(range(start_batch * batch_size, len(order), batch_size))

        def submit(k: int) -> tuple[list[int], Future]:
            lo = starts[k]
            hi = min(lo + batch_size, len(order))
            positions = range(lo, hi)
            chosen = select(list(positions))
            return chosen, self.prefetcher.submit(self._make, epoch, chosen, [order[p] for p in chosen])

        pending = submit(0) if starts else None
        for k in range(len(starts)):
            current = pending
            pending = submit(k + 1) if k + 1 < len(starts) else None
            positions, future = current
            x, y = future.result()
            yield start_batch + k, positions, x, y


def epoch_order(n: int, epoch: int, seed: int, sample_weights: torch.Tensor | None) -> list[int]:
    """The epoch's sample order: a seeded permutation, or a seeded weighted draw for class balancing."""
    g = generator(seed, epoch, 0xD47A)
    if sample_weights is None:
        return torch.randperm(n, generator=g).tolist()
    return torch.multinomial(sample_weights, n, replacement=True, generator=g).tolist()
