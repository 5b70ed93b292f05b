"""`classmill train`: flags generated from the option definitions, --config, and checks before writing.

Every mistake below must be refused with a UserError that says how to fix it, before anything is
written: the `--out` folder stays absent, so the corrected command into the same folder just works.
"""

import json

import pytest
import torch
import typer
import yaml
from typer.testing import CliRunner

from classmill.cli import app
from classmill.errors import ConfigError, DatasetError, ModelNotAvailableError, RunStateError, UserError
from classmill.train import read_events
from classmill.train.config import option_specs, resolve_config
from classmill.train.run_dir import RunDirectory
from support.images import make_class_folders

# The flags `classmill train` had before options were generated: none may disappear or change.
_FLAGS_BEFORE = {
    "--out", "--preset", "--model", "--epochs", "--batch-size", "--lr", "--image-size", "--optimizer", "--scheduler",
    "--warmup-epochs", "--label-smoothing", "--loss", "--class-balance", "--augment", "--freeze", "--mixup", "--ema",
    "--no-ema", "--early-stop", "--select-metric", "--seed", "--val", "--test", "--device", "--amp", "--workers",
    "--pretrained", "--no-pretrained", "--skip-invalid", "--resume", "--extend", "--json",
}
# Quick enough for a test: the fast preset (a linear probe) at 32 px with a short fit.
_QUICK = ["--preset", "fast", "--image-size", "32", "--head-warmup-steps", "20", "--batch-size", "16", "--json"]


def _train_params():
    return {p.name: p for p in typer.main.get_command(app).commands["train"].params}


def test_every_option_is_a_flag_and_no_old_flag_is_lost():
    params = _train_params()
    flags = {opt for p in params.values() for opt in (*p.opts, *p.secondary_opts)}
    assert _FLAGS_BEFORE <= flags
    assert {"--config", "--allow-download", "--no-allow-download"} <= flags
    for spec in option_specs():
        if spec["cli"]:
            param = params[spec["name"]]
            assert param.opts == [spec["flag"]] and param.default is None  # unset: preset and --config apply
            if spec["type"] == "bool":
                assert param.secondary_opts == ["--no-" + spec["flag"][2:]]


@pytest.fixture()
def captured_config(monkeypatch):
    """Run `classmill train ...` up to the point of training; returns the TrainConfig and --out it got."""
    import classmill.train.trainer as trainer

    class Captured(Exception):
        pass

    def fake_train(config, run_dir, **kwargs):
        raise Captured(config, run_dir)

    monkeypatch.setattr(trainer, "train", fake_train)

    def invoke(*args):
        result = CliRunner().invoke(app, ["train", *map(str, args)])
        assert isinstance(result.exception, Captured), result.output
        return result.exception.args
    return invoke


def test_flags_reach_the_config(captured_config, tmp_path):
    config, out = captured_config("images/", "--preset", "accurate", "--no-ema", "--epochs", "4", "--lr", "3e-4",
                                  "--allow-download", "--weight-decay", "0.05", "--skip-invalid", "--out", tmp_path)
    assert (config.ema, config.epochs, config.lr, config.allow_download) == (False, 4, 3e-4, True)
    assert (config.weight_decay, config.skip_invalid, config.model) == (0.05, True, "efficientnet_lite2")
    assert config.data == "images" and str(out) == str(tmp_path)
    config, _ = captured_config("images/")
    assert config == resolve_config("balanced", data="images")


def test_config_file_with_flags_overriding_it(captured_config, tmp_path):
    run = tmp_path / "old-run"
    run.mkdir()
    resolve_config("accurate", data="images/", epochs=5, mixup=0.2).save(run / "config.yaml")
    config, _ = captured_config("--config", run / "config.yaml", "--epochs", "2", "--out", tmp_path / "new")
    assert (config.preset, config.model, config.mixup, config.epochs) == ("accurate", "efficientnet_lite2", 0.2, 2)
    assert config.data == "images/"  # the file's dataset, unless DATA is given
    config, _ = captured_config("other/", "--config", run / "config.yaml", "--out", tmp_path / "new")
    assert config.data == "other" and config.epochs == 5


def test_unknown_keys_in_the_config_file_get_a_suggestion(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: images/\nbatchsize: 8\n")
    result = CliRunner().invoke(app, ["train", "--config", str(path)])
    assert isinstance(result.exception, ConfigError) and "Did you mean 'batch_size'" in str(result.exception)


def test_options_with_resume_are_refused_not_ignored(tmp_path):
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path), "--epochs", "5"])
    assert isinstance(result.exception, ConfigError)
    assert "--epochs" in str(result.exception) and "keeps its own config.yaml" in str(result.exception)


@pytest.fixture(scope="module")
def two_classes(tmp_path_factory):
    root = tmp_path_factory.mktemp("two") / "images"
    make_class_folders(root, {"ok": 25, "ng": 25})
    return root


@pytest.fixture()
def empty_weight_caches(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


_MISTAKES = {
    # name: (extra arguments, error type, words of the fix the message must give)
    "no validation data": (["--val", "0"], DatasetError, "--val 0.2"),
    "unknown model": (["--model", "efficientnet_lte0"], ModelNotAvailableError, "Did you mean 'efficientnet_lite0'"),
    "weights not on this machine": (["--model", "resnet10t"], ModelNotAvailableError, "--allow-download"),
    "size the model cannot take": (["--model", "vit_tiny_patch16_224", "--no-pretrained"], ConfigError,
                                   "--image-size 224"),
    "top5 with two classes": (["--select-metric", "top5"], ConfigError, "--select-metric top1"),
    "no epochs and no warm-up": (["--head-warmup-steps", "0"], ConfigError, "--head-warmup-steps"),
    "image too small": (["--image-size", "16"], ConfigError, "--image-size must be >= 32"),
    "not a choice": (["--optimizer", "adam"], ConfigError, "adamw, sgd"),
}
if not torch.cuda.is_available():
    _MISTAKES["no GPU"] = (["--device", "cuda"], ConfigError, "--device cpu")


@pytest.mark.parametrize("name", list(_MISTAKES))
def test_a_mistake_is_refused_before_anything_is_written(name, two_classes, tmp_path, empty_weight_caches):
    extra, error, fix = _MISTAKES[name]
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, *extra, "--out", str(out)])
    assert isinstance(result.exception, error), (result.output, result.exception)
    assert fix in str(result.exception)
    assert not out.exists()


def test_after_every_mistake_the_corrected_command_trains_into_the_same_folder(two_classes, tmp_path,
                                                                              empty_weight_caches):
    out = tmp_path / "run"
    for extra, error, _ in _MISTAKES.values():
        result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, *extra, "--out", str(out)])
        assert isinstance(result.exception, error)
    result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.output.splitlines()[-1])["status"] == "finished"


def test_a_user_given_split_without_training_images_for_a_class_is_refused(tmp_path):
    make_class_folders(tmp_path / "d" / "train", {"a": 25, "b": 25})
    make_class_folders(tmp_path / "d" / "val", {"a": 5, "b": 5, "c": 20}, seed=3)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(tmp_path / "d"), *_QUICK, "--out", str(out)])
    assert isinstance(result.exception, DatasetError) and "'c'" in str(result.exception), result.output
    assert not out.exists()


def test_out_that_is_a_file_is_refused(two_classes, tmp_path):
    out = tmp_path / "run"
    out.write_text("not a folder")
    result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, "--out", str(out)])
    assert isinstance(result.exception, RunStateError) and "is a file" in str(result.exception)


def _a_run_that_failed_before_its_first_checkpoint(two_classes, out):
    from classmill.train.prepare import prepare_data

    config = resolve_config("fast", data=str(two_classes), image_size=32, epochs=0, mixup=0.3)
    run = RunDirectory(out)
    prepare_data(config, run)
    config.save(run.config)
    (out / "events.jsonl").write_text('{"type": "start"}\n')
    run.set_status("failed", reason="out of memory")
    return run


def test_a_run_that_failed_before_its_first_checkpoint_is_replaced_by_a_new_train(two_classes, tmp_path):
    run = _a_run_that_failed_before_its_first_checkpoint(two_classes, tmp_path / "run")
    result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, "--out", str(run.root)])
    assert result.exit_code == 0, (result.output, result.exception)
    config = yaml.safe_load(run.config.read_text())
    assert config["mixup"] == 0.0 and config["head_warmup_steps"] == 20  # the new run's, not the failed one's
    assert json.loads(run.status_file.read_text())["status"] == "finished"
    starts = [e for e in read_events(run.events) if e["type"] == "start"]
    assert len(starts) == 1 and starts[0]["train_images"] == 40  # the failed attempt's events are gone


def test_a_run_with_a_checkpoint_or_running_is_never_replaced(two_classes, tmp_path):
    run = _a_run_that_failed_before_its_first_checkpoint(two_classes, tmp_path / "run")
    run.set_status("running")
    for setup in ("running", "checkpoint"):
        if setup == "checkpoint":
            run.set_status("failed")
            run.last.parent.mkdir()
            run.last.write_bytes(b"a checkpoint")
        result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, "--out", str(run.root)])
        assert isinstance(result.exception, RunStateError) and "--resume" in str(result.exception), setup
        assert yaml.safe_load(run.config.read_text())["mixup"] == 0.3  # untouched


def test_user_errors_print_the_fix_without_a_traceback(two_classes, tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "classmill", "train", str(two_classes), *_QUICK, "--val", "0",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--val 0.2" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
    assert issubclass(DatasetError, UserError)


def test_allow_download_passes_the_check_and_reaches_the_model_factory(two_classes, tmp_path, empty_weight_caches,
                                                                      monkeypatch):
    import classmill.train.engine as engine

    class Built(Exception):
        pass

    def fake_create_model(name, **kwargs):
        raise Built(name, kwargs)

    monkeypatch.setattr(engine, "create_model", fake_create_model)  # no download in a test
    result = CliRunner().invoke(app, ["train", str(two_classes), *_QUICK, "--model", "resnet10t", "--allow-download",
                                      "--out", str(tmp_path / "run")])
    assert isinstance(result.exception, Built), (result.output, result.exception)
    name, kwargs = result.exception.args
    assert name == "resnet10t" and kwargs["allow_download"] is True and kwargs["pretrained"] is True


def test_an_invalid_option_is_answered_before_torch_loads(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        sys.argv = ["classmill", "train", {str(tmp_path)!r}, "--optimizer", "adam", "--out", {str(tmp_path / "run")!r}]
        from classmill.cli import main
        try:
            main()
        except SystemExit as exc:
            print(exc.code, "torch" in sys.modules)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr
    assert "adamw, sgd" in done.stderr


def test_a_split_folder_trains_once_its_dataset_root_is_named(two_classes, tmp_path):
    # `data split --out` lists name the images beside the split folder with '../': confined to the
    # list's own folder they are refused (naming the flag), and --data-root admits them.
    splits = tmp_path / "splits"
    assert CliRunner().invoke(app, ["data", "split", str(two_classes), "--val", "0.2", "--test", "0",
                                    "--out", str(splits)]).exit_code == 0
    refused = CliRunner().invoke(app, ["train", str(splits), *_QUICK, "--out", str(tmp_path / "r1")])
    assert refused.exit_code != 0 and "--data-root" in str(refused.exception) + refused.output
    assert not (tmp_path / "r1").exists()
    done = CliRunner().invoke(app, ["train", str(splits), *_QUICK, "--data-root", str(two_classes),
                                    "--out", str(tmp_path / "r2")])
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "r2" / "status.json").read_text())["status"] == "finished"
