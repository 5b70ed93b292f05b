"""Training configuration: presets for the platform's application types, overridable field by field.

Every option is defined once, as a TrainConfig field made with `option(...)`: its type (the
annotation), default, help, group, and allowed choices or bounds. From that one definition come
the config's validation, the `classmill train` flags (commands/train.py) and `option_specs()`, the
machine-readable description the platform's task form is built from. Adding an option is one new
field here (plus a preset value if a preset needs its own default).

Resolved once (preset -> config file -> explicit overrides) and written to the run directory as
config.yaml; the trainer reads nothing else: no environment, no globals.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from classmill import atomic
from classmill.errors import ConfigError

# An option value decided from the data when the run starts (train/data_choices.py).
AUTO = "auto"

# Groups, in the order the CLI help and the platform's form show them.
GROUPS = ("Data", "Model", "Schedule", "Loss and augmentation", "Runtime")
_BOUNDS = ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum")


def option(default, help: str, *, group: str, choices: tuple[str, ...] | None = None, cli: bool = True,
           **bounds: float):
    """A TrainConfig field with everything the CLI, the form and validation need to know about it.

    bounds: minimum / maximum (inclusive), exclusive_minimum / exclusive_maximum, JSON-Schema style.
    cli: False for options the command line takes in its own way (the positional DATA, --preset).
    """
    assert group in GROUPS and set(bounds) <= set(_BOUNDS), (group, bounds)
    return field(default=default, metadata={"help": help, "group": group, "choices": choices, "cli": cli, **bounds})


# The platform's application types. CPU-first: the balanced default must finish in minutes on
# two cores, so it fits a linear probe first and fine-tunes briefly at a moderate resolution.
PRESETS: dict[str, dict] = {
    # Linear probe only: one pass of the frozen backbone, the head fitted on cached features.
    "fast": dict(model="efficientnet_lite0", epochs=0, batch_size=32, freeze="backbone",
                 head_warmup_steps=300, augment="light", label_smoothing=0.1),
    # Probe first, then a short fine-tune at a moderate resolution, BatchNorm statistics frozen (in
    # train mode they move the features so far on data unlike ImageNet that a probed head is lost,
    # and the fine-tune with them needs more epochs than the budget has). Where the fine-tune starts
    # is decided from the probe's validation score (train/head_start.py): features that suit the
    # data are refined from the probed head at refine_lr 1e-4 (at 2e-4 casting fell from 98.0 % to
    # 88.7 % on held-out data), features that must move get a fresh head at lr 1e-3 and the
    # backbone 2e-4 (sign-digits 95.4 % -> 99.2 %, cifar10-mini 66.8 % -> 73.6 %). The stem and
    # stages 0-2 stay fixed: twice the training speed, which pays for 5 epochs instead of 3.
    # Measured with bench.epoch_scores; figures in bench/results/quality/epoch_scores.jsonl. Not
    # better: a longer LR warm-up, layer-wise LR decay, BatchNorm in train mode (with or without
    # bn_adapt, which also lowers the probe: sign-digits val 88.3 -> 68.4 %), SGD, no augmentation.
    "balanced": dict(model="efficientnet_lite0", epochs=5, batch_size=32, lr=1e-3, backbone_lr_scale=0.2,
                     head_start=AUTO, refine_lr=1e-4, warmup_epochs=0.2, freeze="none", freeze_stages=3,
                     freeze_bn=True, head_warmup_steps=300, augment="light", label_smoothing=0.1),
    # Probe, then where the fine-tune starts is decided as in balanced: features that suit the data
    # are refined from the probed head with every layer at refine_lr 2e-4 (this preset's lr before the
    # decision existed), others get a fresh head at 1e-3 and the backbone 2e-4. Held-out, seed 0 of
    # the quality benchmark, against the probed start everywhere: cifar10-mini 72.0 -> 74.8 %,
    # sign-digits 99.0 -> 99.2 % (bench.epoch_scores, tag acc_auto). Light augmentation and the stem
    # and stages 0-2 fixed, as in balanced (tag acc_fs3_light): strong augmentation's crops down to 35 %
    # of the image and colour jitter kept casting's fine-tune under the probe until early stopping
    # (val 97.5 % -> 83-93 % for six epochs, at refine_lr 2e-4 and 1e-4 alike: the probe was picked,
    # 98.0 %); with light, val is back at 98.3 % by epoch 5 and the pick scores 100 %. Seed 0, held-out,
    # against the strong preset's quality cells: casting 99.3 -> 100 %, sign-digits 99.2 -> 99.6 %,
    # cifar10-mini 74.8 -> 78.8 %. Quality cells: casting 100 % on each of three repeats (was 99.3 %;
    # the plain fine-tune 99.8 %), peak RSS at 260 px 7.0 -> 3.9 GB.
    "accurate": dict(model="efficientnet_lite2", epochs=20, batch_size=32, lr=1e-3, backbone_lr_scale=0.2,
                     head_start=AUTO, refine_lr=2e-4, freeze="none", freeze_stages=3, freeze_bn=True,
                     head_warmup_steps=300, augment="light", ema=True, label_smoothing=0.1, early_stop=6),
}


@dataclass
class TrainConfig:
    data: str = option("", "Dataset: a folder, zip, CSV or PaddleClas list folder.", group="Data", cli=False)
    data_root: str | None = option(None, "Folder the images named by a CSV or list file must lie in (default: "
                                   "the list's own folder), e.g. the dataset a `data split --out` folder came "
                                   "from.", group="Data")
    preset: str = option("balanced", "Starting point for every other default.", group="Data",
                         choices=tuple(PRESETS), cli=False)
    val: float = option(0.2, "Validation fraction, used when the data has no split of its own.", group="Data",
                        minimum=0, exclusive_maximum=1)
    test: float = option(0.0, "Test fraction, used when the data has no split of its own.", group="Data",
                         minimum=0, exclusive_maximum=1)
    seed: int = option(0, "Seed of the split, sample order, augmentation and initialisation.", group="Data",
                       minimum=0)
    skip_invalid: bool = option(False, "Train on the usable images even if some files fail the checks.",
                                group="Data")
    cache_images: bool = option(True, "Decode each image once per run (uint8, a little above training size).",
                                group="Data")
    cache_max_mb: int = option(3000, "Largest image cache in MB; the images beyond it are decoded each time "
                               "they are drawn.",
                               group="Data", minimum=0)

    model: str = option("efficientnet_lite0", "efficientnet_lite0|1|2 (offline weights) or any timm name.",
                        group="Model")
    pretrained: bool = option(True, "Start from pretrained (ImageNet) weights.", group="Model")
    allow_download: bool = option(False, "Download pretrained weights that are not on this machine (needs "
                                  "network; efficientnet_lite0|1|2 never need it).", group="Model")
    image_size: int | None = option(None, "Training and inference input size in pixels; unset = chosen from the "
                                    "training images' sizes within the preset's range (config.yaml says which "
                                    "and why).", group="Model", minimum=32)
    drop_rate: float | None = option(None, "Dropout before the classifier; unset = the model's own.",
                                     group="Model", minimum=0, exclusive_maximum=1)
    freeze: str = option("none", "Which weights stay fixed: none, the backbone, or the backbone for the first "
                         "--progressive-epochs.", group="Model", choices=("none", "backbone", "progressive"))
    progressive_epochs: int = option(1, "With --freeze progressive: head-only epochs before unfreezing.",
                                     group="Model", minimum=0)
    # The stem and first stages hold generic edge and texture filters, and their backward pass at the
    # highest resolutions is most of a step: efficientnet_lite0 at 160 px, batch 32, 2 CPU cores,
    # trains 37.6 images/s in full, 72.3 with the stem and stages 0-2 fixed (55,504 of 3.4 M weights).
    freeze_stages: int = option(0, "Keep the stem and the first N stages of the backbone fixed while fine-tuning "
                                "(weights and BatchNorm statistics); 0 = none.", group="Model", minimum=0)
    # Keep BatchNorm's running statistics during fine-tuning. Needed after a head warm-up: the head
    # was fitted on features normalised by those statistics, and on data unlike ImageNet (grey
    # castings) batch statistics move the features so far that the fitted head scores 12 %.
    freeze_bn: bool = option(False, "Keep BatchNorm's running statistics during fine-tuning.", group="Model")
    bn_adapt: int = option(0, "Before the head warm-up, re-estimate BatchNorm statistics on up to this many "
                           "training images (their domain, not ImageNet's); 0 = off.", group="Model", minimum=0)

    epochs: int = option(10, "Epochs of fine-tuning (0 only with a head warm-up: a linear probe).",
                         group="Schedule", minimum=0)
    batch_size: int = option(32, "Images per optimisation step.", group="Schedule", minimum=1)
    lr: float = option(1e-3, "Peak learning rate of the new head.", group="Schedule", exclusive_minimum=0)
    backbone_lr_scale: float = option(1.0, "Backbone learning rate = lr * this.", group="Schedule", minimum=0)
    weight_decay: float = option(0.01, "Weight decay.", group="Schedule", minimum=0)
    optimizer: str = option("adamw", "Optimiser.", group="Schedule", choices=("adamw", "sgd"))
    scheduler: str = option("cosine", "Learning-rate decay after the warm-up.", group="Schedule",
                            choices=("cosine", "step"))
    warmup_epochs: float = option(0.5, "Epochs of linear learning-rate warm-up.", group="Schedule", minimum=0)
    head_warmup_steps: int = option(0, "Fit the new head on cached backbone features first (a linear probe) "
                                    "for this many steps; 0 = off.", group="Schedule", minimum=0)
    head_lr: float = option(3e-3, "Learning rate of the head warm-up.", group="Schedule", exclusive_minimum=0)
    head_start: str = option("probe", "After a head warm-up, fine-tune from the probed head or from a fresh one; "
                             "auto = the probed head when its validation top-1 is at least 0.95 (the features "
                             "suit the data), else a fresh one (they must move). The probed head stays a "
                             "candidate for the best checkpoint either way.", group="Schedule",
                             choices=(AUTO, "probe", "fresh"))
    refine_lr: float | None = option(None, "Peak learning rate of every layer when the fine-tune starts from the "
                                     "probed head; unset = lr, and the backbone's lr x backbone_lr_scale.",
                                     group="Schedule", exclusive_minimum=0)
    early_stop: int = option(0, "Stop after this many epochs without improvement; 0 = off.", group="Schedule",
                             minimum=0)
    select_metric: str = option("top1", "Validation metric that picks the best checkpoint.", group="Schedule",
                                choices=("top1", "top5", "precision", "recall", "f1"))
    checkpoint_minutes: float = option(5.0, "Also save last.pt inside an epoch this often, so a crash loses "
                                       "minutes, not the epoch; 0 = only at epoch ends.", group="Schedule", minimum=0)

    loss: str = option("ce", "Cross-entropy or focal loss.", group="Loss and augmentation", choices=("ce", "focal"))
    label_smoothing: float = option(0.1, "Label smoothing.", group="Loss and augmentation",
                                    minimum=0, exclusive_maximum=1)
    focal_gamma: float = option(2.0, "Focusing parameter of --loss focal.", group="Loss and augmentation",
                                minimum=0)
    class_balance: str = option(AUTO, "Counter class imbalance by loss weights or by sampling; auto = loss "
                                "weights when the largest class has 3x the images of the smallest.",
                                group="Loss and augmentation", choices=(AUTO, "none", "weights", "sampler"))
    augment: str = option("light", "Training augmentation.", group="Loss and augmentation",
                          choices=("none", "light", "strong"))
    mixup: float = option(0.0, "Mixup alpha (Beta(alpha, alpha) mixing); 0 = off.", group="Loss and augmentation",
                          minimum=0)
    ema: bool = option(False, "Validate and export an exponential moving average of the weights.",
                       group="Loss and augmentation")
    ema_decay: float = option(0.998, "Decay of --ema.", group="Loss and augmentation", minimum=0,
                              exclusive_maximum=1)

    device: str = option("auto", "Where to train; auto = a CUDA GPU when there is one.", group="Runtime",
                         choices=("auto", "cpu", "cuda"))
    amp: str = option("auto", "Mixed precision; auto = on for CUDA (bf16 where supported).", group="Runtime",
                      choices=("auto", "off", "bf16", "fp16"))
    workers: int = option(2, "Threads (--loader threads) or worker processes (--loader processes) decoding and "
                          "augmenting images.", group="Runtime", minimum=0)
    # Measured on 2 CPU cores (casting, 160 px, balanced preset, one epoch): training images/s with
    # threads vs processes 31 vs 29 with every image cached, 20 vs 8 with none (--cache-max-mb 0): the
    # workers, always several batches ahead, take the cores the training's own threads need. Making
    # batches alone costs threads less CPU too (0.95 vs 1.55 ms per cached image, 3.15 vs 3.85
    # decoding). With a GPU training, the cores are the loader's and processes escape the GIL.
    loader: str = option("auto", "How training batches are made: on threads, or in DataLoader worker processes "
                         "(pinned memory on CUDA); auto = processes on CUDA, threads on a CPU, where worker "
                         "processes take cores from training (2.5x slower on 2 cores when images are decoded "
                         "each epoch).", group="Runtime", choices=("auto", "threads", "processes"))
    channels_last: bool = option(True, "Channels-last memory format: faster convolutions on CPU (oneDNN) and "
                                 "GPU alike (measured in bench/).", group="Runtime")
    # Learning-rate segments: [start_epoch, end_epoch, peak_lr]; --extend appends one. Derived state,
    # not an option: a plain field, so nothing offers it to users.
    schedule: list = field(default_factory=list)
    # What "auto" options became for this run's data, and why (train/data_choices.py). Derived state.
    data_choices: list = field(default_factory=list)

    def __post_init__(self) -> None:
        for spec in _option_fields():
            setattr(self, spec.name, _checked(spec, getattr(self, spec.name)))
        if self.epochs == 0 and self.head_warmup_steps <= 0:
            raise ConfigError("--epochs must be positive (0 only with a head warm-up, --head-warmup-steps N).")
        if self.val + self.test >= 1:
            raise ConfigError(f"--val {self.val} and --test {self.test} must sum to less than 1.")
        if not self.schedule:
            self.schedule = [[0, self.epochs, self.lr]]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        atomic.write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls(**yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class _OptionField:
    name: str
    type: type  # int, float, str or bool
    nullable: bool
    default: object
    metadata: typing.Mapping

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@functools.cache
def _option_fields() -> tuple[_OptionField, ...]:
    hints = typing.get_type_hints(TrainConfig)
    specs = []
    for f in dataclasses.fields(TrainConfig):
        if "help" not in f.metadata:
            continue  # plain fields (schedule) are state, not options
        kind, nullable = hints[f.name], False
        if isinstance(kind, types.UnionType):  # `float | None`
            kind, nullable = next(a for a in typing.get_args(kind) if a is not type(None)), True
        specs.append(_OptionField(f.name, kind, nullable, f.default, f.metadata))
    return tuple(specs)


def _checked(spec: _OptionField, value):
    """`value` converted to the option's type (YAML reads `3e-4` as a string), or a ConfigError."""
    if value is None and spec.nullable:
        return None
    value = _converted(spec, value)
    meta = spec.metadata
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"{spec.flag} {value!r} is not one of: {', '.join(meta['choices'])}.")
    rules = {"minimum": (lambda v, b: v >= b, ">="), "maximum": (lambda v, b: v <= b, "<="),
             "exclusive_minimum": (lambda v, b: v > b, ">"), "exclusive_maximum": (lambda v, b: v < b, "<")}
    for key, (holds, sign) in rules.items():
        if key in meta and not holds(value, meta[key]):
            allowed = " and ".join(f"{s} {meta[k]}" for k, (_, s) in rules.items() if k in meta)
            raise ConfigError(f"{spec.flag} must be {allowed}, got {value}.")
    return value


def _converted(spec: _OptionField, value):
    kind = spec.type
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif isinstance(value, bool):
        pass  # True is an int to Python, never a number to a user
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is int:
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif kind is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isfinite(number):
            return number
    names = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}
    raise ConfigError(f"{spec.flag} must be {names[kind]}, got {value!r}.")


def option_names() -> list[str]:
    """Every option's name (TrainConfig's fields except derived state), in definition order."""
    return [spec.name for spec in _option_fields()]


def option_specs() -> list[dict]:
    """Every option as plain data (JSON-ready), for forms and docs: one dict per option.

    Keys: name, flag, type (int|float|str|bool), nullable, default (the field's), preset_defaults
    ({preset: value}), help, group, cli, choices (or None), and whichever bounds apply
    (minimum, maximum, exclusive_minimum, exclusive_maximum).
    """
    specs = []
    for spec in _option_fields():
        meta = spec.metadata
        specs.append({
            "name": spec.name, "flag": spec.flag, "type": spec.type.__name__, "nullable": spec.nullable,
            "default": spec.default, "preset_defaults": preset_defaults(spec.name), "help": meta["help"],
            "group": meta["group"], "cli": meta["cli"],
            "choices": list(meta["choices"]) if meta["choices"] else None,
            **{key: meta[key] for key in _BOUNDS if key in meta},
        })
    return specs


def preset_defaults(name: str) -> dict[str, object]:
    """{preset: the value option `name` has under that preset}."""
    default = next(spec.default for spec in _option_fields() if spec.name == name)
    return {preset: (preset if name == "preset" else values.get(name, default)) for preset, values in PRESETS.items()}


def _check_known(keys, source: str) -> None:
    known = option_names()
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{source}unknown training option {key!r}.{hint}")


def load_config_file(path: str | Path) -> dict:
    """The options in a YAML file (a run's own config.yaml is valid): checked names, values unresolved."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a mapping of option: value, like a run's config.yaml.")
    values = {str(key): value for key, value in values.items()}
    values.pop("schedule", None)  # derived from epochs and lr; a run's extensions do not carry over
    values.pop("data_choices", None)  # decided again from the data of the run the file is used for
    _check_known(values, f"{path}: ")
    return values


def resolve_config(preset: str | None = "balanced", config_file: str | Path | None = None, **overrides) -> TrainConfig:
    """Preset values, then the config file's, then every override that is not None.

    preset: None = the config file's preset, else "balanced". Unknown names get a 'did you mean'.
    """
    from_file = load_config_file(config_file) if config_file is not None else {}
    preset = preset or from_file.get("preset") or "balanced"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}.")
    _check_known(overrides, "")
    values = {**PRESETS[preset], **from_file, **{k: v for k, v in overrides.items() if v is not None},
              "preset": preset}
    values.pop("schedule", None)
    values.pop("data_choices", None)
    try:
        return TrainConfig(**values)
    except ConfigError as exc:
        from_the_file = [k for k in from_file if overrides.get(k) is None and f"--{k.replace('_', '-')} " in f"{exc} "]
        if from_the_file:  # say where the bad value was written
            raise ConfigError(f"{config_file}: {exc}") from exc
        raise
