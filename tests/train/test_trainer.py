import json

import pytest
import torch
import yaml

from classmill.errors import ConfigError, DatasetError, RunStateError
from classmill.train import extend, load_trained_model, read_events, resolve_config, resume, train
from classmill.train.checkpoint import load_checkpoint
from classmill.train.control import request
from support.images import make_class_folders


def test_tiny_run_writes_every_run_file(tiny_config, tmp_path):
    seen = []
    result = train(tiny_config(), tmp_path / "run", callbacks=(seen.append,))
    run = tmp_path / "run"
    assert result.status == "finished" and result.epochs_completed == 2
    # The data check runs before the run folder may be written, so its progress reaches the
    # callbacks (the CLI) only, first of all; events.jsonl starts with what follows it.
    checking = [e for e in seen if e.get("phase") == "check"]
    assert seen[0] == checking[0] and checking[-1]["done"] == checking[-1]["total"] == 60
    for name in ("config.yaml", "events.jsonl", "labels.txt", "preprocess.json", "metrics.json", "status.json",
                 "checkpoints/last.pt", "checkpoints/best.pt", "split/manifest.json", "split/train_list.txt"):
        assert (run / name).is_file(), name
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["image_size"] == 32 and config["preset"] == "balanced" and config["schedule"] == [[0, 2, 0.001]]
    assert (run / "labels.txt").read_text().split() == ["airplane", "automobile", "bird"]
    events = read_events(run / "events.jsonl")
    kinds = [e["type"] for e in events if e["type"] != "progress"]
    assert kinds[0] == "start" and kinds[-1] == "status" and kinds.count("epoch") == 2 and "step" in kinds
    assert kinds[1] == "head_warmup"  # the balanced preset fits the head on cached features first
    # The silent minutes before training (decoding, the probe's feature pass and fit) report progress,
    # each phase from 0 to its total, all before "start"; after training, the temperature fit on val.
    progress = [e for e in events if e["type"] == "progress"]
    before = [e for e in progress if e["phase"] != "temperature"]
    assert [e["type"] for e in events[:len(before)]] == ["progress"] * len(before)
    assert [p["phase"] for p in progress if p["done"] == 0] == ["cache", "features", "head_fit", "temperature"]
    ends = {p["phase"]: (p["done"], p["total"]) for p in progress}
    val_images = json.loads((run / "metrics.json").read_text())["best"]["images"]
    assert ends == {"cache": (60, 60), "features": (60, 60), "head_fit": (300, 300),
                    "temperature": (val_images, val_images)}
    # A finished run is calibrated: calibration.json for its best.pt, also in the last event and the result.
    calibration = json.loads((run / "calibration.json").read_text())
    assert calibration["method"] == "temperature" and calibration["fitted_on"] == "val"
    assert calibration["images"] == val_images and calibration["checkpoint_epoch"] == result.best_epoch
    assert 0.05 <= calibration["temperature"] <= 20 and calibration["nll_after"] <= calibration["nll_before"]
    assert events[-1]["calibration"] == calibration == result.calibration
    last_epoch = max(i for i, e in enumerate(events) if e["type"] == "epoch")
    assert all(i > last_epoch for i, e in enumerate(events) if e.get("phase") == "temperature")
    epoch = [e for e in events if e["type"] == "epoch"][0]
    assert {"train_loss", "lr", "val", "eta_s"} <= set(epoch) and {"top1", "top5", "f1"} <= set(epoch["val"])
    step = [e for e in events if e["type"] == "step"][0]
    assert step["images_per_s"] > 0 and "eta_s" in step
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["best_epoch"] == result.best_epoch
    assert [h["epoch"] for h in metrics["history"]] == [0, 1, 2]
    trained = load_trained_model(run)
    assert trained.classes == ["airplane", "automobile", "bird"] and trained.spec.input_size == 32
    assert trained.temperature == calibration["temperature"]
    assert not list(run.rglob("*.tmp"))


def _history(run):
    return json.loads((run / "metrics.json").read_text())["history"]


def _assert_same_history(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["epoch"] == y["epoch"]
        # A resumed epoch's training totals include the steps before the stop.
        for key in ("train_loss", "train_top1"):
            assert abs(x.get(key, 0) - y.get(key, 0)) < 1e-4, (x["epoch"], key, x.get(key), y.get(key))
        for key in ("top1", "loss", "f1"):
            assert abs(x["val"][key] - y["val"][key]) < 1e-4, (x["epoch"], key, x["val"][key], y["val"][key])


def test_stop_mid_epoch_then_resume_equals_an_uninterrupted_run(tiny_config, tmp_path):
    reference = train(tiny_config(epochs=3), tmp_path / "ref")
    calls = {"n": 0}

    def stop_after_nine_steps():
        calls["n"] += 1
        return "stop" if calls["n"] == 9 else None  # step 9 of 24: inside epoch 2

    stopped = train(tiny_config(epochs=3), tmp_path / "run", should_stop=stop_after_nine_steps)
    assert stopped.status == "stopped"
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert (state["epoch"], state["step"]) == (1, 3)  # 8 steps an epoch: the 9th call is step 1 of epoch 2
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "stopped"
    resumed = resume(tmp_path / "run")
    assert resumed.status == "finished"
    _assert_same_history(_history(tmp_path / "ref"), _history(tmp_path / "run"))
    assert abs(resumed.best_metric - reference.best_metric) < 1e-4


def test_pause_through_the_control_file_then_resume(tiny_config, tmp_path):
    run = tmp_path / "run"

    def pause_when_first_epoch_is_done(event):
        if event["type"] == "epoch" and event["epoch"] == 1:
            request(run, "pause")

    paused = train(tiny_config(epochs=3), run, callbacks=(pause_when_first_epoch_is_done,))
    assert paused.status == "paused" and paused.epochs_completed == 1
    assert not (run / "control.json").exists()
    with pytest.raises(RunStateError, match="not finished"):
        extend(run, 1)
    assert resume(run).status == "finished"
    assert [h["epoch"] for h in _history(run)] == [0, 1, 2, 3]


def test_extend_adds_epochs_to_a_finished_run(tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(epochs=2), run)
    with pytest.raises(RunStateError, match="--extend"):
        resume(run)
    result = extend(run, 2)
    assert result.status == "finished" and result.epochs_completed == 4
    assert [h["epoch"] for h in _history(run)] == [0, 1, 2, 3, 4]
    config = yaml.safe_load((run / "config.yaml").read_text())
    # The extension is a warm restart at 0.3x the run's learning rate.
    assert config["epochs"] == 4 and config["schedule"][-1] == [2, 4, pytest.approx(0.3 * config["lr"])]
    history = _history(run)
    assert history[3]["lr"] > history[2]["lr"]  # a warm restart, not a continuation at the floor


def test_a_new_run_refuses_an_existing_run_folder(tiny_config, tmp_path):
    train(tiny_config(epochs=1), tmp_path / "run")
    with pytest.raises(RunStateError, match="already holds a run"):
        train(tiny_config(epochs=1), tmp_path / "run")


def test_invalid_dataset_fails_before_training(tmp_path):
    make_class_folders(tmp_path / "d", {"a": 25, "b": 25})
    (tmp_path / "d" / "a" / "broken.jpg").write_bytes(b"not a jpeg")
    config = resolve_config("fast", data=str(tmp_path / "d"), image_size=32, epochs=1)
    with pytest.raises(DatasetError, match="broken.jpg") as excinfo:
        train(config, tmp_path / "run")
    assert "--skip-invalid" in str(excinfo.value)
    assert not (tmp_path / "run" / "checkpoints").exists()
    config = resolve_config("fast", data=str(tmp_path / "d"), image_size=32, epochs=1, skip_invalid=True)
    assert train(config, tmp_path / "run2").status == "finished"


def test_options_are_checked_with_suggestions():
    with pytest.raises(ConfigError, match="Did you mean 'epochs'"):
        resolve_config("balanced", epocs=3)
    with pytest.raises(ConfigError, match="adamw, sgd"):
        resolve_config("balanced", optimizer="adam")
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve_config("turbo")
    config = resolve_config("accurate", epochs=None, lr=0.01)
    assert resolve_config("fast").epochs == 0 and resolve_config("fast").head_warmup_steps > 0
    with pytest.raises(ConfigError, match="epochs"):
        resolve_config("balanced", epochs=0, head_warmup_steps=0)
    assert config.model == "efficientnet_lite2" and config.lr == 0.01 and config.ema is True


def test_frozen_backbone_does_not_change(tiny_config, tmp_path):
    from classmill.models import backbone_and_head_parameters, create_model

    train(tiny_config(freeze="backbone", epochs=1), tmp_path / "run")
    trained = load_trained_model(tmp_path / "run", "last")
    fresh = create_model("efficientnet_lite0", num_classes=3)
    before = backbone_and_head_parameters(fresh)
    after = backbone_and_head_parameters(trained.model)
    assert all(torch.equal(a, b) for a, b in zip(before.backbone, after.backbone))
    assert not all(torch.equal(a, b) for a, b in zip(before.head, after.head))
    bn = dict(fresh.named_buffers())
    assert all(torch.equal(bn[k], v) for k, v in trained.model.named_buffers() if "running_mean" in k)


@pytest.mark.parametrize("options", [
    dict(class_balance="weights", loss="focal"),
    dict(class_balance="sampler", mixup=0.4),
    dict(ema=True, augment="strong", optimizer="sgd", scheduler="step", lr=0.01),
    dict(augment="none", freeze="progressive", select_metric="f1", early_stop=1, label_smoothing=0.0),
])
def test_training_options_run(tiny_config, tmp_path, options):
    result = train(tiny_config(epochs=2, **options), tmp_path / "run")
    assert result.status == "finished" and 0 <= result.best_metric <= 1
    assert result.select_metric == options.get("select_metric", "top1")


def test_a_given_test_split_is_kept_and_val_is_carved_from_train(tmp_path):
    from classmill.train.prepare import prepare_data
    from classmill.train.run_dir import RunDirectory

    make_class_folders(tmp_path / "d" / "train", {"a": 25, "b": 25})
    make_class_folders(tmp_path / "d" / "test", {"a": 5, "b": 5}, seed=7)
    config = resolve_config("fast", data=str(tmp_path / "d"), val=0.2, test=0.2)
    dataset = prepare_data(config, RunDirectory(tmp_path / "run"))
    assert dataset.counts("test") == {"a": 5, "b": 5}  # the user's test images, no more
    assert dataset.counts("val") == {"a": 5, "b": 5} and dataset.counts("train") == {"a": 20, "b": 20}


def test_extend_a_probe_only_run(tiny_config, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(epochs=0, freeze="backbone"), run)  # the fast preset's shape: head warm-up only
    result = extend(run, 1)
    assert result.status == "finished" and result.epochs_completed == 1
    assert [h["epoch"] for h in _history(run)] == [0, 1]


def test_the_engine_calls_its_hooks_in_order(tiny_config, tmp_path):
    """The platform's job runner drives training through these named points, as the CLI does."""
    from classmill.train.engine import HOOKS, Engine
    from classmill.train.prepare import load_prepared, prepare_data
    from classmill.train.run_dir import RunDirectory

    config = tiny_config(epochs=1)
    run = RunDirectory(tmp_path / "run")
    prepare_data(config, run)
    config.save(run.config)
    seen = []
    engine = Engine(config, run, load_prepared(run), callbacks=(lambda event: seen.append(("callback", event["type"])),))
    for name in HOOKS:
        engine.add_hook(name, lambda e, event, name=name: seen.append((name, event.get("which", event["type"]))))
    with pytest.raises(ValueError, match="on_fit_epoch_end"):
        engine.add_hook("on_epoch_end", lambda e, event: None)
    assert engine.fit().status == "finished"
    hooks = [item for item in seen if item[0] != "callback" and item[0] != "on_progress"]
    steps = [item for item in hooks if item[0] == "on_train_batch_end"]
    assert len(steps) == engine.steps_per_epoch == 6
    rest = [item for item in hooks if item[0] != "on_train_batch_end"]
    best_after_epoch = [("on_model_save", "best")] if engine.best_epoch == 1 else []
    assert rest == [("on_train_start", "start"), ("on_model_save", "best"), ("on_model_save", "last"),
                    ("on_head_warmup_end", "head_warmup"), *best_after_epoch, ("on_model_save", "last"),
                    ("on_fit_epoch_end", "epoch"), ("on_model_save", "last"), ("on_train_end", "status")]
    # events.jsonl and the callbacks are fed from the hooks: the same events, in the same order.
    written = [e["type"] for e in read_events(run.events)]
    assert [kind for source, kind in seen if source == "callback"] == written
    assert written.count("step") >= 1 and "checkpoint" not in written
