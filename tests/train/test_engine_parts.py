"""The engine's parts that need no training run: EMA warm-up, metrics, distributed helpers alone."""

import numpy as np
import pytest
import torch

from classmill.evaluate.inputs import validate_predictions
from classmill.evaluate.metrics import compute_overall_metrics
from classmill.train.distributed import gather_rows, shard_range
from classmill.train.step_parts import make_ema
from classmill.train.validation import beats, validation_metrics


def test_ema_of_a_short_run_forgets_its_starting_weights():
    # The EMA starts as a copy of the probed model (weight 1); training then moves the weight to 0
    # and keeps it there for 300 steps (the accurate preset's run length).
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = make_ema(model, decay=0.998)
    with torch.no_grad():
        model.weight.fill_(0.0)
    for step in range(1, 301):
        ema.update(model, step=step)
    # A fixed 0.998 decay keeps 0.998**300 = 55 % of the starting weights; the warm-up keeps none.
    assert float(ema.module.weight.detach()) < 0.01
    # The decay is a function of the step: a restored EMA continues exactly.
    restored = make_ema(model, decay=0.998, saved=ema.module.state_dict())
    assert torch.equal(restored.module.weight, ema.module.weight)
    assert restored.get_decay(301) == ema.get_decay(301) < 0.998


def test_validation_metrics_are_the_reports_definitions():
    classes = ["a", "b", "c"]
    # Image 0's true class is ranked last; class "c" has no images in this split.
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]])
    labels = torch.tensor([0, 0, 1, 1])
    metrics = validation_metrics(logits, labels, classes)
    probs = torch.softmax(logits.double(), 1).numpy()
    report = compute_overall_metrics(validate_predictions(labels.numpy(), probs, classes))
    assert metrics["top1"] == report.accuracy == 0.5
    # top-5 of 3 classes: every class is among the top 5, as the report defines it (was top-2: 0.75).
    assert metrics["top5"] == report.top_k_accuracy[3] == 1.0
    # Macro averages over the classes present, as the report (was over all three: precision 0.5).
    assert metrics["precision"] == report.macro_precision == 0.75
    assert metrics["recall"] == report.macro_recall and metrics["f1"] == report.macro_f1
    assert np.isclose(metrics["loss"], float(torch.nn.functional.cross_entropy(logits, labels)))


def test_a_tie_on_the_select_metric_goes_to_the_later_checkpoint():
    best = {"top1": 0.975, "f1": 0.97, "loss": 0.20}
    assert beats({"top1": 0.975, "f1": 0.97, "loss": 0.25}, best, "top1")  # later, at an equal score
    assert not beats({"top1": 0.96, "f1": 0.99, "loss": 0.01}, best, "top1")  # the select metric comes first
    assert beats({"top1": 0.90, "f1": 0.99, "loss": 0.9}, best, "f1")
    assert beats({"top1": 0.5, "loss": 2.0}, {}, "top1")  # the first candidate is always the best so far


def test_single_process_shard_and_gather_are_identity():
    assert shard_range(7) == range(7)
    rows = torch.arange(6.0).view(3, 2)
    assert gather_rows(rows, 3, torch.device("cpu")) is rows


def test_the_cli_draws_progress_before_training_starts(capsys):
    from classmill.commands.train import _RichReporter
    from classmill.progress import PhaseProgress

    reporter = _RichReporter()
    with reporter:  # rich allows one live display: the phase bars must close before the training bar opens
        PhaseProgress("cache", 40, reporter).advance(40)
        reporter({"type": "start", "resumed": False, "epochs": 1, "steps_per_epoch": 2, "epoch": 0, "step": 0,
                  "train_images": 30, "val_images": 10, "classes": ["a", "b"], "device": "cpu"})
        reporter({"type": "step", "epoch": 0, "step": 2, "loss": 0.5, "images_per_s": 3.0})
    out = capsys.readouterr().out
    assert "decoding images" in out and "40/40" in out and "training: 30 train" in out


def test_a_last_batch_of_one_is_dropped_only_where_batchnorm_would_fail():
    from classmill.train.step_parts import trained_images_per_epoch

    assert trained_images_per_epoch(48, 47, 1) == 47  # the 1-image remainder goes
    assert trained_images_per_epoch(49, 47, 1) == 49  # a remainder of 2 trains
    assert trained_images_per_epoch(48, 8, 1) == 48
    assert trained_images_per_epoch(1, 8, 1) == 1  # a single batch is never emptied
    assert trained_images_per_epoch(51, 8, 2) == 48  # 3 left over: one rank would get 1


def test_training_batchnorm_on_a_remainder_of_one_image_finishes(tiny_config, tmp_path):
    # 48 training images at batch 47 used to end each epoch with a 1-image batch and crash with
    # "Expected more than 1 value per channel when training".
    from classmill.train import train

    config = tiny_config(batch_size=47, epochs=1, freeze_bn=False, head_warmup_steps=0, freeze="none")
    result = train(config, tmp_path / "run")
    assert result.status == "finished" and result.epochs_completed == 1


def test_fixed_first_stages_keep_their_weights_and_batchnorm_statistics(tiny_config, tmp_path):
    # BatchNorm in train mode elsewhere: the fixed stages must keep even their running statistics.
    from classmill.models import create_model, early_stages
    from classmill.train import train
    from classmill.train.checkpoint import load_checkpoint

    config = tiny_config(epochs=1, freeze_bn=False, head_warmup_steps=0, freeze="none", freeze_stages=2)
    run = train(config, tmp_path / "run").run_dir
    trained = load_checkpoint(run / "checkpoints" / "last.pt")["model"]
    pretrained = create_model("efficientnet_lite0", num_classes=3).state_dict()
    fixed = ("conv_stem.", "bn1.", "blocks.0.", "blocks.1.")
    assert all(torch.equal(trained[k], pretrained[k]) for k in pretrained if k.startswith(fixed))
    moved = [k for k in pretrained if k.startswith("blocks.2.") and k.endswith(("weight", "running_mean"))]
    assert moved and all(not torch.equal(trained[k], pretrained[k]) for k in moved)
    model = create_model("efficientnet_lite0", num_classes=3)
    assert early_stages(model, 0) == [model.conv_stem, model.bn1]  # the stem alone


def test_freezing_every_stage_is_refused_before_training(tiny_config, tmp_path):
    from classmill.errors import ConfigError
    from classmill.train import train

    with pytest.raises(ConfigError, match="--freeze-stages 7 would freeze the whole backbone.*at most 6"):
        train(tiny_config(freeze_stages=7), tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_a_tied_checkpoint_is_kept_but_early_stopping_counts_it_as_no_improvement():
    from types import SimpleNamespace

    from classmill.train.engine import Engine

    saved = []
    engine = SimpleNamespace(config=SimpleNamespace(select_metric="top1"), best_metrics={}, best_metric=-1.0,
                             best_epoch=None, stale=0, epoch=0, _identity=dict,
                             _save=lambda which, state: saved.append(state["epoch"]))
    for epoch, top1 in enumerate([0.90, 0.95, 0.95, 0.93, 0.95, 0.97]):
        engine.epoch = epoch
        Engine._record_best(engine, {"top1": top1, "loss": 0.1}, torch.nn.Linear(1, 1))
        if epoch == 4:
            assert engine.stale == 3  # epochs 2 (a tie), 3 (worse) and 4 (a tie) did not improve
    assert saved == [0, 1, 2, 4, 5] and engine.best_epoch == 5 and engine.stale == 0
