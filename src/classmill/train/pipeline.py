"""Images to training batches: decode once, augment deterministically, prefetch the next batch.

Decoding a JPEG costs more than a lite0 forward at low resolution on a CPU, so each image is
decoded and resized once per run and kept as uint8 (a little above training size) as far as the
cache budget allows (image_cache.py); epochs then only crop, flip and normalise. Batches are made
on threads here, or by DataLoader worker processes (process_loader.py) from the same SampleMaker.
Evaluation images go through the preprocessing spec exactly, so validation sees what an exported
bundle will see.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from classmill.data.records import ImageRecord
from classmill.image import open_rgb
from classmill.preprocess import INTERPOLATIONS, PreprocessSpec, resize_and_crop
from classmill.progress import PhaseProgress
from classmill.train.augment import augment
from classmill.train.image_cache import ImageCache
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
    """uint8 tensors for a list of records: the records in `cache` decoded once, up front, into an
    ImageCache of `cache_bytes`; every other one (and any the budget turns out too small for)
    decoded again on each access.

    Picklable without its thread pool, so DataLoader worker processes can read it
    (classmill.train.process_loader); `decode` must then be picklable too (a functools.partial).
    """

    def __init__(self, records: list[ImageRecord], decode: Callable[[ImageRecord], torch.Tensor], *,
                 pool: ThreadPoolExecutor, cache: Sequence[int] = (), cache_bytes: int = 0,
                 progress: PhaseProgress | None = None):
        self.records = records
        self._decode = decode
        self._pool = pool
        self.cache = ImageCache(len(records), cache_bytes)
        for i, image in zip(cache, pool.map(lambda i: decode(records[i]), cache)):  # results in `cache` order
            self.cache.add(i, image)
            if progress is not None:
                progress.advance()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.cache.get(index)
        return image if image is not None else self._decode(self.records[index])

    def take(self, indices: range | list[int]) -> list[torch.Tensor]:
        """Several images at once; uncached ones are decoded on the pool's threads."""
        return list(self._pool.map(self.__getitem__, indices))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_pool": None}  # a worker process reads single images, never take()


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
class SampleMaker:
    """Training samples made from (epoch, position in the epoch's order, image index) alone, so they
    come out the same in any thread or process, after any resume."""

    store: ImageStore
    labels: torch.Tensor
    spec: PreprocessSpec
    augment_level: str
    seed: int

    def item(self, epoch: int, position: int, index: int) -> torch.Tensor:
        image = self.store[index]
        if self.augment_level == "none":
            if image.shape[1:] == (self.spec.input_size, self.spec.input_size):
                return image
            pil = Image.fromarray(image.permute(1, 2, 0).numpy())
            return _to_chw(resize_and_crop(pil, self.spec))
        return augment(image, self.spec.input_size, self.augment_level, generator(self.seed, epoch, position))

    def batch(self, epoch: int, positions: Sequence[int], indices: Sequence[int],
              map_items: Callable = map) -> tuple[torch.Tensor, torch.Tensor]:
        """(normalised images, labels) of one batch; `map_items` may spread the items over threads."""
        items = list(map_items(lambda pi: self.item(epoch, pi[0], pi[1]), zip(positions, indices)))
        return normalize_batch(torch.stack(items), self.spec), self.labels[list(indices)]


def batch_positions(n: int, batch_size: int, start_batch: int,
                    select: Callable[[list[int]], list[int]]) -> list[list[int]]:
    """The places in an epoch's order of n samples that each batch from `start_batch` on holds, as
    `select` keeps them for this process (its shard under DDP)."""
    return [select(list(range(lo, min(lo + batch_size, n)))) for lo in range(start_batch * batch_size, n, batch_size)]


@dataclass
class TrainingBatches:
    """An epoch's batches made on threads: each batch's images on `pool`, one batch ahead."""

    maker: SampleMaker
    pool: ThreadPoolExecutor  # per-image work
    # Assembling a batch waits on `pool`, so it must run on its own (one-thread) executor: sharing
    # `pool` deadlocks once every worker is a batch waiting for its own images.
    prefetcher: ThreadPoolExecutor

    @property
    def labels(self) -> torch.Tensor:
        return self.maker.labels

    def iterate(self, epoch: int, order: list[int], batch_size: int, start_batch: int,
                select: Callable[[list[int]], list[int]] = lambda b: b
                ) -> Iterator[tuple[int, list[int], torch.Tensor, torch.Tensor]]:
        """Yield (batch_index, positions, x, y): `positions` are the places in `order` that `select`
        kept for this process. The next batch is prepared while the caller trains on this one."""
        plan = batch_positions(len(order), batch_size, start_batch, select)

        def submit(k: int) -> Future:
            return self.prefetcher.submit(self.maker.batch, epoch, plan[k], [order[p] for p in plan[k]],
                                          self.pool.map)

        pending = submit(0) if plan else None
        for k in range(len(plan)):
            current = pending
            pending = submit(k + 1) if k + 1 < len(plan) else None
            x, y = current.result()
            yield start_batch + k, plan[k], x, y

    def close(self) -> None:
        """Nothing of its own to release: the pools belong to the caller."""


def epoch_order(n: int, epoch: int, seed: int, sample_weights: torch.Tensor | None) -> list[int]:
    """The epoch's sample order: a seeded permutation, or a seeded weighted draw for class balancing."""
    g = generator(seed, epoch, 0xD47A)
    if sample_weights is None:
        return torch.randperm(n, generator=g).tolist()
    return torch.multinomial(sample_weights, n, replacement=True, generator=g).tolist()
