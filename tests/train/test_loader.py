"""Training batches: worker processes make exactly the thread loader's batches, and the image cache
holds what its budget allows, the rest decoded on the fly, without changing a single batch."""

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
import torch

from classmill.data import load
from classmill.models import default_preprocess
from classmill.train import read_events, train
from classmill.train.image_cache import ImageCache, decoded_bytes, plan_cache
from classmill.train.pipeline import ImageStore, SampleMaker, TrainingBatches, decode_for_training, epoch_order
from classmill.train.process_loader import ProcessBatches, loader_kind
from support.images import csv_of_copies, noise, save

SEED = 3


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """40 noise images of three sizes (so the cache packs different shapes), in two classes."""
    root = tmp_path_factory.mktemp("mixed")
    for i in range(40):
        save(noise([(48, 40), (36, 60), (64, 64)][i % 3], seed=i), root / "ab"[i % 2] / f"{i:02d}.jpg")
    return load(root).records


@pytest.fixture()
def spec():
    return default_preprocess("efficientnet_lite0", 32)  # decoded with the shorter side at 37 px


def _epoch(batches, epoch, order, start, select=lambda p: p, stop_after=None):
    out = []
    for k, positions, x, y in batches.iterate(epoch, order, 8, start, select=select):
        out.append((k, positions, x, y))
        if stop_after is not None and len(out) == stop_after:
            break  # as a stop request leaves an epoch
    return out


@pytest.mark.parametrize("level", ["light", "strong"])
def test_worker_processes_make_the_thread_loaders_batches(records, spec, level):
    n = len(records)
    labels = torch.tensor([r.label == "b" for r in records], dtype=torch.int64)
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(1) as prefetcher:
        # Every other image cached: the workers read some from the cache and decode the others.
        store = ImageStore(records, partial(decode_for_training, spec=spec), pool=pool, cache=range(0, n, 2),
                           cache_bytes=1 << 20)
        assert store.cache.count == (n + 1) // 2
        maker = SampleMaker(store, labels, spec, level, SEED)
        threads, processes = TrainingBatches(maker, pool, prefetcher), ProcessBatches(maker, workers=2)
        try:
            passes = [  # (epoch, start batch, this process's share of a batch, batches before a stop)
                (0, 0, lambda p: p, None),
                (1, 0, lambda p: p, 1),  # stopped after one batch: its prefetched batches are dropped
                (1, 2, lambda p: p, None),  # resumed mid-epoch
                (2, 1, lambda p: p[1::2] or p[-1:], None),  # rank 1 of 2 under DDP
            ]
            for epoch, start, select, stop_after in passes:
                order = epoch_order(n, epoch, SEED, None)
                expected = _epoch(threads, epoch, order, start, select, stop_after)
                got = _epoch(processes, epoch, order, start, select, stop_after)
                assert [(k, p) for k, p, _, _ in got] == [(k, p) for k, p, _, _ in expected]
                assert len(expected) == (1 if stop_after else -(-n // 8) - start)
                for (_, _, x1, y1), (_, _, x2, y2) in zip(expected, got):
                    assert x1.dtype == x2.dtype == torch.float32
                    assert torch.equal(x1, x2) and torch.equal(y1, y2)
            # The augmentation really is random per sample and epoch: the epochs differ.
            first = _epoch(threads, 0, list(range(n)), 0)[0][2]
            assert not torch.equal(first, _epoch(threads, 1, list(range(n)), 0)[0][2])
        finally:
            processes.close()


@pytest.mark.slow  # each spawned worker imports torch afresh
def test_spawned_workers_make_the_same_batches_from_one_shared_cache(records, spec):
    """spawn (macOS, Windows) pickles the dataset to each worker: the cache buffers go to shared memory once."""
    n = len(records)
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(1) as prefetcher:
        store = ImageStore(records, partial(decode_for_training, spec=spec), pool=pool, cache=range(0, n, 2),
                           cache_bytes=1 << 20)
        maker = SampleMaker(store, torch.zeros(n, dtype=torch.int64), spec, "strong", SEED)
        processes = ProcessBatches(maker, workers=2, context="spawn")
        try:
            order = epoch_order(n, 0, SEED, None)
            expected = _epoch(TrainingBatches(maker, pool, prefetcher), 0, order, 1)
            got = _epoch(processes, 0, order, 1)
            assert len(got) == len(expected) == 4
            assert all(torch.equal(a[2], b[2]) for a, b in zip(expected, got))
            assert [chunk.is_shared() for chunk in store.cache.chunks] == [True]
        finally:
            processes.close()


def test_no_workers_makes_the_same_batches_in_this_process(records, spec):
    n = len(records)
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(1) as prefetcher:
        store = ImageStore(records, partial(decode_for_training, spec=spec), pool=pool)
        maker = SampleMaker(store, torch.zeros(n, dtype=torch.int64), spec, "light", SEED)
        order = epoch_order(n, 4, SEED, None)
        expected = _epoch(TrainingBatches(maker, pool, prefetcher), 4, order, 0)
        got = _epoch(ProcessBatches(maker, workers=0), 4, order, 0)
        assert len(got) == len(expected) == 5 and all(torch.equal(a[2], b[2]) for a, b in zip(expected, got))


def test_a_broken_image_in_a_worker_raises_the_users_error(records, spec, tmp_path):
    from classmill.errors import DatasetError

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    bad = [dataclasses.replace(records[0], path=broken, ref="broken.jpg")]
    with ThreadPoolExecutor(1) as pool:
        store = ImageStore(bad, partial(decode_for_training, spec=spec), pool=pool)
        processes = ProcessBatches(SampleMaker(store, torch.zeros(1, dtype=torch.int64), spec, "light", 0), 1)
        try:
            with pytest.raises(DatasetError, match="broken.jpg: cannot be decoded"):
                list(processes.iterate(0, [0], 8, 0))
        finally:
            processes.close()


def test_the_cache_keeps_what_its_budget_holds_and_decodes_the_rest(records, spec):
    decode = partial(decode_for_training, spec=spec)
    sizes = [decoded_bytes(r, spec, training=True) for r in records]
    for size, record in zip(sizes, records):  # from the header: at most a row or two above the truth
        assert 0 <= size - decode(record).numel() <= 2 * 3 * 37
    budget = sum(sizes) // 2
    planned = plan_cache(sizes, budget)
    with ThreadPoolExecutor(2) as pool:
        half = ImageStore(records, decode, pool=pool, cache=planned, cache_bytes=budget)
        none = ImageStore(records, decode, pool=pool)
    assert 0.4 * len(records) <= half.cache.count == len(planned) <= 0.6 * len(records)
    assert half.cache.allocated <= budget and half.cache.filled <= budget
    # The smallest (36 px wide) images first, as they buy more cached images per byte; no 64 x 64 one.
    assert sorted(planned) == planned
    assert {i for i, s in enumerate(sizes) if s == min(sizes)} < set(planned)
    assert not {i for i, s in enumerate(sizes) if s == max(sizes)} & set(planned)
    for i in range(len(records)):
        assert (half.cache.get(i) is not None) == (i in planned)
        assert torch.equal(half[i], none[i])


def test_the_cache_budget_follows_the_samplers_draws():
    # Same sizes: the two images drawn three times as often come first, then record order.
    assert plan_cache([10] * 5, 30, draws=[1, 3, 1, 3, 1]) == [0, 1, 3]
    assert plan_cache([10] * 5, 30) == [0, 1, 2]
    assert plan_cache([10, 50, 10], 25) == [0, 2]  # what does not fit is skipped, smaller ones still go in
    assert plan_cache([10], 0) == []


def test_a_cache_never_allocates_beyond_its_budget():
    cache = ImageCache(4, budget=100)
    image = torch.arange(48, dtype=torch.uint8).view(3, 4, 4)
    assert cache.add(0, image) and cache.add(1, image)
    assert not cache.add(2, image)  # 96 bytes used of 100
    assert cache.allocated == 100 and cache.count == 2 and cache.get(2) is None
    assert torch.equal(cache.get(1), image)


def test_auto_loader_is_processes_on_cuda_only():
    assert loader_kind("auto", torch.device("cpu")) == "threads"
    assert loader_kind("auto", torch.device("cuda")) == "processes"
    assert loader_kind("processes", torch.device("cpu")) == "processes"


@pytest.fixture(scope="module")
def photos_csv(shared_datasets, tmp_path_factory):
    """20 photos (224 px) of each of 3 imagenette-mini classes: at 112 px each decodes to 37 KB."""
    return csv_of_copies(shared_datasets / "imagenette-mini", ("chain_saw", "church", "golf_ball"), 20,
                         tmp_path_factory.mktemp("photos"), "photos.csv")


@pytest.mark.slow
def test_worker_processes_and_a_half_cache_train_exactly_like_threads_and_a_full_cache(tmp_path, photos_csv):
    from classmill.train import resolve_config

    def run(name, **options):
        config = resolve_config("balanced", data=str(photos_csv), image_size=112, batch_size=8, epochs=1,
                                warmup_epochs=0.0, workers=2, head_warmup_steps=0, **options)
        result = train(config, tmp_path / name)
        assert result.status == "finished"
        events = read_events(tmp_path / name / "events.jsonl")
        history = json.loads((tmp_path / name / "metrics.json").read_text())["history"]
        return events, history

    full_events, full = run("threads", loader="threads")
    half_events, half = run("processes", loader="processes", cache_max_mb=1)
    start = next(e for e in full_events if e["type"] == "start")
    assert start["loader"] == "threads" and start["cached_images"] == start["train_images"] + start["val_images"]
    start = next(e for e in half_events if e["type"] == "start")
    assert start["loader"] == "processes" and start["cache_budget_mb"] == 1 and start["cache_mb"] <= 1
    # 1 MB holds 27 of the 48 training images (37.6 KB each) and no validation image.
    assert 0.4 * start["train_images"] <= start["cached_images"] <= 0.6 * start["train_images"]
    cache = [e for e in half_events if e.get("phase") == "cache"]
    assert cache[-1]["done"] == cache[-1]["total"] == start["cached_images"]  # the phase counts what is cached
    assert [h["epoch"] for h in full] == [h["epoch"] for h in half] == [1]
    for a, b in zip(full, half):  # the same batches, so the same training
        assert a["train_top1"] == b["train_top1"]
        assert (a["val"]["top1"], a["val"]["f1"]) == (b["val"]["top1"], b["val"]["f1"])
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-6 and abs(a["val"]["loss"] - b["val"]["loss"]) < 1e-6
