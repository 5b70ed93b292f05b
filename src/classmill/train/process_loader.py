"""Training batches from DataLoader worker processes: the same batches as the thread path.

Where a GPU trains faster than a few threads can decode and augment (the GIL serialises their
Python between the C calls), `--loader processes` builds each batch in one of `--workers`
persistent worker processes, pinned for the copy to the GPU, several batches ahead. The sampler
stays in this process and hands each worker a whole batch as (epoch, positions, indices); a worker
makes it with the thread path's SampleMaker, so every sample's augmentation still comes from
generator(seed, epoch, position) and the batches are bit-identical to the thread path's, resumed
or sharded alike.

The image cache reaches the workers without a copy each: see image_cache.ImageCache.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from classmill.errors import UserError
from classmill.train.pipeline import SampleMaker, batch_positions

BatchKey = tuple[int, tuple[int, ...], tuple[int, ...]]  # epoch, positions, image indices

# Batches each worker keeps ready: torch's default, enough to hide one slow (uncached) batch.
PREFETCH_PER_WORKER = 2


def loader_kind(choice: str, device: torch.device) -> str:
    """threads | processes for --loader auto|threads|processes on `device` (auto: see config.py's help)."""
    if choice == "auto":
        return "processes" if device.type == "cuda" else "threads"
    return choice


class _WorkerFailure:
    """A user error raised in a worker, sent back as data: DataLoader would re-raise it with the
    worker's traceback folded into its message, and a user error must read as itself."""

    def __init__(self, error: UserError):
        self.error = error


class _BatchDataset(Dataset):
    def __init__(self, maker: SampleMaker):
        self.maker = maker

    def __getitem__(self, key: BatchKey):
        epoch, positions, indices = key
        try:
            return self.maker.batch(epoch, positions, indices)
        except UserError as exc:
            return _WorkerFailure(exc)


class _EpochPlan(Sampler):
    """The keys of the batches to make next; set before each pass over the loader."""

    def __init__(self) -> None:
        self.keys: list[BatchKey] = []

    def __iter__(self) -> Iterator[BatchKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)


class ProcessBatches:
    """An epoch's batches made by `workers` persistent DataLoader processes (0: in this process).

    pin_memory: page-lock each batch for a faster, asynchronous copy to a CUDA device.
    context: the multiprocessing start method (None: torch's default for the platform).
    """

    def __init__(self, maker: SampleMaker, workers: int, *, pin_memory: bool = False, context: str | None = None):
        self.maker = maker
        self._plan = _EpochPlan()
        self._loader = DataLoader(_BatchDataset(maker), batch_size=None, sampler=self._plan, num_workers=workers,
                                  persistent_workers=workers > 0, pin_memory=pin_memory,
                                  prefetch_factor=PREFETCH_PER_WORKER if workers > 0 else None,
                                  multiprocessing_context=context if workers > 0 else None)
        self._pass = None  # the persistent iterator, which owns the worker processes

    @property
    def labels(self) -> torch.Tensor:
        return self.maker.labels

    def iterate(self, epoch: int, order: Sequence[int], batch_size: int, start_batch: int,
                select: Callable[[list[int]], list[int]] = lambda b: b
                ) -> Iterator[tuple[int, list[int], torch.Tensor, torch.Tensor]]:
        """As TrainingBatches.iterate: (batch_index, positions, x, y) from `start_batch` on."""
        plan = batch_positions(len(order), batch_size, start_batch, select)
        self._plan.keys = [(epoch, tuple(positions), tuple(order[p] for p in positions)) for positions in plan]
        # With persistent workers the loader hands back the same iterator each pass; a pass left
        # early (a stop mid-epoch) has its leftover batches drained by the next one.
        self._pass = iter(self._loader)
        for k, made in enumerate(self._pass):
            if isinstance(made, _WorkerFailure):
                raise made.error
            x, y = made
            yield start_batch + k, plan[k], x, y

    def close(self) -> None:
        """Stop the worker processes now rather than whenever the iterator is collected."""
        shutdown = getattr(self._pass, "_shutdown_workers", None)  # torch's own, also run by its __del__
        if shutdown is not None:
            shutdown()
        self._pass = None
