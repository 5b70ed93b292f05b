"""Check everything a new run needs, then turn the user's data into the run's fixed, recorded split.

Nothing is written until every check has passed: the run folder, the options against this machine,
the model and its weights, and the data and its split. A mistake therefore leaves `--out` as it
was, and the corrected command into the same folder just works.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from classmill import data
from classmill.data import Dataset
from classmill.data.split import SplitResult, assign_splits, write_split
from classmill.errors import ConfigError, DatasetError, RunStateError
from classmill.progress import ProgressCallback
from classmill.train.config import TrainConfig
from classmill.train.run_dir import RunDirectory

# A run that wrote its config but never reached a checkpoint, and is not running, holds nothing
# worth keeping: a fresh `train` into its folder replaces it (a crash in setup must not lock the
# user out of their --out). "created" is what a run folder reads as before its first status.
_REPLACEABLE_STATUSES = ("created", "failed", "interrupted")
# Report's top-k definition: with this many classes or fewer, every prediction is in the top 5.
_TOP_K = 5


def check_new_run(config: TrainConfig, run: RunDirectory, progress: ProgressCallback | None = None) -> Dataset:
    """Every check a new run needs, writing nothing; returns the dataset with its split assigned."""
    # Here, not at the top: evaluate and export import load_prepared and need no model registry.
    from classmill.models import check_model

    _check_run_folder(run)
    _check_device(config)
    check_model(config.model, pretrained=config.pretrained, allow_download=config.allow_download,
                input_size=config.image_size)
    dataset = _split_for_training(config, progress)
    _check_options_against_data(config, dataset)
    return dataset


def prepare_data(config: TrainConfig, run: RunDirectory, progress: ProgressCallback | None = None) -> Dataset:
    """check_new_run, then write the split into the run folder (replacing a run that never started)."""
    dataset = check_new_run(config, run, progress)
    if run.config.exists():
        _remove_unstarted_run(run)
    run.root.mkdir(parents=True, exist_ok=True)
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


def _check_run_folder(run: RunDirectory) -> None:
    if run.root.exists() and not run.root.is_dir():
        raise RunStateError(f"--out {run.root} is a file; give a new or empty folder for the run.")
    status = run.status().get("status")
    if run.last.exists() or (run.config.exists() and status not in _REPLACEABLE_STATUSES):
        raise RunStateError(f"{run.root} already holds a run; resume it with --resume, extend it with "
                            "--extend, or choose another --out.")


def _remove_unstarted_run(run: RunDirectory) -> None:
    for path in (run.config, run.status_file, run.events, run.labels, run.preprocess, run.metrics,
                 run.root / "control.json"):
        path.unlink(missing_ok=True)
    for folder in (run.manifest.parent, run.best.parent):
        shutil.rmtree(folder, ignore_errors=True)


def _check_device(config: TrainConfig) -> None:
    if config.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: this process sees no CUDA GPU. Use --device auto (a GPU when there "
                              "is one) or --device cpu, or check CUDA_VISIBLE_DEVICES and the driver.")


def _split_for_training(config: TrainConfig, progress: ProgressCallback | None) -> Dataset:
    report = data.check(config.data, root=config.data_root, progress=progress)
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
    if not dataset.in_split("val"):
        given = "--val 0" if config.val == 0 else f"--val {config.val} leaves none"
        raise DatasetError(f"{config.data}: no validation images ({given}, and the data has no val split). "
                           "Training needs them to select the best checkpoint: use --val 0.2, or give the data "
                           "a val split (images/val/<label>/, a val_list.txt, or a CSV split column).")
    untrained = [label for label, count in dataset.counts("train").items() if count == 0]
    if untrained:
        raise DatasetError(f"{config.data}: no training images for {', '.join(map(repr, untrained))}: the model "
                           "could never predict them. Add training images for these classes or remove them.")
    return dataset


def _check_options_against_data(config: TrainConfig, dataset: Dataset) -> None:
    classes = len(dataset.classes)
    if config.select_metric == "top5" and classes <= _TOP_K:
        raise ConfigError(f"--select-metric top5 cannot pick a checkpoint with {classes} classes: every prediction "
                          "is in the top 5, so it is always 1.0. Use --select-metric top1 or f1.")
