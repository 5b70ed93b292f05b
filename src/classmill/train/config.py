"""Training configuration: presets for the platform's application types, overridable field by field.

Resolved once (preset -> user overrides) and written to the run directory as config.yaml; the
trainer reads nothing else: no environment, no globals.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from classmill import atomic
from classmill.errors import ConfigError

CHOICES = {
    "optimizer": ("adamw", "sgd"),
    "scheduler": ("cosine", "step"),
    "loss": ("ce", "focal"),
    "class_balance": ("none", "weights", "sampler"),
    "augment": ("none", "light", "strong"),
    "freeze": ("none", "backbone", "progressive"),
    "select_metric": ("top1", "top5", "precision", "recall", "f1"),
    "device": ("auto", "cpu", "cuda"),
    "amp": ("auto", "off", "bf16", "fp16"),
}


@dataclass
class TrainConfig:
    data: str = ""
    preset: str = "balanced"
    model: str = "efficientnet_lite0"
    pretrained: bool = True
    image_size: int = 224
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr_scale: float = 1.0  # backbone learning rate = lr * this (the new head learns at lr)
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    scheduler: str = "cosine"
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    loss: str = "ce"
    focal_gamma: float = 2.0
    class_balance: str = "none"
    augment: str = "light"
    freeze: str = "none"
    # Fit the new head on cached backbone features first (a linear probe): 0 = off.
    head_warmup_steps: int = 0
    head_lr: float = 3e-3
    # Keep BatchNorm's running statistics during fine-tuning. Needed after a head warm-up: the head
    # was fitted on features normalised by those statistics, and on data unlike ImageNet (grey
    # castings) batch statistics move the features so far that the fitted head scores 12 %.
    freeze_bn: bool = False
    channels_last: bool = True  # faster convolutions on CPU (oneDNN) and GPU alike; measured in bench/
    progressive_epochs: int = 1  # with freeze=progressive: head-only epochs before unfreezing
    mixup: float = 0.0  # Beta(alpha, alpha) mixing; 0 = off
    ema: bool = False
    ema_decay: float = 0.998
    early_stop: int = 0  # patience in epochs on the selected metric; 0 = off
    select_metric: str = "top1"
    seed: int = 0
    val: float = 0.2  # used only when the data has no split of its own
    test: float = 0.0
    drop_rate: float | None = None
    device: str = "auto"
    amp: str = "auto"
    workers: int = 2
    cache_images: bool = True  # decode each image once per run (uint8, a little above training size)
    cache_max_mb: int = 3000
    checkpoint_minutes: float = 5.0  # also save last.pt inside an epoch this often; 0 = only at epoch ends
    skip_invalid: bool = False  # train on the usable images even if some files fail validation
    # Learning-rate segments: [start_epoch, end_epoch, peak_lr]; --extend appends one.
    schedule: list = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"--{name.replace('_', '-')} {value!r} is not one of: {', '.join(allowed)}.")
        for name in ("batch_size", "image_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}.")
        if self.epochs < 0 or (self.epochs == 0 and self.head_warmup_steps <= 0):
            raise ConfigError(f"--epochs must be positive (0 only with a head warm-up), got {self.epochs}.")
        if self.lr <= 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}.")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError("--label-smoothing must be in [0, 1).")
        if not self.schedule:
            self.schedule = [[0, self.epochs, self.lr]]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        atomic.write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls(**yaml.safe_load(path.read_text(encoding="utf-8")))


# The platform's application types. CPU-first: the balanced default must finish in minutes on
# two cores, so it trains at a moderate resolution with progressive unfreezing.
PRESETS: dict[str, dict] = {
    # Linear probe only: one pass of the frozen backbone, the head fitted on cached features.
    "fast": dict(model="efficientnet_lite0", image_size=160, epochs=0, batch_size=32, freeze="backbone",
                 head_warmup_steps=300, augment="light", label_smoothing=0.1),
    # Probe first, then a short full fine-tune at a moderate resolution. BatchNorm statistics stay
    # frozen so the probed head stays valid; without BatchNorm renormalising, AdamW must move
    # gently (5e-4 wrecked the pretrained features on casting within an epoch, 2e-4 did not).
    "balanced": dict(model="efficientnet_lite0", image_size=160, epochs=3, batch_size=32, lr=2e-4,
                     warmup_epochs=0.2, freeze="none", freeze_bn=True, head_warmup_steps=300,
                     augment="light", label_smoothing=0.1),
    "accurate": dict(model="efficientnet_lite2", image_size=260, epochs=20, batch_size=32, lr=2e-4,
                     freeze="none", freeze_bn=True, head_warmup_steps=300, augment="strong", ema=True,
                     label_smoothing=0.1, early_stop=6),
}


def resolve_config(preset: str = "balanced", **overrides) -> TrainConfig:
    """Preset values, then every override that is not None. Unknown names get a 'did you mean'."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}.")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in overrides:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown training option {key!r}.{hint}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}, "preset": preset}
    values.pop("schedule", None)
    return TrainConfig(**values)
