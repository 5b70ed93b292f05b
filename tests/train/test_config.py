"""Training options: one definition feeds validation, presets, config files and option_specs()."""

import json
import math

import pytest
import yaml

from classmill.errors import ConfigError
from classmill.train.config import PRESETS, TrainConfig, option_names, option_specs, resolve_config

# Every option's value under each preset: a default moves only on purpose (with its measurement,
# bench/results/quality), never as a side effect of a refactor.
_BASE = dict(model="efficientnet_lite0", pretrained=True, image_size=None, epochs=0, batch_size=32, lr=0.001,
             backbone_lr_scale=1.0, weight_decay=0.01, optimizer="adamw", scheduler="cosine", warmup_epochs=0.5,
             label_smoothing=0.1, loss="ce", focal_gamma=2.0, class_balance="auto", augment="light",
             freeze="backbone", head_warmup_steps=300, head_lr=0.003, freeze_bn=False, bn_adapt=0, channels_last=True,
             progressive_epochs=1, mixup=0.0, ema=False, ema_decay=0.998, early_stop=0, select_metric="top1",
             seed=0, val=0.2, test=0.0, drop_rate=None, device="auto", amp="auto", workers=2, loader="auto",
             cache_images=True, cache_max_mb=3000, skip_invalid=False, allow_download=False, checkpoint_minutes=5.0,
             data_root=None, freeze_stages=0, head_start="probe", refine_lr=None)
_BEFORE = {
    "fast": _BASE,
    "balanced": {**_BASE, "epochs": 5, "lr": 0.001, "backbone_lr_scale": 0.2, "head_start": "auto", "refine_lr": 0.0001,
                 "warmup_epochs": 0.2, "freeze": "none", "freeze_stages": 3, "freeze_bn": True},
    "accurate": {**_BASE, "model": "efficientnet_lite2", "epochs": 20, "lr": 0.001, "backbone_lr_scale": 0.2,
                 "head_start": "auto", "refine_lr": 0.0002, "augment": "light", "freeze": "none", "freeze_stages": 3,
                 "freeze_bn": True, "ema": True, "early_stop": 6},
}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_defaults_are_unchanged(preset):
    values = resolve_config(preset).to_dict()
    assert values.pop("preset") == preset and values.pop("data") == ""
    assert values.pop("schedule") == [[0, values["epochs"], values["lr"]]]
    assert values.pop("data_choices") == []  # decided when a run starts, from its data
    assert values == _BEFORE[preset]


def test_option_specs_describe_every_option_as_plain_data():
    specs = option_specs()
    assert json.loads(json.dumps(specs)) == specs  # the platform's form gets it as JSON
    by_name = {s["name"]: s for s in specs}
    assert list(by_name) == option_names() and "schedule" not in by_name  # derived state, not an option
    assert set(by_name) == set(TrainConfig.__dataclass_fields__) - {"schedule", "data_choices"}
    assert by_name["optimizer"]["choices"] == ["adamw", "sgd"] and by_name["optimizer"]["type"] == "str"
    assert by_name["lr"]["exclusive_minimum"] == 0 and by_name["lr"]["type"] == "float"
    assert by_name["image_size"]["preset_defaults"] == {"fast": None, "balanced": None, "accurate": None}
    assert by_name["image_size"]["nullable"] and by_name["image_size"]["minimum"] == 32
    assert by_name["ema"]["preset_defaults"]["accurate"] is True and by_name["ema"]["flag"] == "--ema"
    assert by_name["drop_rate"]["nullable"] and by_name["preset"]["choices"] == list(PRESETS)
    assert all(s["help"] and s["group"] for s in specs)


def _beyond(spec):
    """A value just outside the option's bounds, or None if it has none."""
    for key, outside in (("minimum", -1), ("exclusive_minimum", 0), ("maximum", 1), ("exclusive_maximum", 0)):
        if key in spec:
            value = spec[key] + outside
            return int(value) if spec["type"] == "int" else float(value)
    return None


@pytest.mark.parametrize("spec", [s for s in option_specs() if _beyond(s) is not None], ids=lambda s: s["name"])
def test_every_bound_is_enforced_with_the_option_named(spec):
    with pytest.raises(ConfigError, match=spec["flag"]):
        resolve_config("balanced", **{spec["name"]: _beyond(spec)})


@pytest.mark.parametrize("spec", [s for s in option_specs() if s["choices"] and s["name"] != "preset"],
                         ids=lambda s: s["name"])
def test_every_choice_option_refuses_other_values_listing_the_allowed_ones(spec):
    with pytest.raises(ConfigError) as caught:
        resolve_config("balanced", **{spec["name"]: "nonsense"})
    assert spec["flag"] in str(caught.value) and ", ".join(spec["choices"]) in str(caught.value)


@pytest.mark.parametrize("name, value, message", [
    ("epochs", "ten", "whole number"), ("epochs", "--3", "whole number"), ("epochs", 2.5, "whole number"), ("epochs", True, "whole number"), ("lr", "fast", "number"),
    ("lr", math.inf, "finite"), ("ema", "yes", "true or false"), ("model", 3, "string"),
])
def test_values_of_the_wrong_type_are_refused(name, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("balanced", **{name: value})


def test_numbers_written_as_strings_are_read_as_numbers():
    # YAML 1.1 (PyYAML) reads 3e-4 as a string; a config file must still mean what it says.
    config = resolve_config("balanced", lr="3e-4", epochs="4", val=0)
    assert config.lr == 3e-4 and config.epochs == 4 and isinstance(config.val, float)


def test_cross_option_rules():
    with pytest.raises(ConfigError, match="--head-warmup-steps"):
        resolve_config("balanced", epochs=0, head_warmup_steps=0)
    with pytest.raises(ConfigError, match="sum to less than 1"):
        resolve_config("balanced", val=0.5, test=0.5)


def test_a_config_file_sits_between_the_preset_and_explicit_options(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("preset: accurate\nepochs: 7\nlr: 1e-3\noptimizer: sgd\n")
    config = resolve_config(None, config_file=path, lr=0.05)
    assert config.preset == "accurate" and config.model == "efficientnet_lite2"  # the file's preset
    assert (config.epochs, config.optimizer, config.lr) == (7, "sgd", 0.05)  # file, file, explicit
    assert config.schedule == [[0, 7, 0.05]]
    assert resolve_config("fast", config_file=path).model == "efficientnet_lite0"  # an explicit preset wins over the file's


def test_a_runs_own_config_yaml_is_a_valid_config_file(tmp_path):
    original = resolve_config("balanced", data="images/", epochs=4, mixup=0.2)
    original.schedule.append([4, 6, 0.00006])  # as --extend leaves it: not carried into a new run
    original.save(tmp_path / "config.yaml")
    again = resolve_config(None, config_file=tmp_path / "config.yaml")
    assert again == resolve_config("balanced", data="images/", epochs=4, mixup=0.2)


@pytest.mark.parametrize("text, message", [
    ("epocs: 3\n", "Did you mean 'epochs'"),
    ("- 1\n- 2\n", "mapping"),
    ("lr: [\n", "not valid YAML"),
    ("optimizer: adam\n", "adamw, sgd"),
])
def test_bad_config_files_are_refused_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_config(None, config_file=path)
    assert str(path) in str(caught.value)


def test_a_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_config(None, config_file=tmp_path / "nope.yaml")


def test_saved_config_round_trips(tmp_path):
    config = resolve_config("accurate", data="x/", drop_rate=0.2, allow_download=True)
    config.save(tmp_path / "config.yaml")
    assert TrainConfig.load(tmp_path / "config.yaml") == config
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["allow_download"] is True
