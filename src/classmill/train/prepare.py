"""Turn the user's data into the run's fixed, recorded split (validated first, before any training)."""

from __future__ import annotations

import json
from pathlib import Path

from classmill import data
from classmill.data import Dataset
from classmill.data.split import SplitResult, assign_splits, write_split
from classmill.errors import DatasetError, RunStateError
from classmill.train.config import TrainConfig
from classmill.train.run_dir import RunDirectory


def prepare_data(config: TrainConfig, run: RunDirectory) -> Dataset:
    report = data.check(config.data)
    if not report.ok and not config.skip_invalid:
        raise DatasetError(data.errors_message(report) +
                           "\nFix these, or pass --skip-invalid to train on the usable images only.")
    dataset = report.dataset
    if not dataset.records:
        raise DatasetError(f"{config.data}: no usable images.")
    if not dataset.in_split("val"):
        # No split given, or only a training list: split (stably) ourselves and record it.
        pool = Dataset(source=dataset.source, kind=dataset.kind, classes=dataset.classes,
                       records=[r for r in dataset.records if r.split in (None, "train")])
        tests = dataset.in_split("test")
        # A test split the user gave is kept as it is; only otherwise is one carved out.
        split = assign_splits(pool, config.val, 0.0 if tests else config.test, config.seed)
        dataset = Dataset(source=dataset.source, kind=dataset.kind, classes=dataset.classes,
                          records=split.dataset.records + tests, ignored=dataset.ignored)
    if not dataset.in_split("train"):
        raise DatasetError(f"{config.data}: the split leaves no training images; lower --val/--test or add images.")
    write_split(SplitResult(dataset=dataset), run.root / "split", val=config.val, test=config.test, seed=config.seed,
                source_given=config.data)
    return dataset


def load_prepared(run: RunDirectory, data_location: str | Path | None = None) -> Dataset:
    """The run's recorded split, its images found again even if the run or its dataset moved.

    data_location: where the run's dataset is now, if it is no longer where training read it.
    Paths are resolved, not verified: callers check the images they use (data.manifest.verify_images).
    """
    if not run.manifest.is_file():
        raise RunStateError(f"{run.root}: has no {run.manifest.relative_to(run.root)}, so it is not a run folder "
                            "(or its training never got past checking the data). Give the folder `classmill train` wrote.")
    return Dataset.from_manifest(json.loads(run.manifest.read_text(encoding="utf-8")), data_location)
